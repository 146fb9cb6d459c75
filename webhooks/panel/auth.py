"""Who may use the web panel: one shared password, a signed session cookie, CSRF on every form.

The session key is `SECRET_KEY`, or, when that is unset, derived from `PANEL_PASSWORD`
(PBKDF2-HMAC-SHA256), so every gunicorn worker and dyno computes the same key without
sharing state. Changing `PANEL_PASSWORD` logs everybody out, with either key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import timedelta
from functools import lru_cache

from flask import Flask, request, session
from flask_wtf.csrf import CSRFProtect
from redis.exceptions import RedisError

from multisms.config import Settings
from webhooks import resources

log = logging.getLogger(__name__)

csrf = CSRFProtect()

SESSION_HOURS = 12
KEY_SALT = b"multisms web panel session key v1"
KEY_ITERATIONS = 200_000
"""Makes guessing the password from a stolen cookie slow when the key is derived from it."""

FAILED_LOGIN_DELAY = 0.3
"""Seconds every wrong password waits before the answer."""
MAX_FAILED_LOGINS = 6
FAILED_LOGIN_WINDOW = 300
"""After MAX_FAILED_LOGINS wrong passwords from one address within this many seconds, logins pause."""


def init_app(app: Flask, settings: Settings) -> None:
    """Session cookie settings and CSRF for the panel; nothing else in the app is affected."""
    if settings.panel_password:
        app.secret_key = session_key(settings)
    app.config.update(
        SESSION_COOKIE_NAME="multisms_panel",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(settings.public_base_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_CHECK_DEFAULT=False,  # only panel forms are checked (see webhooks.panel.views)
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session that holds it
    )
    csrf.init_app(app)


def session_key(settings: Settings) -> str:
    return settings.secret_key or _derived_key(settings.panel_password or "")


@lru_cache(maxsize=4)
def _derived_key(password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), KEY_SALT, KEY_ITERATIONS).hex()


def password_matches(settings: Settings, given: str) -> bool:
    """Constant-time comparison, so the answer's timing says nothing about the password."""
    expected = (settings.panel_password or "").encode()
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


def log_in(settings: Settings) -> None:
    """A fresh session (nothing carried over from before the login) that knows which password it saw."""
    session.clear()
    session.permanent = True
    session["panel"] = _password_fingerprint(settings)


def is_logged_in(settings: Settings) -> bool:
    given = session.get("panel")
    return isinstance(given, str) and hmac.compare_digest(given, _password_fingerprint(settings))


def _password_fingerprint(settings: Settings) -> str:
    key = session_key(settings).encode()
    return hmac.new(key, b"login:" + (settings.panel_password or "").encode(), hashlib.sha256).hexdigest()[:32]


def client_address() -> str:
    """The address Heroku's router saw (the last X-Forwarded-For entry), else the peer's."""
    return request.access_route[-1] if request.access_route else (request.remote_addr or "unknown")


def login_paused() -> bool:
    """True while this address has used up its wrong passwords. Fails open if Redis is down."""
    try:
        count = resources.redis().get(_failures_key())
    except RedisError:
        log.warning("login rate limit unavailable: Redis is unreachable")
        return False
    return int(count or 0) >= MAX_FAILED_LOGINS


def record_failed_login() -> None:
    try:
        redis = resources.redis()
        key = _failures_key()
        if redis.incr(key) == 1:
            redis.expire(key, FAILED_LOGIN_WINDOW)
    except RedisError:
        log.warning("login rate limit unavailable: Redis is unreachable")
    time.sleep(FAILED_LOGIN_DELAY)


def forget_failed_logins() -> None:
    try:
        resources.redis().delete(_failures_key())
    except RedisError:
        pass


def _failures_key() -> str:
    return f"multisms:panel:failed-logins:{client_address()}"
