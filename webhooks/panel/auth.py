"""Who may use the web panel: one shared password, a session checked on the server, CSRF on every form.

The cookie is signed with `SECRET_KEY`, or, when that is unset, a key derived from
`PANEL_PASSWORD` (PBKDF2-HMAC-SHA256), so every gunicorn worker and dyno computes the same key
without sharing state. Changing `PANEL_PASSWORD` logs everybody out, with either key.

A session is also a key in Redis, named by a random id the cookie carries: logging out deletes
it, so a copied cookie stops working, and it lives SESSION_HOURS from the login whatever happens
in between (no sliding). Redis also counts wrong passwords per client address. Without Redis
neither can be checked, so the panel fails closed: nobody logs in and no session is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta
from functools import lru_cache
from typing import Literal

from flask import Flask, g, request, session
from flask_wtf.csrf import CSRFProtect
from redis.exceptions import RedisError

from multisms.config import Settings
from webhooks import resources

log = logging.getLogger(__name__)

csrf = CSRFProtect()

SESSION_HOURS = 12
"""A session ends this long after its login, however busy it has been."""
SESSION_SECONDS = SESSION_HOURS * 3600
KEY_SALT = b"multisms web panel session key v1"
KEY_ITERATIONS = 200_000
"""Makes guessing the password from a stolen cookie slow when the key is derived from it."""

FAILED_LOGIN_DELAY = 0.3
"""Seconds every wrong password waits before the answer."""
MAX_FAILED_LOGINS = 6
FAILED_LOGIN_WINDOW = 300
"""After MAX_FAILED_LOGINS wrong passwords from one address within this many seconds, logins pause."""

REDIS_DOWN = ("The panel can't reach Redis, where logins are checked, so it lets nobody in for now. "
              "Nothing is lost: try again in a minute.")

State = Literal["in", "out", "unknown"]
"""A request's session: valid, absent (or ended, revoked, for another password), or uncheckable (Redis down)."""


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
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie's expiry stays where the login put it
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
    """A fresh session (nothing carried over from before the login), recorded in Redis for
    SESSION_HOURS. Raises RedisError when it cannot be recorded (the caller refuses the login)."""
    session_id = secrets.token_urlsafe(32)
    resources.redis().set(_session_key(session_id), 1, ex=SESSION_SECONDS)
    session.clear()
    session.permanent = True
    session.update(panel=_password_fingerprint(settings), sid=session_id, since=int(time.time()))
    g.panel_session = "in"


def log_out() -> bool:
    """End the session here and on the server; False when Redis could not be told (the cookie is
    cleared anyway, and the server-side session still ends SESSION_HOURS after its login)."""
    session_id = session.get("sid")
    session.clear()
    g.panel_session = "out"
    if not isinstance(session_id, str):
        return True
    try:
        resources.redis().delete(_session_key(session_id))
    except RedisError:
        log.warning("panel logout could not revoke the session: Redis is unreachable")
        return False
    return True


def is_logged_in(settings: Settings) -> bool:
    return session_state(settings) == "in"


def session_state(settings: Settings) -> State:
    """Checked once per request: the cookie's password and age, then Redis (is it still open?)."""
    if "panel_session" not in g:
        g.panel_session = _check_session(settings)
    return g.panel_session


def _check_session(settings: Settings) -> State:
    given, session_id, since = session.get("panel"), session.get("sid"), session.get("since")
    if not (isinstance(given, str) and isinstance(session_id, str) and isinstance(since, int)):
        return "out"
    if not hmac.compare_digest(given, _password_fingerprint(settings)):
        return "out"
    if not 0 <= time.time() - since < SESSION_SECONDS:
        return "out"
    try:
        return "in" if resources.redis().exists(_session_key(session_id)) else "out"
    except RedisError:
        log.warning("panel session not checked: Redis is unreachable")
        return "unknown"


def _session_key(session_id: str) -> str:
    """Redis holds a hash of the id, so reading Redis gives nobody a usable cookie."""
    return "multisms:panel:session:" + hashlib.sha256(session_id.encode()).hexdigest()


def _password_fingerprint(settings: Settings) -> str:
    key = session_key(settings).encode()
    return hmac.new(key, b"login:" + (settings.panel_password or "").encode(), hashlib.sha256).hexdigest()[:32]


def client_address() -> str:
    """The client's address as the TRUSTED_PROXIES-th proxy saw it (`webhooks.app.trust_proxies`
    rewrites `remote_addr`); with no trusted proxy, the peer's own address. Never a header entry
    beyond that, which the client could have written itself."""
    return request.remote_addr or "unknown"


def login_paused() -> bool:
    """True while this address has used up its wrong passwords. Raises RedisError when Redis is
    down: the caller refuses the login (fail closed), since the limit can't be enforced."""
    count = resources.redis().get(_failures_key())
    return int(count or 0) >= MAX_FAILED_LOGINS


def record_failed_login() -> None:
    """Count a wrong password (the count and its expiry set in one transaction), then wait a little."""
    try:
        pipe = resources.redis().pipeline(transaction=True)
        key = _failures_key()
        pipe.incr(key)
        pipe.expire(key, FAILED_LOGIN_WINDOW, nx=True)
        pipe.execute()
    except RedisError:
        log.warning("wrong panel password not counted: Redis is unreachable")
    time.sleep(FAILED_LOGIN_DELAY)


def forget_failed_logins() -> None:
    try:
        resources.redis().delete(_failures_key())
    except RedisError:
        pass


def _failures_key() -> str:
    return f"multisms:panel:failed-logins:{client_address()}"
