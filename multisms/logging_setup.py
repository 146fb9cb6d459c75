"""One log line per event, `key=value` (logfmt), phone numbers masked in every record.

Heroku's log drains, `heroku logs | grep batch_id=12` and most log tools read logfmt as is.
Used by the web process (`webhooks.app`), the worker (`jobs.worker`) and gunicorn
(`gunicorn.conf.py`), so every line of every process has the same shape.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime

from multisms.numbers import mask

PHONE_NUMBER = re.compile(
    r"(?<![\w.%:])(?!\d{4}-\d{2}-\d{2}(?!\d))(?!\d{1,3}(?:\.\d{1,3}){3}(?![\d.]))"
    r"(?:\+|00)?\(?\d(?:[ \t.\-/()+]{0,3}\d){6,16}(?![\w%])")
"""A phone number however it is written: `+48 600 123 456`, `0048600123456`, `48600123456`,
`600 123 456`, `(+48) 600-123-456`, `600.123.456`, with double spaces, or form-encoded
(`%2B48+600+123+456`, decoded first): 7–17 digits with separators between them. Dates
(`2026-11-30`) and IPv4 addresses stay readable."""
FORM_ENCODED = re.compile(r"%(2[Bb08]|29)")
"""The escapes a form-encoded body uses inside a number: `+`, space, `(` and `)`."""
WITHHELD = ("Invalid request signature detected",)
"""Messages that carry a whole request body: only their first words are kept (Bolt's rejected requests)."""

EXTRA_FIELDS = ("batch_id", "recipient_id", "job_id")
"""Attributes passed with `extra={...}` that become their own `key=value` pairs."""

PREFORMATTED_LOGGERS = frozenset({"gunicorn.access"})
"""Loggers whose messages are already `key=value` pairs (gunicorn.conf.py's access_log_format)."""
CHATTY_LOGGERS = ("twilio.http_client", "slack_sdk", "slack_bolt", "openai", "httpx", "httpcore", "urllib3",
                  "langchain", "faiss")
"""Libraries that log every request they make (headers, query strings, bodies holding texts people
wrote): WARNING and above only, whatever LOG_LEVEL says. That keeps texts and numbers out of the logs,
and a worker sending hundreds of texts a second off its CPU."""

_OURS = "_multisms_handler"


def mask_numbers(text: str) -> str:
    """Every phone number in `text` → `+48••••••456`, as `multisms.numbers.mask` shows them."""
    if "%" in text:
        text = FORM_ENCODED.sub(lambda m: {"2b": "+", "20": " ", "28": "(", "29": ")"}[m.group(1).lower()], text)
    return PHONE_NUMBER.sub(lambda match: mask(match.group()), text)


class MaskPhoneNumbers(logging.Filter):
    """Masks numbers in the message, its arguments and any traceback, before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            if message.startswith(WITHHELD):
                message = message.split("(", 1)[0].rstrip() + " (request details withheld)"
            record.msg, record.args = mask_numbers(message), None
        except (TypeError, ValueError):  # a malformed call: let logging report it as it always does
            record.msg = mask_numbers(str(record.msg))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        return True


class LogfmtFormatter(logging.Formatter):
    """`time=… level=INFO logger=jobs.send message="…" batch_id=12` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields.update({name: getattr(record, name) for name in EXTRA_FIELDS if hasattr(record, name)})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        inline = fields.pop("message") if record.name in PREFORMATTED_LOGGERS else None
        line = " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        return mask_numbers(f"{line} {' '.join(inline.splitlines())}" if inline is not None else line)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is now (pytest and gunicorn swap it), never a stale stream."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(level: str = "INFO") -> logging.Handler:
    """Send every logger's records to stdout as logfmt, masked. Safe to call more than once."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    handler = _StdoutHandler()
    setattr(handler, _OURS, True)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(MaskPhoneNumbers())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler


def _value(value) -> str:
    text = str(value)
    if text and not any(ch in text for ch in ' "=\n\r\t\\'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
