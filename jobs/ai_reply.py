"""The previous release's path of `jobs.knowledge.answer_inbound`, kept for one release.

RQ stores each job's dotted path in Redis, so an answer queued before the deploy still runs.
Remove this module in the release after the move (see `multisms.queues.OLD_JOB_PATHS`).
"""

from jobs.knowledge import answer_inbound

__all__ = ["answer_inbound"]
