"""The previous release's path of `jobs.scheduling.start_batch`, kept for one release.

RQ stores each job's dotted path in Redis, including jobs RQ's scheduler holds for later
(`enqueue_at`), so a send-later batch queued before the deploy still starts. Remove this
module in the release after the move (see `multisms.queues.OLD_JOB_PATHS`).
"""

from jobs.scheduling import start_batch

__all__ = ["start_batch"]
