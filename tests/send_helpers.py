"""Helpers for send-pipeline tests: create a confirmed batch directly, read its recipients."""

from __future__ import annotations

from multisms import intake
from multisms.db import session_scope
from multisms.models import Recipient
from multisms.queues import enqueue_send, redis_connection
from standins.signing import sign


def numbers(count: int, start: int = 0) -> list[str]:
    """`count` distinct valid Polish mobile numbers in E.164."""
    return [f"+48600{100000 + start + i:06d}" for i in range(count)]


def create_batch(settings, recipients: list[str], body: str = "Hello", *, queue: bool = True,
                 slack_channel: str | None = None) -> int:
    """A confirmed (`pending`) batch, queued to send unless `queue=False`."""
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body=body, numbers=recipients)
        batch = intake.submit(session, validation, created_by="test", confirmed=True)
        batch.slack_channel = slack_channel
        session.flush()
        batch_id = batch.id
    if queue:
        enqueue_send(redis_connection(settings), batch_id)
    return batch_id


def statuses(settings, batch_id: int) -> dict[str, str]:
    """number → status for every recipient of the batch."""
    with session_scope(settings.database_url) as session:
        rows = session.query(Recipient).filter_by(batch_id=batch_id).all()
        return {r.number_normalized: r.status for r in rows}


def recipient(settings, batch_id: int, number: str) -> Recipient:
    with session_scope(settings.database_url) as session:
        return session.query(Recipient).filter_by(batch_id=batch_id, number_normalized=number).one()


def post_signed(client, twilio_api, path: str, form: dict, *, base: str = "http://localhost", headers=None):
    """POST a Twilio webhook signed for `base + path` (PUBLIC_BASE_URL in the tests)."""
    signature = sign(twilio_api.auth_token, base + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})})
