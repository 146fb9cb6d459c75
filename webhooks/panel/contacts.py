"""`/panel/contacts`: the Contacts tab. Import a CSV into a list (a preview first, then Confirm),
see the lists with their counts, delete one.

The previewed file waits for Confirm in Redis (`multisms.import_drafts`), so Confirm imports the
very bytes that were previewed without a second upload. The rules are the domain's, the same
calls Slack and the REST API make.
"""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from multisms import import_drafts
from multisms.contact_import import ImportReport, import_csv
from multisms.contacts import delete_list, list_lists
from multisms.errors import CsvRejected, ForgetKeyUnusable, InvalidListName, NotAllowed, NotFound
from webhooks import resources
from webhooks.panel.views import bp

log = logging.getLogger(__name__)

OWNER = "panel"
"""Who a panel preview belongs to: everyone with the panel password is the same person here."""
ROWS_SHOWN = 50
REFUSED = (CsvRejected, InvalidListName, ForgetKeyUnusable)


@bp.get("/contacts")
def contacts():
    return _page()


@bp.post("/contacts/preview")
def contacts_preview():
    """A dry run of the chosen file; the file is kept for Confirm."""
    name, upload = request.form.get("list", "").strip(), request.files.get("file")
    if upload is None or not upload.filename:
        return _page(error="Choose a CSV file to import.", name=name), 400
    data = upload.read()
    if not data:
        return _page(error=f"“{upload.filename}” is empty.", name=name), 400
    db = resources.db()
    try:
        report = import_csv(db, resources.settings(), name, data, dry_run=True)
    except REFUSED as exc:
        return _page(error=f"Nothing can be imported: {exc}", rows=getattr(exc, "invalid", ()), name=name), 422
    finally:
        db.rollback()  # a dry run keeps nothing
    try:
        draft_id = import_drafts.hold(resources.redis(), list_name=report.list_name, data=data, owner=OWNER,
                                      filename=upload.filename)
    except RedisError:
        return _page(error="Previews are kept in Redis, which is unreachable: try again in a minute.", name=name), 503
    return _page(report=report, draft_id=draft_id, filename=upload.filename, name=name)


@bp.post("/contacts/import")
def contacts_import():
    """Import the previewed file (once, however often the button is pressed)."""
    try:
        draft = import_drafts.take(resources.redis(), request.form.get("draft", 0, type=int), OWNER)
    except (NotFound, NotAllowed) as exc:
        flash(str(exc), "error")
        return redirect(url_for("panel.contacts"))
    db = resources.db()
    try:
        report = import_csv(db, resources.settings(), draft.list_name, draft.data, dry_run=False)
    except REFUSED as exc:
        db.rollback()
        flash(f"Nothing was imported: {exc}", "error")
        return redirect(url_for("panel.contacts"))
    db.commit()
    log.info("panel imported %d new and %d updated contacts", report.imported, report.updated)
    skipped = f" {len(report.invalid)} bad rows skipped." if report.invalid else ""
    flash(f"Imported into “{report.list_name}”: {report.imported} added, {report.updated} updated, "
          f"{report.unchanged} unchanged.{skipped}")
    return redirect(url_for("panel.contacts"))


@bp.post("/contacts/lists/<name>/delete")
def contacts_delete_list(name: str):
    db = resources.db()
    try:
        removed = delete_list(db, name)
    except NotFound as exc:
        flash(str(exc), "error")
        return redirect(url_for("panel.contacts"))
    db.commit()
    flash(f"Removed the list “{removed.name}” ({removed.members} members). Its people stay contacts, and the "
          "batches sent to them are unchanged.")
    return redirect(url_for("panel.contacts"))


def _page(*, report: ImportReport | None = None, draft_id: int | None = None, filename: str = "", name: str = "",
          error: str | None = None, rows=()):
    lists = list_lists(resources.db())
    read = report.source.to_dict() if report else None
    return render_template("panel/contacts.html", tab="contacts", lists=lists, report=report, read=read,
                           draft_id=draft_id, filename=filename, name=name, error=error,
                           rows=list(report.invalid if report else rows), rows_shown=ROWS_SHOWN,
                           max_mb=f"{resources.settings().contacts_import_max_bytes / 1_048_576:.3g}")
