"""Gunicorn settings for the `web` process, sized for a basic dyno (512 MB, shared CPU).

2 worker processes × 4 threads handle Slack's 3-second acks and Twilio's webhooks while
one request waits on the database; raise WEB_CONCURRENCY on bigger dynos. Logs go to stdout
as one logfmt line per event, numbers masked, the same shape as the app's own lines.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30  # Heroku's router gives up at 30 s anyway
graceful_timeout = 20
keepalive = 5
max_requests = 1000  # recycle workers now and then, so a slow leak never reaches the dyno's limit
max_requests_jitter = 100
forwarded_allow_ips = "*"  # only Heroku's router can reach a dyno; ProxyFix reads its X-Forwarded-* headers
accesslog = "-"
access_log_format = 'method=%(m)s path=%(U)s status=%(s)s bytes=%(B)s duration_ms=%(M)s request_id=%({x-request-id}i)s'
"""The path without its query string: query strings may carry tokens."""

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},  # the app adds its own (multisms.logging_setup)
    "filters": {"mask": {"()": "multisms.logging_setup.MaskPhoneNumbers"}},
    "formatters": {"logfmt": {"()": "multisms.logging_setup.LogfmtFormatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                   "formatter": "logfmt", "filters": ["mask"]},
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
