"""The REST API's reminder and digest runs: each draft with its length and what it was written from.

Kept apart from `webhooks.api.models` (which has the reminder itself and its `DigestSources`)
only so each module stays short; both feed the same OpenAPI document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from multisms import models as rows
from multisms.segments import analyze
from webhooks.api.models import Batch, Timestamp


class DigestItem(BaseModel):
    """A news item or knowledge document a digest was written from."""

    title: str
    link: str | None
    published: Timestamp | None = Field(description="the feed's date; a document's last change")
    source: Literal["feed", "kb"]
    origin: str = Field(description="the feed's address or the knowledge-base topic")

    @classmethod
    def of(cls, row: rows.DigestItem) -> DigestItem:
        return cls.model_validate(row, from_attributes=True)


class DigestDraft(BaseModel):
    """One run of a digest (or reminder): the AI's text, waiting for (or past) a person's decision."""

    id: int
    reminder_id: int
    occurrence_at: Timestamp
    status: Literal["drafting", "awaiting_approval", "approved", "dropped", "expired", "failed", "nothing_new",
                    "sent", "missed"]
    body: str | None
    segments: int | None = Field(description="SMS segments of the text, per number")
    items: list[DigestItem] = Field(description="what the text was written from: new since the last digest")
    source_errors: dict[str, str] | None = Field(description="`feed:<address>` or `kb:<topic>` → why it could "
                                                             "not be read at this run")
    batch_id: int | None
    error: str | None
    deadline_at: Timestamp | None
    decided_by: str | None

    @classmethod
    def of(cls, row: rows.ReminderRun, items: list[rows.DigestItem] = ()) -> DigestDraft:
        return cls(id=row.id, reminder_id=row.reminder_id, occurrence_at=row.occurrence_at, status=row.status,
                   body=row.body, segments=analyze(row.body).segments if row.body else None,
                   items=[DigestItem.of(item) for item in items], source_errors=row.source_errors,
                   batch_id=row.batch_id, error=row.error, deadline_at=row.deadline_at, decided_by=row.decided_by)


class OneDraft(BaseModel):
    draft: DigestDraft


class DraftList(BaseModel):
    items: list[DigestDraft]
    count: int


class ApprovedDraft(BaseModel):
    draft: DigestDraft
    batch: Batch
