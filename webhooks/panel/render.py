"""What the panel shows, as plain values: batch rows, recipient rows, chart geometry.

The page templates and the polling JSON both use these, so a row looks the same whether
the server rendered it or the browser updated it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from multisms.batches import FINISHED
from multisms.config import Settings
from multisms.digest_sources import read_sources
from multisms.models import Batch, DigestItem, Recipient, Reminder, ReminderRun
from multisms.storage import BatchCounts
from multisms.timespec import describe

STATUS_LABELS = {
    "draft": "Draft", "awaiting_approval": "Waiting for approval", "pending": "Queued", "processing": "Sending",
    "paused": "Paused", "scheduled": "Scheduled", "completed": "Completed",
    "completed_with_errors": "Completed with errors",
    "failed": "Failed", "cancelled": "Cancelled",
    "sending": "Sending", "queued": "Accepted by Twilio", "sent": "Sent", "delivered": "Delivered",
    "undelivered": "Undelivered", "invalid": "Invalid", "opted_out": "Opted out",
}
CHART_ORDER = ("delivered", "sent", "queued", "sending", "pending", "undelivered", "failed", "invalid",
               "opted_out", "cancelled")
ACTIONS = {
    "cancel": ("Cancel batch", frozenset({"draft", "awaiting_approval", "scheduled", "pending", "processing",
                                          "paused"})),
    "resume": ("Resume", frozenset({"paused"})),
    "retry": ("Retry failed", frozenset({"completed_with_errors", "failed"})),
}
"""Buttons offered per batch status; the control itself still decides (and explains a refusal)."""


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def batch_row(batch: Batch, counts: BatchCounts) -> dict:
    """One history row; also the JSON the page polls."""
    body = batch.body if len(batch.body) <= 80 else batch.body[:79] + "…"
    return {
        "id": batch.id, "status": batch.status, "status_label": label(batch.status),
        "finished": batch.status in FINISHED, "body_preview": body, "error": batch.error or "",
        "created_at": when(batch.created_at), "created_by": batch.created_by,
        "total": counts.total, "success": counts.success, "failure": counts.failure,
        "invalid": counts.invalid, "delivered": counts.delivered, "undelivered": counts.undelivered,
        "pending": counts.pending,
        "opted_out": counts.by_status.get("opted_out", 0),
        "cancelled": counts.by_status.get("cancelled", 0),
    }


def recipient_row(recipient: Recipient) -> dict:
    error = recipient.error_message or ""
    if recipient.error_code:
        error = f"{recipient.error_code}: {error}".rstrip(": ")
    return {
        "number": recipient.number_normalized, "written_as": recipient.number_raw, "status": recipient.status,
        "status_label": label(recipient.status), "error": error, "sent_at": when(recipient.sent_at),
        "updated_at": when(recipient.updated_at),
    }


def actions_for(status: str, counts: BatchCounts) -> list[tuple[str, str]]:
    offered = [(name, text) for name, (text, allowed) in ACTIONS.items() if status in allowed]
    return [(name, text) for name, text in offered if name != "retry" or counts.failure]


def sender_choices(settings: Settings) -> list[tuple[str, str]]:
    """(value, label) pairs; offered only when both a Messaging Service and a From number exist."""
    service, number = settings.twilio_messaging_service_sid, settings.twilio_default_from
    if not (service and number):
        return []
    return [(service, f"Messaging Service {service}"), (number, f"Number {number}")]


@dataclass(frozen=True)
class Bar:
    status: str
    label: str
    count: int
    y: int
    width: float
    """Percent of the chart width."""


BAR_HEIGHT = 26


def status_bars(counts: BatchCounts) -> list[Bar]:
    """Horizontal bars, one per status present, widths relative to the batch size."""
    total = counts.total or 1
    present = [s for s in CHART_ORDER if counts.by_status.get(s)] + sorted(
        s for s in counts.by_status if s not in CHART_ORDER and counts.by_status[s])
    return [Bar(s, label(s), counts.by_status[s], i * BAR_HEIGHT, round(100 * counts.by_status[s] / total, 2))
            for i, s in enumerate(present)]


def progress_points(recipients: list[Recipient], start: datetime | None, *, width: int = 600,
                    height: int = 160) -> dict | None:
    """A step line of messages handed to Twilio over time (from each recipient's `sent_at`).

    Returns SVG coordinates plus the axis text, or None before anything was sent.
    """
    times = sorted(r.sent_at for r in recipients if r.sent_at)
    if not times:
        return None
    start = min(start or times[0], times[0])
    span = max((times[-1] - start).total_seconds(), 0.001)
    total = len(recipients) or 1
    points, done = [(0.0, float(height))], 0
    for moment in times:
        x = round(width * (moment - start).total_seconds() / span, 1)
        points.append((x, points[-1][1]))
        done += 1
        points.append((x, round(height - height * done / total, 1)))
    points.append((float(width), points[-1][1]))
    return {
        "points": " ".join(f"{x},{y}" for x, y in points), "width": width, "height": height,
        "sent": done, "total": len(recipients), "seconds": round(span, 1),
        "start": when(start), "end": when(times[-1]),
    }


def digest_row(reminder: Reminder, runs: list[ReminderRun], carried: dict[int, list[DigestItem]]) -> dict:
    """A digest for the Digests tab: its schedule and sources, and each recent run with what it carried."""
    sources = read_sources(reminder.body)
    return {"id": reminder.id, "schedule": f"{describe(reminder.cron)} ({reminder.timezone})",
            "paused": reminder.paused, "next_run_at": reminder.next_run_at, "feeds": sources.feeds,
            "topics": sources.topics, "text": sources.text,
            "runs": [{"run": run, "carried": carried.get(run.id, []), "errors": run.source_errors or {}}
                     for run in runs]}
