"""Contacts jobs (queue `default`): preview a contacts CSV shared in Slack, and upload delivery reports.

Both talk to Slack's file API, which a Slack listener must not wait on. The preview is a dry
run: the file is held for Confirm (`multisms.import_drafts`) and the person sees the counts,
the first bad rows and Confirm / Cancel, ephemerally. A report goes where the person asked,
numbers masked; the full-number file only to someone who may send, in their DM with the app.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import contacts as contact_blocks
from bot.blocks import notice
from bot.client import slack_client
from jobs import slack_files
from multisms import import_drafts
from multisms.config import get_settings
from multisms.contact_import import import_csv
from multisms.db import session_scope
from multisms.errors import CsvRejected, FileUnavailable, ForgetKeyUnusable, InvalidListName
from multisms.queues import redis_connection
from multisms.reports import batch_report_csv

log = logging.getLogger(__name__)


def import_file(file_id: str, list_name: str, user: str, channel: str | None) -> dict:
    """Fetch a CSV shared in Slack, preview importing it into `list_name`, and hold it for Confirm."""
    settings = get_settings()
    client = slack_client(settings)
    try:
        info = client.files_info(file=file_id)["file"]
        data = slack_files.download(settings, info, max_bytes=settings.contacts_import_max_bytes)
    except SlackApiError as exc:
        problem = f"I can't open Slack file {file_id} ({exc.response.get('error')}): share it where the app is."
        return _tell(client, user, channel, problem, notice(problem))
    except FileUnavailable as exc:
        return _tell(client, user, channel, f"Nothing was imported: {exc}", contact_blocks.import_refused(str(exc)))
    filename = info.get("name") or info.get("title") or file_id
    try:
        with session_scope(settings.database_url) as session:
            report = import_csv(session, settings, list_name, data, dry_run=True)
    except (CsvRejected, InvalidListName, ForgetKeyUnusable) as exc:
        rows = getattr(exc, "invalid", ())
        return _tell(client, user, channel, f"Nothing was imported: {exc}",
                     contact_blocks.import_refused(str(exc), rows))
    draft_id = import_drafts.hold(redis_connection(settings), list_name=report.list_name, data=data,
                                  owner=f"slack:{user}", filename=filename)
    text = (f"Import preview of {filename}: {report.imported} new, {report.updated} updated, "
            f"{len(report.invalid)} bad rows. Confirm or Cancel.")
    return _tell(client, user, channel, text, contact_blocks.import_preview(report, draft_id, filename))


def upload_report(batch_id: int, user: str, channel: str | None, full: bool) -> dict:
    """Post the batch's report: masked where others can see it, in full to `user`'s DM when `full`."""
    settings = get_settings()
    client = slack_client(settings)
    private = not channel or channel.startswith("D")
    with session_scope(settings.database_url) as session:
        masked = None if private and full else batch_report_csv(session, batch_id, masked=True)
        whole = batch_report_csv(session, batch_id, masked=False) if full else None
    where = []
    try:
        if masked is not None:
            _share_report(client, channel or _dm(client, user), batch_id, masked, full=False, user=user)
            where.append("here (numbers masked)" if channel else "in your DM (numbers masked)")
        if whole is not None:
            _share_report(client, _dm(client, user), batch_id, whole, full=True, user=user)
            where.append("in your DM with the app (full numbers)")
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("report of batch %s not uploaded: %s", batch_id, error)
        problem = (f"I couldn't upload the report of batch #{batch_id} ({error}). The app needs the files:write "
                   "scope and must be in this channel: `/invite` it, or ask in a DM with the app.")
        return _tell(client, user, channel, problem, notice(problem))
    text = f"The delivery report of batch #{batch_id} is " + " and ".join(where) + "."
    if not full:
        text += " The full-number file goes only to people who may send (MULTISMS_ALLOWED_USERS)."
    return _tell(client, user, channel, text, notice(text))


def _share_report(client: WebClient, channel: str, batch_id: int, data: bytes, *, full: bool, user: str) -> None:
    kind = "full numbers" if full else "numbers masked"
    slack_files.upload_csv(client, channel=channel, data=data,
                           filename=f"batch-{batch_id}-report{'' if full else '-masked'}.csv",
                           title=f"Batch #{batch_id} delivery report ({kind})",
                           comment=f"Delivery report of batch #{batch_id} ({kind}), asked for by <@{user}>.")


def _dm(client: WebClient, user: str) -> str:
    return slack_files.direct_channel(client, user)


def _tell(client: WebClient, user: str, channel: str | None, text: str, content: list[dict]) -> dict:
    """An ephemeral answer to the person who asked; in a DM the app is not part of, a message from the app."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=content)
            return {"text": text, "blocks": content}
        except SlackApiError as exc:
            log.info("ephemeral answer refused (%s); sending it to the app's DM instead", exc.response.get("error"))
    client.chat_postMessage(channel=user, text=text, blocks=content)
    return {"text": text, "blocks": content}
