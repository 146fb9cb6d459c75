"""The errors the domain raises, named for the situation; adapters turn them into replies."""

from __future__ import annotations


class MultiSmsError(Exception):
    """Base of every error the domain raises on purpose."""


class BatchRejected(MultiSmsError):
    """A batch cannot be created; `problems` says which field or number and why."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        super().__init__("; ".join(p["message"] for p in problems))


class NotFound(MultiSmsError):
    """The batch (or other record) does not exist."""


class NotAllowed(MultiSmsError):
    """This person (or shared identity) may not do that here; the message says why and what would help."""


class InvalidTransition(MultiSmsError):
    """A status change the lifecycle does not allow (e.g. cancelling a completed batch)."""


class FeedError(MultiSmsError):
    """A news feed could not be fetched or read; `reason` says why in words a person can act on."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(reason)


class CsvRejected(MultiSmsError):
    """A contacts CSV cannot be imported at all; the message says why, `invalid` lists the bad rows."""

    def __init__(self, message: str, invalid: tuple = ()):
        self.invalid = invalid
        super().__init__(message)


class FileUnavailable(MultiSmsError):
    """A shared file (a contacts CSV in Slack) could not be fetched, or is over its size limit; the
    message says which and what to do."""


class TemplateSyntaxError(MultiSmsError):
    """A message template has a stray `{` or `}`; `position` is its 0-based offset in the text."""

    def __init__(self, message: str, position: int):
        self.position = position
        super().__init__(message)


class MissingFieldValue(MultiSmsError):
    """A placeholder without a fallback has no value for this recipient (the preview should have refused)."""


class OldAppDatabase(MultiSmsError):
    """The configured database is the old app's (ver3.x) file: starting on it would migrate it half way."""


class UnknownOldSchema(MultiSmsError):
    """A file given to the v3 import is not an old-app database of a schema it knows (v7–v9)."""


class InvalidNumber(MultiSmsError):
    """A typed phone number that is not one (a contact to remove or forget); the message says why."""


class InvalidListName(MultiSmsError):
    """A list name that `list:<name>` could not spell (empty, too long, or with quotes, `|`, `,` or `;`)."""


class ForgetKeyUnusable(MultiSmsError):
    """No FORGET_KEY/SECRET_KEY, or not the one earlier numbers were forgotten with: a forgotten number
    could not be recognised, so forgetting or importing stops instead of bringing it back silently."""


class SendInFlight(MultiSmsError):
    """A text to this number is being handed to Twilio right now; the request can be repeated in a moment."""


class GatewayError(MultiSmsError):
    """The SMS provider refused or could not be reached.

    `retryable` is True for rate limits, server errors and connection failures, where the
    same request may succeed later; `ambiguous` is True when the request may have reached
    the provider (a read timeout), so a resend must first check it was not delivered.
    """

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 retryable: bool = False, ambiguous: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retryable = retryable
        self.ambiguous = ambiguous


class TimeProblem(MultiSmsError, ValueError):
    """A time that cannot be used; the message says why, in words a person can act on.
    (A ValueError too: pydantic turns it into a field error when a setting or request holds it.)"""


class NoWorker(MultiSmsError):
    """No worker is running, so a queued job would wait for nobody."""


class UnreadableDocument(MultiSmsError, ValueError):
    """The file is not a kind we read, is too big, or has no text in it; the message says which."""


class EmbeddedRedisUnavailable(MultiSmsError):
    """REDIS_URL is unset and the embedded Redis of local runs cannot start; the message says what to do."""
