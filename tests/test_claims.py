"""Send runs take recipients a group at a time: a run that dies leaves at most a group or two
for recovery to look up at Twilio, and helper runs always find work left to share."""

from __future__ import annotations

import threading

from multisms import claims
from multisms.db import get_sessionmaker, session_scope
from multisms.models import Recipient, utcnow
from tests.send_helpers import create_batch, numbers

GROUP = 20


def claimed_by(settings, batch_id: int) -> dict[str | None, int]:
    with session_scope(settings.database_url) as session:
        rows = session.query(Recipient.claimed_by).filter_by(batch_id=batch_id).all()
    counts: dict[str | None, int] = {}
    for (owner,) in rows:
        counts[owner] = counts.get(owner, 0) + 1
    return counts


def test_two_runs_claiming_at_the_same_moment_each_get_one_group_and_never_the_same_person(settings):
    batch_id = create_batch(settings, numbers(250), queue=False)
    first = get_sessionmaker(settings.database_url)()
    got = {"first": claims.claim_group(first, batch_id, "run-1", GROUP, utcnow())}  # not committed yet

    def second_run() -> None:
        with session_scope(settings.database_url) as session:
            got["second"] = claims.claim_group(session, batch_id, "run-2", GROUP, utcnow())

    other = threading.Thread(target=second_run)
    other.start()
    other.join(timeout=0.5)  # PostgreSQL: skips the first run's rows; SQLite: waits for its commit
    first.commit()
    first.close()
    other.join(timeout=20)

    assert (len(got["first"]), len(got["second"])) == (GROUP, GROUP)
    assert not {c.recipient_id for c in got["first"]} & {c.recipient_id for c in got["second"]}
    assert claimed_by(settings, batch_id) == {"run-1": GROUP, "run-2": GROUP, None: 250 - 2 * GROUP}
