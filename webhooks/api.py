"""`/api/multi-sms/…`: the REST API, with the old app's routes and field names.

Every route needs `Authorization: Bearer $API_TOKEN`; without a configured token the API
answers 503 and says how to enable it.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from multisms import controls, intake, optouts, scheduling
from multisms.errors import BatchRejected, InvalidTransition, NotFound
from multisms.models import utcnow
from multisms.queues import enqueue_send
from multisms.storage import batch_counts, get_batch, list_batches, list_recipients
from webhooks import resources, schedule_api
from webhooks.openapi import SPEC
from webhooks.serializers import batch_json, recipient_json

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(schedule_api.bp)  # reschedule, reminders, digests: same token check

DEFAULT_PAGE = 50
MAX_PAGE = 200


class CreateBatch(BaseModel):
    """The body of `POST /api/multi-sms/batches`."""

    model_config = ConfigDict(extra="forbid")

    body: str
    recipients: list[str] | None = Field(default=None, max_length=5000)
    numbers: str | None = Field(default=None, max_length=200_000)
    sender: str | None = None
    dry_run: bool = False
    scheduled_at: str | None = None
    """ISO 8601 with an offset: send later (the batch waits as `scheduled`)."""

    @model_validator(mode="after")
    def _one_list(self):
        if self.recipients is None and self.numbers is None:
            raise ValueError("give `recipients` (a list of numbers) or `numbers` (text)")
        if self.recipients is not None and self.numbers is not None:
            raise ValueError("give either `recipients` or `numbers`, not both")
        return self


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    """Any missing batch, reminder or draft, in this blueprint or the ones nested in it."""
    return jsonify(error=str(error)), 404


@bp.errorhandler(InvalidTransition)
def conflict(error: InvalidTransition):
    """Not possible in the current state (already sent, already decided…): nothing was changed."""
    resources.db().rollback()
    return jsonify(error=str(error)), 409


@bp.before_request
def require_token():
    token = resources.settings().api_token
    if not token:
        return jsonify(error="The API is disabled: set API_TOKEN to enable it."), 503
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        response = jsonify(error="Missing or wrong API token: send `Authorization: Bearer <API_TOKEN>`.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="multisms"'
        return response, 401
    return None


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)


@bp.post("/multi-sms/batches")
def create_batch():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send a JSON object: {\"body\": …, \"recipients\": [...]}."), 400
    try:
        data = CreateBatch.model_validate(payload)
    except ValidationError as exc:
        return jsonify(error="Invalid request.", problems=_field_problems(exc)), 400
    settings, session = resources.settings(), resources.db()
    send_at = schedule_api.send_time(data.scheduled_at)
    numbers = data.recipients if data.recipients is not None else data.numbers
    validation = intake.check(session, settings, body=data.body, numbers=numbers, sender=data.sender)
    quiet = schedule_api.quiet_summary(settings, validation, send_at)
    if data.dry_run:
        return jsonify(validation=validation.to_dict(), quiet_hours=quiet), 200
    try:
        batch = intake.submit(session, validation, created_by="api", confirmed=True)
    except BatchRejected as exc:
        return jsonify(error="Batch rejected.", problems=exc.problems, validation=validation.to_dict()), 422
    batch.scheduled_at = send_at
    now = utcnow()
    scheduling.hold(session, settings, batch, now)
    session.commit()
    scheduling.queue_start(resources.redis(), batch.id, batch.status, batch.scheduled_at, None, now=now)
    counts = batch_counts(session, [batch.id])[batch.id]
    return jsonify(batch=batch_json(batch, counts), validation=validation.to_dict(), quiet_hours=quiet), 201


@bp.get("/multi-sms/batches")
def batches():
    limit, offset = _page()
    session = resources.db()
    items, total = list_batches(session, limit=limit, offset=offset)
    counts = batch_counts(session, [b.id for b in items])
    with_recipients = request.args.get("include_recipients") in ("1", "true", "yes")
    rendered = []
    for batch in items:
        item = batch_json(batch, counts[batch.id])
        if with_recipients:
            item["recipients"] = [recipient_json(r) for r in list_recipients(session, batch.id)[0]]
        rendered.append(item)
    return jsonify(items=rendered, count=len(rendered), total=total, limit=limit, offset=offset)


@bp.get("/multi-sms/batches/<int:batch_id>")
def batch(batch_id: int):
    session = resources.db()
    found = get_batch(session, batch_id)
    return jsonify(batch=batch_json(found, batch_counts(session, [batch_id])[batch_id]))


@bp.get("/multi-sms/batches/<int:batch_id>/recipients")
def recipients(batch_id: int):
    get_batch(resources.db(), batch_id)
    limit, offset = _page(default=None)
    items, total = list_recipients(resources.db(), batch_id, limit=limit, offset=offset,
                                   status=request.args.get("status"))
    return jsonify(items=[recipient_json(r) for r in items], count=len(items), total=total)


@bp.get("/opt-outs")
def opt_outs():
    """Numbers that opted out, newest first; `format=csv` downloads them all."""
    session = resources.db()
    if request.args.get("format") == "csv":
        rows, _ = optouts.list_all(session, limit=10**6)
        lines = ["number,since,source"] + [f"{r.number},{r.since.isoformat()},{r.source}" for r in rows]
        return Response("\n".join(lines) + "\n", mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=opt-outs.csv"})
    limit, offset = _page()
    rows, total = optouts.list_all(session, limit=limit, offset=offset)
    items = [{"number": r.number, "since": r.since.isoformat(), "source": r.source} for r in rows]
    return jsonify(items=items, count=len(items), total=total)


@bp.post("/multi-sms/batches/<int:batch_id>/cancel")
def cancel(batch_id: int):
    """Stop sending; messages already sent stay sent."""
    return _control(batch_id, lambda session: controls.cancel(session, batch_id), send=False)


@bp.post("/multi-sms/batches/<int:batch_id>/resume")
def resume(batch_id: int):
    """Continue a paused batch."""
    return _control(batch_id, lambda session: controls.resume(session, batch_id), send=True)


@bp.post("/multi-sms/batches/<int:batch_id>/retry")
def retry(batch_id: int):
    """Send again to the recipients that failed for a reason a retry can fix."""
    return _control(batch_id, lambda session: controls.retry(session, batch_id), send=True)


def _control(batch_id: int, action, *, send: bool):
    session = resources.db()
    action(session)
    session.commit()
    if send:
        enqueue_send(resources.redis(), batch_id)
    batch = get_batch(session, batch_id)
    return jsonify(batch=batch_json(batch, batch_counts(session, [batch_id])[batch_id]))


def _page(default: int | None = DEFAULT_PAGE) -> tuple[int | None, int]:
    """`limit` (1–200) and `offset` (≥ 0) from the query string; 400 naming the bad one."""
    return _int_arg("limit", default, 1, MAX_PAGE), _int_arg("offset", 0, 0, 10**9)


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        abort(400, f"`{name}` must be a whole number from {low} to {high}.")
    return int(value)


def _field_problems(exc: ValidationError) -> list[dict]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]
