"""Fault-injection suite: what every test here checks, and the totals printed at the end.

After each injected fault: every recipient got exactly one message at the Twilio stand-in,
or ended in a final status without a send and with a reason; no batch is left unfinished.
`RELIABILITY_ROUNDS` (default 1) repeats the process-killing tests (bench/reliability.py
raises it for a longer run).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import pytest

from multisms.db import session_scope
from multisms.models import Batch, Recipient

ROUNDS = int(os.environ.get("RELIABILITY_ROUNDS", "1"))
FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
SENT = {"queued", "sent", "delivered", "undelivered", "failed"}
NOT_SENT_WITH_REASON = {"invalid", "opted_out", "cancelled", "failed"}

TOTALS: Counter = Counter()
"""Faults that happened (by kind), duplicates and lost recipients, over the whole run."""
PROVIDER_FAULTS = {"rate_limit": "twilio 429", "server_error": "twilio 5xx", "hang, accepted":
                   "twilio timeout after accepting", "hang, not accepted": "twilio timeout without accepting",
                   "permanent error": "twilio permanent errors"}
"""The Twilio stand-in's names for the faults it served → the report's."""


@dataclass(frozen=True)
class Audit:
    recipients: int
    duplicates: list[str]
    lost: list[str]
    batch_status: str


def audit(settings, twilio_api, batch_id: int) -> Audit:
    """Compare the database with what the stand-in actually received."""
    with session_scope(settings.database_url) as session:
        rows = session.query(Recipient).filter_by(batch_id=batch_id).all()
        status = session.get(Batch, batch_id).status
        recipients = [(r.number_normalized, r.status, r.error_code, r.error_message) for r in rows]
    duplicates, lost = [], []
    for number, state, code, message in recipients:
        sends = twilio_api.sent_to(number)
        if sends > 1:
            duplicates.append(number)
        elif sends == 1 and state not in SENT:
            lost.append(f"{number} sent but recorded as {state}")
        elif sends == 0 and not (state in NOT_SENT_WITH_REASON and (code or message or state != "failed")):
            lost.append(f"{number} never sent, left {state}")
    TOTALS["duplicates"] += len(duplicates)
    TOTALS["lost"] += len(lost)
    TOTALS["recipients checked"] += len(recipients)
    return Audit(len(recipients), duplicates, lost, status)


def injected(kind: str, count: int = 1) -> None:
    """A fault the test itself caused and saw happen (a SIGKILL, a Redis restart, dropped connections)."""
    TOTALS[f"fault: {kind}"] += count


def served(twilio_api=None, slack_api=None) -> None:
    """Count the faults the stand-ins actually served to a request, not the ones armed."""
    for name, kind in PROVIDER_FAULTS.items():
        if twilio_api is not None and twilio_api.observed[name]:
            TOTALS[f"fault: {kind}"] += twilio_api.observed[name]
    if slack_api is not None:
        limited = sum(count for name, count in slack_api.observed.items() if name.startswith("ratelimit:"))
        if limited:
            TOTALS["fault: slack 429"] += limited


def assert_clean(result: Audit) -> None:
    assert (result.duplicates, result.lost) == ([], [])
    assert result.batch_status in FINISHED, f"batch left {result.batch_status}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not TOTALS:
        return
    faults = sum(count for kind, count in TOTALS.items() if kind.startswith("fault: "))
    terminalreporter.section("fault injection")
    terminalreporter.write_line(
        f"{faults} faults happened (counted when served or caused, not when armed), "
        f"{TOTALS['recipients checked']} recipients checked: "
        f"{TOTALS['duplicates']} duplicates, {TOTALS['lost']} lost")
    for kind, count in sorted(TOTALS.items()):
        if kind.startswith("fault: "):
            terminalreporter.write_line(f"  {kind[7:]}: {count}")


@pytest.fixture
def rounds() -> int:
    return ROUNDS
