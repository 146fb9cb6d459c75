"""Per-app resources: settings, a per-request database session, the Redis connection.

Registered on the app (not at import time), opened lazily, closed at teardown.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from redis import Redis
from sqlalchemy.orm import Session

from multisms.config import Settings
from multisms.db import get_sessionmaker
from multisms.queues import redis_connection

EXTENSION = "multisms"


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION] = {"settings": settings, "redis": None}
    app.teardown_appcontext(_close_session)


def settings() -> Settings:
    return current_app.extensions[EXTENSION]["settings"]


def db() -> Session:
    """The request's session; committed by the view that writes, closed at teardown."""
    if "db" not in g:
        g.db = get_sessionmaker(settings().database_url)()
    return g.db


def redis() -> Redis:
    """One Redis client per app, created on first use."""
    state = current_app.extensions[EXTENSION]
    if state["redis"] is None:
        state["redis"] = redis_connection(state["settings"])
    return state["redis"]


def _close_session(_exc) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
