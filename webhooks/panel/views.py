"""`/panel` views: the Multi-SMS tab, batch history and per-batch pages, the Digests tab (the Contacts
tab is `webhooks.panel.contacts`, on the same blueprint).

Server-rendered; a little JavaScript refreshes the history and expands recipients. Every
route except the login page needs the panel session; every POST needs the CSRF token.
Validation and batch changes go through `multisms.intake` and `multisms.controls`, the
same calls Slack and the REST API make, so the panel can never disagree with them. A batch over
MULTI_SMS_APPROVAL_THRESHOLD waits for a second person in Slack: the panel password names nobody,
so the panel can create such a batch but never approve one.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError

from multisms import approvals, controls, digest_items, intake, reminders, scheduling
from multisms.batches import Validation
from multisms.contacts import list_lists
from multisms.errors import BatchRejected, InvalidTransition, NotFound
from multisms.models import utcnow
from multisms.queues import enqueue_approval_request, enqueue_progress, enqueue_send
from multisms.reports import batch_report_csv
from multisms.storage import batch_counts, get_batch, list_batches, list_recipients
from webhooks import resources
from webhooks.panel import auth as panel_auth
from webhooks.panel import render as panel_render

log = logging.getLogger(__name__)

bp = Blueprint("panel", __name__, url_prefix="/panel", template_folder="templates",
               static_folder="static", static_url_path="/static")

PUBLIC_ENDPOINTS = frozenset({"panel.login", "panel.static"})
"""The only panel routes reachable without logging in."""
FILE_UPLOADS = frozenset({"panel.contacts_preview"})
"""Routes that take a file (a contacts CSV): CONTACTS_IMPORT_MAX_BYTES instead of the general 1 MB, set
before the CSRF check reads the form."""
HISTORY_SIZE = 20
DIGEST_RUNS_SHOWN = 10
POLL_MILLISECONDS = 3000
MAX_NUMBERS_CHARS = 200_000
MAX_LISTS = 100
CONFIRM_TTL_SECONDS = 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@bp.before_request
def guard():
    """Panel off → 503; not logged in → the login page (401 for JSON); session uncheckable (Redis
    down) → 503, except to log out; POST without CSRF token → 400."""
    settings = resources.settings()
    if request.endpoint == "panel.static":
        return None
    if not settings.panel_password:
        return render_template("panel/disabled.html"), 503
    state = "in" if request.endpoint in PUBLIC_ENDPOINTS else panel_auth.session_state(settings)
    if state == "unknown" and request.endpoint != "panel.logout":
        message = panel_auth.REDIS_DOWN + (" Nothing was sent or changed." if request.method == "POST" else "")
        if request.path.endswith(".json"):
            return jsonify(error=message), 503
        return render_template("panel/error.html", title="Try again in a minute", message=message), 503
    if state == "out":
        if request.path.endswith(".json"):
            return jsonify(error="Your panel session has ended: log in again."), 401
        return redirect(url_for("panel.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    if request.method == "POST":
        if request.endpoint in FILE_UPLOADS:
            request.max_content_length = settings.contacts_import_max_bytes
        panel_auth.csrf.protect()
    return None


@bp.after_request
def headers(response):
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "panel.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def page_context() -> dict:
    settings = resources.settings()
    logged_in = bool(settings.panel_password) and panel_auth.is_logged_in(settings)
    return {"logged_in": logged_in, "tab": "multisms"}


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    message = "This form has expired or did not come from the panel. Reload the page and try again."
    return render_template("panel/error.html", title="Form expired", message=message), 400


@bp.errorhandler(413)
def too_large(_error):
    limit = request.max_content_length or 0
    message = f"That is more than {limit / 1_048_576:.3g} MB, the most this form takes. Split the file into parts."
    return render_template("panel/error.html", title="Too large", message=message), 413


@bp.errorhandler(404)
def not_found(_error):
    return render_template("panel/error.html", title="Not found", message="There is no such page or batch."), 404


@bp.route("/login", methods=["GET", "POST"])
def login():
    settings = resources.settings()
    target = _local_path(request.values.get("next"))
    if request.method == "GET":
        if panel_auth.is_logged_in(settings):
            return redirect(target)
        return render_template("panel/login.html", next=target)
    try:
        return _check_password(settings, target)
    except RedisError:
        log.warning("panel login refused for %s: Redis is unreachable", panel_auth.client_address())
        return render_template("panel/login.html", next=target, error=panel_auth.REDIS_DOWN), 503


def _check_password(settings, target: str):
    """Paused address → 429; wrong password → 401; else a new session. Redis errors reach the caller."""
    if panel_auth.login_paused():
        log.warning("panel login paused for %s after repeated wrong passwords", panel_auth.client_address())
        return render_template("panel/login.html", next=target,
                               error="Too many wrong passwords. Wait a few minutes, then try again."), 429
    if not panel_auth.password_matches(settings, request.form.get("password", "")):
        panel_auth.record_failed_login()
        log.info("panel login refused for %s", panel_auth.client_address())
        return render_template("panel/login.html", next=target, error="That password is not right."), 401
    panel_auth.forget_failed_logins()
    panel_auth.log_in(settings)
    log.info("panel login from %s", panel_auth.client_address())
    return redirect(target)


@bp.post("/logout")
def logout():
    if panel_auth.log_out():
        flash("You are logged out.")
    else:
        flash(f"You are logged out in this browser. Redis is unreachable, so the server could not end the "
              f"session everywhere; it ends by itself {panel_auth.SESSION_HOURS} hours after your login.")
    return redirect(url_for("panel.login"))


@bp.get("/")
def index():
    return _compose_page()


@bp.post("/preview")
def preview():
    form, validation = _validate_form()
    nonce = secrets.token_urlsafe(16) if validation.ok else None
    return _compose_page(form=form, validation=validation, nonce=nonce)


@bp.post("/confirm")
def confirm():
    """Validate again (never trust the page), store, commit, then queue: the same order as the API."""
    form, validation = _validate_form()
    if not validation.ok:
        return _compose_page(form=form, validation=validation,
                             error="Nothing was sent: fix the problems below, then preview again."), 422
    redis, nonce = resources.redis(), request.form.get("nonce", "")
    try:  # one batch per preview, however often Confirm is pressed
        first_press = bool(nonce) and redis.set(f"multisms:panel:confirmed:{nonce}", 1, nx=True,
                                                ex=CONFIRM_TTL_SECONDS)
    except RedisError:
        return _compose_page(form=form, validation=validation, nonce=nonce,
                             error="The send queue is unreachable, so nothing was sent. Try again in a minute."), 503
    if not first_press:
        flash("That preview was already confirmed; its batch is in the history below.")
        return redirect(url_for("panel.index"))
    settings, session_db = resources.settings(), resources.db()
    try:
        batch = intake.submit(session_db, validation, created_by="panel", confirmed=True)
        waits = approvals.hold(session_db, settings, batch)
    except BatchRejected:  # e.g. a number opted out between the check and now
        session_db.rollback()
        return _compose_page(form=form, validation=validation, error="Nothing was sent."), 422
    now = utcnow()
    if not waits:
        scheduling.hold(session_db, settings, batch, now)  # quiet hours apply here too
    session_db.commit()
    log.info("panel batch waits for approval" if waits else "panel queued batch", extra={"batch_id": batch.id})
    try:
        if waits:
            enqueue_approval_request(redis, batch.id)
        else:
            scheduling.queue_start(redis, batch.id, batch.status, batch.scheduled_at, None, now=now)
    except RedisError:
        flash(f"Batch #{batch.id} is saved, but the queue is unreachable; a worker "
              f"{'asks for its approval' if waits else 'sends it'} once Redis is back.")
        return redirect(url_for("panel.index"))
    flash(_stored_message(batch.id, len(validation.recipients), waits))
    return redirect(url_for("panel.index"))


def _stored_message(batch_id: int, count: int, waits: bool) -> str:
    messages = f"{count} message{'s' if count != 1 else ''}"
    if waits:
        return (f"Batch #{batch_id} is waiting for approval: {messages} go out once a second person approves it "
                "in Slack. Nothing is sent until then.")
    return f"Batch #{batch_id} is queued: {messages} to send."


@bp.get("/batches.json")
def batches_json():
    return jsonify(items=_history())


@bp.get("/batches/<int:batch_id>")
def batch_page(batch_id: int):
    db = resources.db()
    batch = _batch_or_404(batch_id)
    counts = batch_counts(db, [batch_id])[batch_id]
    recipients, _ = list_recipients(db, batch_id)
    return render_template(
        "panel/batch.html", batch=batch, row=panel_render.batch_row(batch, counts),
        recipients=[panel_render.recipient_row(r) for r in recipients], bars=panel_render.status_bars(counts),
        bar_height=panel_render.BAR_HEIGHT, progress=panel_render.progress_points(recipients, batch.started_at),
        actions=panel_render.actions_for(batch.status, counts), report=batch.report or {}, label=panel_render.label,
        when=panel_render.when)


@bp.get("/batches/<int:batch_id>/report.csv")
def batch_report(batch_id: int):
    """The delivery report with full numbers: the panel's users see them on the batch page already."""
    _batch_or_404(batch_id)
    return Response(batch_report_csv(resources.db(), batch_id, masked=False), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=batch-{batch_id}-report.csv"})


@bp.get("/digests")
def digests_page():
    """Each digest, what it is written from, and what its latest runs carried."""
    db = resources.db()
    found = reminders.list_reminders(db, kind="digest")
    runs = reminders.recent_runs(db, [r.id for r in found], per_reminder=DIGEST_RUNS_SHOWN)
    carried = digest_items.carried(db, [run.id for listed in runs.values() for run in listed])
    return render_template("panel/digests.html", tab="digests", label=panel_render.label, when=panel_render.when,
                           digests=[panel_render.digest_row(r, runs[r.id], carried) for r in found])


@bp.get("/batches/<int:batch_id>/recipients.json")
def recipients_json(batch_id: int):
    batch = _batch_or_404(batch_id)
    recipients, total = list_recipients(resources.db(), batch_id)
    return jsonify(batch_id=batch.id, status=batch.status, total=total,
                   items=[panel_render.recipient_row(r) for r in recipients])


@bp.post("/batches/<int:batch_id>/<any(cancel, resume, retry):action>")
def batch_action(batch_id: int, action: str):
    """Cancel, resume or retry; a refusal comes back as a sentence, not an error page."""
    _batch_or_404(batch_id)
    db = resources.db()
    try:
        result = getattr(controls, action)(db, batch_id)
    except InvalidTransition as exc:
        db.rollback()
        flash(f"Could not {action} batch #{batch_id}: {exc}", "error")
        return redirect(url_for("panel.batch_page", batch_id=batch_id))
    db.commit()
    log.info("panel %s batch", action, extra={"batch_id": batch_id})
    if action == "cancel":
        if get_batch(db, batch_id).slack_ts:  # its Slack message (e.g. an approval request) shows it
            enqueue_progress(resources.redis(), batch_id, final=True)
        flash(f"Batch #{batch_id} is cancelled; {result} message{'s' if result != 1 else ''} will not be sent.")
    else:
        enqueue_send(resources.redis(), batch_id)
        flash(f"Batch #{batch_id} is queued again." if action == "resume"
              else f"Batch #{batch_id}: {result} failed message{'s' if result != 1 else ''} queued again.")
    return redirect(url_for("panel.batch_page", batch_id=batch_id))


def _validate_form() -> tuple[dict, Validation]:
    """The form as typed, and the one validation every adapter shows."""
    settings = resources.settings()
    # Browsers send line breaks as CRLF; an SMS wants LF (a CR would cost a character).
    form = {name: request.form.get(name, "").replace("\r\n", "\n") for name in ("numbers", "body", "sender")}
    form["numbers"] = form["numbers"][:MAX_NUMBERS_CHARS]
    form["lists"] = request.form.getlist("lists")[:MAX_LISTS]
    choices = [value for value, _ in panel_render.sender_choices(settings)]
    sender = form["sender"] if form["sender"] in choices else None
    validation = approvals.vet(settings, intake.check(resources.db(), settings, body=form["body"],
                                                      numbers=form["numbers"], sender=sender, lists=form["lists"]))
    if form["sender"] and sender is None:  # a sender the page never offered
        problem = {"field": "sender", "message": "Pick one of the senders in the list."}
        validation = _with_problem(validation, problem)
    return form, validation


def _with_problem(validation: Validation, problem: dict) -> Validation:
    return replace(validation, problems=(*validation.problems, problem))


def _compose_page(*, form: dict | None = None, validation: Validation | None = None, nonce: str | None = None,
                  error: str | None = None):
    settings = resources.settings()
    choices = panel_render.sender_choices(settings)
    form = form or {"numbers": "", "body": "", "sender": choices[0][0] if choices else "", "lists": []}
    return render_template(
        "panel/index.html", form=form, validation=validation, report=validation.to_dict() if validation else None,
        nonce=nonce, error=error, senders=choices, lists=list_lists(resources.db()), history=_history(),
        poll_ms=POLL_MILLISECONDS,
        max_recipients=settings.multi_sms_max_recipients, price=settings.multi_sms_price_per_segment,
        currency=settings.multi_sms_currency, label=panel_render.label,
        needs_approval=validation is not None and approvals.needed(settings, len(validation.recipients)),
        approval_threshold=settings.multi_sms_approval_threshold)


def _history() -> list[dict]:
    db = resources.db()
    batches, _ = list_batches(db, limit=HISTORY_SIZE)
    counts = batch_counts(db, [b.id for b in batches])
    return [panel_render.batch_row(b, counts[b.id]) for b in batches]


def _batch_or_404(batch_id: int):
    try:
        return get_batch(resources.db(), batch_id)
    except NotFound:
        abort(404)


def _local_path(target: str | None) -> str:
    """Only a path inside the panel may follow the login (no open redirect)."""
    if target and target.startswith("/panel") and not target.startswith("//") and "\\" not in target:
        return target.rstrip("?")
    return url_for("panel.index")
