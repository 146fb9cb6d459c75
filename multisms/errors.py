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


class InvalidTransition(MultiSmsError):
    """A status change the lifecycle does not allow (e.g. cancelling a completed batch)."""


class EmbeddedRedisUnavailable(MultiSmsError):
    """REDIS_URL is unset and the embedded Redis of local runs cannot start; the message says what to do."""
