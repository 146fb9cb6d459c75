"""Each kind of job has its own time limit, and the ones that are safe to run twice are retried by
RQ (`Retry`) before they land in the failed registry. Real worker process, Slack stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from multisms import queues
from multisms.db import session_scope
from multisms.models import Batch, utcnow
from multisms.queues import PROGRESS, SEND, SEND_REPLY, JobKind, enqueue, enqueue_progress, get_queue
from tests.processes import kill_tree, start_worker, wait_until
from tests.send_helpers import create_batch, numbers


def test_every_kind_has_its_own_time_limit_and_only_safe_ones_a_bounded_retry():
    kinds = {name: kind for name, kind in vars(queues).items() if isinstance(kind, JobKind)}
    assert all(kind.timeout > 0 for kind in kinds.values())
    assert PROGRESS.retry.max == len(PROGRESS.retry_after) == 3  # Slack posts are safe to repeat
    for texts_someone in (SEND, SEND_REPLY, queues.ANSWER_INBOUND):
        assert texts_someone.retry is None
    assert all(len(kind.retry_after) <= 5 and sum(kind.retry_after) <= 1800 for kind in kinds.values())


def test_a_queued_job_carries_its_kinds_retry(redis_conn):
    job = enqueue(redis_conn, PROGRESS, 7, False)
    assert (job.retries_left, job.retry_intervals) == (3, list(PROGRESS.retry_after))
    assert enqueue(redis_conn, SEND, 7).retries_left is None


@pytest.mark.parametrize("fault", ["outage page (500)", "ratelimited past the SDK's own retries"])
def test_a_slack_post_that_fails_is_retried_and_then_appears(fault, slack_settings, slack_api, twilio_api,
                                                             redis_conn, tmp_path):
    settings = slack_settings()
    batch_id = scheduled_batch(settings)
    if fault.startswith("outage"):
        slack_api.server_error_next("chat.postMessage", 1, status=500)
        refused = 1
    else:  # the SDK waits out three 429s itself (bot.client): the fourth reaches the job
        slack_api.rate_limit_next("chat.postMessage", 4, retry_after=0)
        refused = 4
    job = enqueue_progress(redis_conn, batch_id)
    worker = start_worker("retrier", tmp_path)
    try:
        posted = wait_until(lambda: slack_ts(settings, batch_id) is not None, timeout=30, step=0.2)
    finally:
        kill_tree(worker)
    assert posted, (tmp_path / "retrier.log").read_text()[-3000:]
    assert slack_api.count("chat.postMessage") == refused + 1  # each refusal, then the post that went through
    assert [m["ts"] for m in slack_api.messages("C1")] == [slack_ts(settings, batch_id)]  # posted once
    assert job.get_status(refresh=True) == "finished"
    assert get_queue("default", redis_conn).failed_job_registry.count == 0


def scheduled_batch(settings) -> int:
    """A Slack batch set to go out tomorrow: its message is posted now, and no send interferes."""
    batch_id = create_batch(settings, numbers(2), queue=False, slack_channel="C1")
    with session_scope(settings.database_url) as session:
        batch = session.get(Batch, batch_id)
        batch.status, batch.scheduled_at = "scheduled", utcnow() + timedelta(days=1)
    return batch_id


def slack_ts(settings, batch_id: int) -> str | None:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id).slack_ts
