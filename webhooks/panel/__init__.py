"""`/panel`: the web panel. `views` holds the routes (`contacts` adds the Contacts tab's), `auth` the
login and CSRF, `render` what a page shows; templates and static files live next to them (the
blueprint's own folders)."""

from __future__ import annotations

from flask import Flask

from multisms.config import Settings
from webhooks.panel import auth, contacts, views

bp = views.bp
ROUTES = (views, contacts)
"""The modules whose routes make up the panel (importing them registers the routes on `bp`)."""


def init_app(app: Flask, settings: Settings) -> None:
    """Session cookie and CSRF settings, then the panel's routes."""
    auth.init_app(app, settings)
    app.register_blueprint(bp)
