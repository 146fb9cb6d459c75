"""`/panel`: the web panel. `views` holds the routes, `auth` the login and CSRF, `render` what a
page shows; templates and static files live next to them (the blueprint's own folders)."""

from __future__ import annotations

from flask import Flask

from multisms.config import Settings
from webhooks.panel import auth, views

bp = views.bp


def init_app(app: Flask, settings: Settings) -> None:
    """Session cookie and CSRF settings, then the panel's routes."""
    auth.init_app(app, settings)
    app.register_blueprint(bp)
