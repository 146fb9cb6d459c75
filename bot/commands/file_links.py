"""Slack file links as commands take them (`kb add`, `contacts import`): the link Slack's "Copy link"
gives, or a bare file id. Only the id is kept; the worker asks Slack where the file really is."""

from __future__ import annotations

import re

_SLACK_FILE_LINK = re.compile(r"^https?://\S+?/files(?:-pri)?/[A-Z0-9]+[/-](F[A-Z0-9]{6,})(?:[/?#]\S*)?$")
_SLACK_FILE_ID = re.compile(r"^(F(?=[A-Z0-9]*\d)[A-Z0-9]{6,})$")


def slack_file_id(text: str) -> str | None:
    """`https://team.slack.com/files/U1/F0ABC123/people.csv` or `F0ABC123` → `F0ABC123`; else None."""
    found = _SLACK_FILE_LINK.match(text) or _SLACK_FILE_ID.match(text)
    return found.group(1) if found else None
