"""The Slack stand-in's file uploads, as Slack documents them (mixed into `SlackStandIn`).

Uploads follow Slack's three steps (what ``files_upload_v2`` does):
``files.getUploadURLExternal`` (``filename`` and ``length`` required) gives an
upload URL and a file id; the bytes are POSTed to that URL; then
``files.completeUploadExternal`` (once per file) shares them.  Like Slack,
``channel_id`` takes only conversation ids (C…, G…, D…, Z…), never a user id:
a DM needs ``conversations.open`` first.  (Slack also wants 9+ characters;
the stand-in accepts the tests' short ids such as ``C1``.)  A file completed
without a channel stays private.  ``uploads()`` lists what was shared.
"""
from __future__ import annotations

import json
import re
import uuid

from .server import Response, text_response

_CONVERSATION_ID = re.compile(r"^[CGDZ][A-Z0-9]+$")
_CONVERSATION_ID_RULE = "input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"


class SlackUploads:
    """Needs the stand-in's `lock`, `_uploads`, `_shared`, `_messages`, `root_url`, ids and `_fail`."""

    def uploads(self, channel: str | None = None) -> list[dict]:
        """Files completed with files.completeUploadExternal, in order: id, filename, title, content,
        channel (None: private), thread_ts, initial_comment."""
        with self.lock:
            return [dict(f) for f in self._shared if channel is None or f["channel"] == channel]

    def dm_channel(self, user_id: str) -> str:
        """The DM conversation id conversations.open gives for this user."""
        return "D" + user_id.lstrip("UW")

    def _receive_upload(self, file_id: str, content: bytes) -> Response:
        """Step 2 of an upload: the bytes, POSTed to the URL step 1 gave (no token needed, as at Slack)."""
        with self.lock:
            pending = self._uploads.get(file_id)
            if pending is None:
                return text_response("upload url not found", 404)
            pending["content"] = content
        return text_response(f"OK - {len(content)}")

    def _m_conversations_open(self, b: dict) -> dict:
        users = [u for u in (b.get("users") or "").split(",") if u]
        if not users:
            return self._fail("users_list_not_supplied")
        if len(users) > 1:
            return self._fail("not_implemented")  # group DMs: not needed by this app
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

    def _m_files_getUploadURLExternal(self, b: dict) -> dict:
        length = str(b.get("length") or "")
        if not b.get("filename") or not length.isdigit() or int(length) == 0:
            missing = "filename" if not b.get("filename") else "length"
            return self._fail("invalid_arguments", [f"missing required field: {missing}"])
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        with self.lock:
            self._uploads[file_id] = {"filename": b["filename"], "length": int(length), "content": None}
        return {"ok": True, "upload_url": f"{self.root_url}/upload/v1/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, b: dict) -> dict:
        try:
            files = json.loads(b["files"]) if isinstance(b.get("files"), str) else b.get("files")
        except ValueError:
            files = None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            return self._fail("invalid_arguments", ["must provide files with an id [json-pointer:/files]"])
        channel = b.get("channel_id") or None
        if channel and not _CONVERSATION_ID.match(channel):
            return self._fail("invalid_arguments", [_CONVERSATION_ID_RULE])
        if b.get("thread_ts") and not channel:
            return self._fail("invalid_arguments", ["thread_ts needs exactly one channel"])
        with self.lock:
            if any((self._uploads.get(f["id"]) or {}).get("content") is None for f in files):
                return self._fail("file_not_found")  # never started, never uploaded, or completed already
            done = [self._share(f, self._uploads.pop(f["id"]), channel, b) for f in files]
        if channel:
            self._post_share(channel, b, done)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in done]}

    def _share(self, wanted: dict, upload: dict, channel: str | None, b: dict) -> dict:
        shared = {"id": wanted["id"], "filename": upload["filename"], "title": wanted.get("title") or
                  upload["filename"], "content": upload["content"], "channel": channel,
                  "thread_ts": b.get("thread_ts"), "initial_comment": b.get("initial_comment")}
        self._shared.append(shared)
        return shared

    def _post_share(self, channel: str, b: dict, done: list[dict]) -> None:
        """Slack shares files as a message from the bot in the channel (or thread)."""
        ts = self.next_ts()
        msg = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "team": self.team_id,
               "text": b.get("initial_comment") or "", "ts": ts,
               "files": [{"id": f["id"], "name": f["filename"], "title": f["title"]} for f in done]}
        if b.get("thread_ts"):
            msg["thread_ts"] = b["thread_ts"]
        with self.lock:
            self._messages[(channel, ts)] = msg
