"""`gunicorn 'webhooks.app:create_app()'`: the Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from multisms.config import Settings, get_settings
from multisms.legacy import refuse_old_app_database
from multisms.logging_setup import configure_logging
from webhooks import api, health, panel, resources, slack, twilio

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024
"""250 numbers and a 1600-character body fit many times over; anything bigger is refused."""


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    refuse_old_app_database(settings.database_url)
    app = Flask(__name__, static_folder=None)  # the panel serves its own assets under /panel/static
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    trust_proxies(app, settings.trusted_proxies)
    configure_logging(settings.log_level)
    resources.init_app(app, settings)
    app.register_blueprint(health.bp)
    api.init_app(app)
    slack.init_app(app, settings)
    app.register_blueprint(twilio.bp)
    panel.init_app(app, settings)
    if settings.webhooks_unverifiable:
        log.warning("Twilio webhooks are off (503): %s Delivery statuses are polled instead.", twilio.UNVERIFIABLE)
    return app


def trust_proxies(app: Flask, hops: int) -> None:
    """Believe X-Forwarded-For/-Proto only as far as TRUSTED_PROXIES proxies wrote them (Heroku's router: 1).

    With 0 (`make run`, a host with nothing in front) the peer's own address is the client's, so a
    made-up X-Forwarded-For cannot pick the address the panel's login limit counts against.
    X-Forwarded-Host is never believed: Heroku's router passes on whatever the client sent.
    """
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
