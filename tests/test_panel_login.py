"""Panel login as an attacker and a careful admin see it: a forged X-Forwarded-For does not dodge
the wrong-password limit, Redis down lets nobody in, logout ends the session for every copy of
its cookie, and a session ends 12 hours after its login however busy it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from multisms.config import get_settings
from tests.panel_helpers import PASSWORD, Panel, stored
from webhooks.app import create_app
from webhooks.panel import auth as panel_auth

FAILURES = "multisms:panel:failed-logins:*"
REDIS_DOWN = "redis://127.0.0.1:1/0"


def use_up_wrong_passwords(user: Panel, forwarded_for) -> None:
    """MAX_FAILED_LOGINS wrong passwords, each with a different X-Forwarded-For (`forwarded_for(i)`)."""
    for attempt in range(panel_auth.MAX_FAILED_LOGINS):
        response = user.login("guess", headers={"X-Forwarded-For": forwarded_for(attempt)})
        assert response.status_code == 401


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_reset_the_limit(make_client, redis_conn):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))  # TRUSTED_PROXIES unset: 0, as `make run`

    use_up_wrong_passwords(user, lambda attempt: f"198.51.100.{attempt}")
    paused = user.login(headers={"X-Forwarded-For": "203.0.113.99"})

    assert paused.status_code == 429 and "Too many wrong passwords" in paused.text
    assert redis_conn.keys(FAILURES) == [b"multisms:panel:failed-logins:127.0.0.1"]  # the peer, not a header
    assert 0 < redis_conn.ttl("multisms:panel:failed-logins:127.0.0.1") <= panel_auth.FAILED_LOGIN_WINDOW


def test_behind_one_proxy_the_address_it_saw_counts_and_earlier_entries_are_ignored(make_client):
    client = make_client(PANEL_PASSWORD=PASSWORD, TRUSTED_PROXIES=1)  # Heroku: the router appends the peer
    attacker = Panel(client, headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"})
    colleague = Panel(client.application.test_client(), headers={"X-Forwarded-For": "198.51.100.20"})

    use_up_wrong_passwords(attacker, lambda attempt: f"10.0.0.{attempt}, 203.0.113.7")
    paused = attacker.login(headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.7"})
    welcome = colleague.login()

    assert paused.status_code == 429
    assert welcome.status_code == 302 and colleague.client.get("/panel/").status_code == 200


def test_with_redis_down_nobody_logs_in_and_no_session_is_accepted(make_client, settings):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    user.login()
    down = create_app(get_settings().model_copy(update={"redis_url": REDIS_DOWN})).test_client()

    newcomer = Panel(down)
    refused = newcomer.login()
    copied = down.application.test_client()
    copied.set_cookie("multisms_panel", user.cookie())
    page, poll = copied.get("/panel/"), copied.get("/panel/batches.json")

    assert refused.status_code == 503 and "reach Redis" in refused.text
    assert newcomer.client.get("/panel/").status_code == 302
    assert page.status_code == 503 and "lets nobody in" in page.text
    assert poll.status_code == 503 and "can't reach Redis" in poll.json["error"]
    assert stored(settings) == []


def test_after_logout_a_copied_cookie_opens_nothing(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    user.login()
    thief = user.client.application.test_client()
    thief.set_cookie("multisms_panel", user.cookie())
    assert thief.get("/panel/").status_code == 200

    logout = user.post("/panel/logout")

    assert logout.status_code == 302 and "logged out" in user.client.get("/panel/login").text
    assert thief.get("/panel/").status_code == 302
    assert thief.get("/panel/batches.json").status_code == 401


def test_a_session_ends_twelve_hours_after_login_however_busy(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), tick=False) as clock:
        user.login()
        for _ in range(panel_auth.SESSION_HOURS - 1):
            clock.shift(timedelta(hours=1))
            assert user.client.get("/panel/").status_code == 200
        clock.shift(timedelta(minutes=59))
        assert user.client.get("/panel/batches.json").status_code == 200

        clock.shift(timedelta(minutes=2))  # 12 h 01 min after the login, used a minute ago
        assert user.client.get("/panel/").status_code == 302
        assert user.client.get("/panel/batches.json").status_code == 401

