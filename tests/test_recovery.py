"""Recovery of what a dead run left: adopt what Twilio accepted, release the rest, restart the batch."""

from __future__ import annotations

from datetime import timedelta

from jobs.recovery import reconcile_stuck_claims, recover, restart_orphaned_batches
from multisms.db import session_scope
from multisms.gateway import make_gateway
from multisms.models import Batch, Recipient, utcnow
from multisms.queues import get_queue
from tests.send_helpers import create_batch, numbers, recipient, statuses


def claim_as_dead_run(settings, batch_id: int, number: str, minutes_ago: int = 1) -> None:
    with session_scope(settings.database_url) as session:
        row = session.query(Recipient).filter_by(batch_id=batch_id, number_normalized=number).one()
        row.status, row.claimed_by = "sending", "deadhost:1:abc"
        row.claimed_at = utcnow() - timedelta(minutes=minutes_ago)
        session.get(Batch, batch_id).status = "processing"


def test_a_message_twilio_accepted_is_adopted_not_resent(settings, redis_conn, twilio_api, run_jobs):
    accepted, lost = numbers(2)
    batch_id = create_batch(settings, [accepted, lost], body="Crash test", queue=False)
    claim_as_dead_run(settings, batch_id, accepted)
    claim_as_dead_run(settings, batch_id, lost)
    twilio_api.queue_seconds = 600  # still in Twilio's queue: no date_sent yet
    twilio_api.client().messages.create(to=accepted, from_="+15005550006", body="Crash test")  # the dead run's send

    adopted, released = reconcile_stuck_claims(settings, redis_conn, make_gateway(settings))
    assert (adopted, released) == (1, 1)
    assert recipient(settings, batch_id, accepted).sid == twilio_api.messages[0]["sid"]
    assert statuses(settings, batch_id) == {accepted: "queued", lost: "pending"}

    assert restart_orphaned_batches(settings, redis_conn) == [batch_id]
    run_jobs()
    assert twilio_api.sent_to(accepted) == 1 and twilio_api.sent_to(lost) == 1


def test_a_different_message_to_the_same_number_is_not_mistaken_for_ours(settings, redis_conn, twilio_api):
    [number] = numbers(1)
    batch_id = create_batch(settings, [number], body="Ours", queue=False)
    claim_as_dead_run(settings, batch_id, number)
    twilio_api.client().messages.create(to=number, from_="+15005550006", body="Someone else's")
    assert reconcile_stuck_claims(settings, redis_conn, make_gateway(settings)) == (0, 1)


def test_claims_of_a_live_run_are_left_alone(settings, redis_conn, twilio_api):
    [number] = numbers(1)
    batch_id = create_batch(settings, [number], queue=False)
    claim_as_dead_run(settings, batch_id, number)
    redis_conn.set("multisms:alive:deadhost:1:abc", batch_id, ex=30)
    assert reconcile_stuck_claims(settings, redis_conn, make_gateway(settings)) == (0, 0)
    assert statuses(settings, batch_id) == {number: "sending"}


def test_a_confirmed_batch_whose_job_was_lost_is_queued_again(settings, redis_conn):
    batch_id = create_batch(settings, numbers(2), queue=False)
    assert recover(settings, redis_conn, make_gateway(settings))["restarted"] == [batch_id]
    assert len(get_queue("sms", redis_conn).job_ids) == 1
    assert recover(settings, redis_conn, make_gateway(settings))["restarted"] == []  # already waiting


def test_a_batch_left_processing_with_nothing_to_send_is_closed(settings, redis_conn, run_jobs):
    batch_id = create_batch(settings, numbers(2))
    run_jobs()
    with session_scope(settings.database_url) as session:
        session.get(Batch, batch_id).status = "processing"
    recover(settings, redis_conn, make_gateway(settings))
    with session_scope(settings.database_url) as session:
        assert session.get(Batch, batch_id).status == "completed"
