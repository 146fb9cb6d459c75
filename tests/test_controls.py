"""Batch controls shared by Slack, API and panel: one winner when two people click at once."""

from __future__ import annotations

import threading

import pytest

from multisms import controls, intake
from multisms.db import session_scope
from multisms.errors import InvalidTransition, NotAllowed
from multisms.permissions import Actor
from tests.send_helpers import numbers


def draft(settings, count: int = 3) -> int:
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body="Hi", numbers=numbers(count))
        return intake.submit(session, validation, created_by="slack:UAUTHOR", confirmed=False).id


def test_confirm_twice_confirms_once(settings):
    batch_id = draft(settings)
    with session_scope(settings.database_url) as session:
        assert controls.confirm(session, batch_id, by="slack:UAUTHOR").status == "pending"
    with session_scope(settings.database_url) as session, pytest.raises(InvalidTransition, match="already pending"):
        controls.confirm(session, batch_id, by="slack:UAUTHOR")


def test_simultaneous_confirms_have_one_winner(settings):
    batch_id = draft(settings)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        try:
            with session_scope(settings.database_url) as session:
                controls.confirm(session, batch_id, by="slack:UAUTHOR")
            outcomes.append("confirmed")
        except InvalidTransition:
            outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["confirmed", "refused", "refused", "refused"]


def test_large_batches_wait_for_a_second_person(settings):
    batch_id = draft(settings, count=5)
    with session_scope(settings.database_url) as session:
        confirmed = controls.confirm(session, batch_id, by="slack:UAUTHOR", approval_threshold=4)
        assert confirmed.status == "awaiting_approval"
    with session_scope(settings.database_url) as session, pytest.raises(NotAllowed, match="someone else"):
        controls.approve(session, settings, batch_id, Actor.slack("UAUTHOR"))
    for shared in ("api", "panel", "shell"):
        with session_scope(settings.database_url) as session, pytest.raises(NotAllowed, match="never approve"):
            controls.approve(session, settings, batch_id, Actor(shared))
    with session_scope(settings.database_url) as session:
        approved = controls.approve(session, settings, batch_id, Actor.slack("UOTHER"))
        assert (approved.status, approved.approved_by) == ("pending", "slack:UOTHER")


def test_only_an_allowed_slack_user_may_approve(configure):
    settings = configure(MULTISMS_ALLOWED_USERS="UAUTHOR,UBOSS", MULTISMS_ALLOWED_CHANNELS="CSEND",
                         SLACK_APPROVALS_CHANNEL="CAPPROVE")
    batch_id = draft(settings, count=5)
    with session_scope(settings.database_url) as session:
        controls.confirm(session, batch_id, by="slack:UAUTHOR", approval_threshold=4)
    with session_scope(settings.database_url) as session, pytest.raises(NotAllowed, match="MULTISMS_ALLOWED_USERS"):
        controls.approve(session, settings, batch_id, Actor.slack("USTRANGER", "CAPPROVE"))
    with session_scope(settings.database_url) as session, pytest.raises(NotAllowed, match="this channel"):
        controls.approve(session, settings, batch_id, Actor.slack("UBOSS", "CRANDOM"))
    with session_scope(settings.database_url) as session:
        assert controls.approve(session, settings, batch_id, Actor.slack("UBOSS", "CAPPROVE")).status == "pending"


def test_cancel_a_draft_and_nothing_is_left_to_send(settings):
    batch_id = draft(settings)
    with session_scope(settings.database_url) as session:
        assert controls.cancel(session, batch_id) == 3
    with session_scope(settings.database_url) as session, pytest.raises(InvalidTransition):
        controls.confirm(session, batch_id, by="slack:UAUTHOR")


def test_only_a_paused_batch_resumes(settings):
    batch_id = draft(settings)
    with session_scope(settings.database_url) as session, pytest.raises(InvalidTransition, match="Only a paused batch"):
        controls.resume(session, batch_id)
