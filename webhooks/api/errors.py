"""The one place where a refusal becomes the API's JSON error, `{"error": …, "problems": [...]}`.

Domain errors (`multisms.errors`) map to statuses here: NotFound → 404, InvalidTransition → 409,
BatchRejected → 422; a request that fails its pydantic model → 400 naming each field; HTTP errors
on `/api/` paths → JSON instead of Flask's HTML page. A refused write is rolled back, so nothing
is half done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from multisms.errors import BatchRejected, InvalidTransition, NotFound
from webhooks import resources
from webhooks.api.models import Error

MEANINGS = {
    400: "Malformed request (names the field)",
    401: "Missing or wrong token",
    404: "Not found",
    409: "Not possible in the current state (says why)",
    413: "Too large (says the limit)",
    422: "Rejected (names each problem)",
    503: "API disabled (API_TOKEN unset)",
}
"""What each error status means, for the OpenAPI document."""


class ApiError(Exception):
    """A refusal a view decides itself (a bad schedule, a digest without an OpenAI key…)."""

    def __init__(self, status: int, error: str, **details):
        super().__init__(error)
        self.status, self.error, self.details = status, error, details


def invalid(*problems: dict) -> ApiError:
    """400 naming each field and what is wrong with it."""
    return ApiError(400, "Invalid request.", problems=list(problems))


def invalid_input(exc: ValidationError) -> ApiError:
    """A request body or query string its model refused. (A response that fails its model is our bug: a 500.)"""
    return invalid(*({"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
                     for err in exc.errors(include_url=False)))


def error_response(status: int, error: str, **details) -> Response:
    body = Error(error=error, **details).model_dump_json(exclude_unset=True)
    return Response(body, status, mimetype="application/json")


@contextmanager
def rejected_as(error: str, **details) -> Iterator[None]:
    """Inside the block, the domain's BatchRejected becomes a 422 that says `error` (and carries `details`)."""
    try:
        yield
    except BatchRejected as exc:
        resources.db().rollback()
        raise ApiError(422, error, problems=exc.problems, **details) from exc


def register(bp: Blueprint) -> None:
    """Handlers for `bp` and every blueprint nested in it."""
    bp.register_error_handler(ApiError, lambda exc: error_response(exc.status, exc.error, **exc.details))
    bp.register_error_handler(NotFound, lambda exc: error_response(404, str(exc)))
    bp.register_error_handler(InvalidTransition, _conflict)
    bp.register_error_handler(BatchRejected, _rejected)


def http_error(error: HTTPException):
    """API clients get JSON errors (unknown paths, wrong methods, bodies too large…); everyone else Flask's page."""
    if not request.path.startswith("/api/"):
        return error
    return error_response(error.code or 500, error.description or error.name)


def _conflict(exc: InvalidTransition):
    """Not possible in the current state (already sent, already decided…): nothing was changed."""
    resources.db().rollback()
    return error_response(409, str(exc))


def _rejected(exc: BatchRejected):
    resources.db().rollback()
    return error_response(422, "Rejected: nothing was changed.", problems=exc.problems)
