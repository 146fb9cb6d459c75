"""A contacts CSV between its preview and Confirm: held in Redis for a while, taken once.

Slack and the web panel preview an import (a dry run) and import only on Confirm. The file
waits here in between, compressed, so Confirm imports exactly the bytes that were previewed
without fetching or uploading them again. A draft lives DRAFT_SECONDS and belongs to whoever
previewed it; taking it deletes it, so a double click imports once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from redis import Redis

from multisms.errors import NotAllowed, NotFound

DRAFT_SECONDS = 1800
"""Half an hour to read a preview and confirm it; then the file is gone from Redis."""
_SEQUENCE = "multisms:contact-import:sequence"
_EXPIRED = "Import preview #{} has expired or was already imported: preview the file again."


@dataclass(frozen=True)
class ImportDraft:
    """A previewed file waiting for Confirm."""

    id: int
    list_name: str
    data: bytes
    owner: str
    """Who previewed it (`slack:U1`, `panel`): the only one who may confirm it."""
    filename: str


def hold(connection: Redis, *, list_name: str, data: bytes, owner: str, filename: str = "") -> int:
    """Keep a previewed file until Confirm; returns the draft's id (a Confirm button's value)."""
    draft_id = int(connection.incr(_SEQUENCE))
    key = _key(draft_id)
    with connection.pipeline() as pipe:
        pipe.hset(key, mapping={"list": list_name, "owner": owner, "filename": filename,
                                "data": zlib.compress(data)})
        pipe.expire(key, DRAFT_SECONDS)
        pipe.execute()
    return draft_id


def take(connection: Redis, draft_id: int, owner: str) -> ImportDraft:
    """The draft, removed so nobody imports it twice.

    Raises `NotFound` when it expired or was taken already, `NotAllowed` when it is someone else's.
    """
    draft = _read(connection, draft_id, owner)
    if not connection.delete(_key(draft_id)):  # a second click got here first
        raise NotFound(_EXPIRED.format(draft_id))
    return draft


def drop(connection: Redis, draft_id: int, owner: str) -> None:
    """Forget a previewed file (Cancel); raises like `take`."""
    take(connection, draft_id, owner)


def _read(connection: Redis, draft_id: int, owner: str) -> ImportDraft:
    stored = connection.hgetall(_key(draft_id))
    if not stored:
        raise NotFound(_EXPIRED.format(draft_id))
    if stored[b"owner"].decode() != owner:
        raise NotAllowed(f"Only the person who previewed import #{draft_id} can confirm or cancel it.")
    return ImportDraft(draft_id, stored[b"list"].decode(), zlib.decompress(stored[b"data"]), owner,
                       stored[b"filename"].decode())


def _key(draft_id: int) -> str:
    return f"multisms:contact-import:{draft_id}"
