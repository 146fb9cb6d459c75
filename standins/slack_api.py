"""Slack Web API stand-in: ``/api/<method>``, response_url and private file downloads.

Why: the bot must be tested through the real ``slack_sdk`` / ``slack_bolt``
clients, including Slack's own refusals (invalid_blocks, ratelimited/429).

Pointing the real SDK at it::

    WebClient(token="xoxb-test", base_url=standin.api_url)   # api_url ends with "/api/"

``slack_sdk`` appends a missing trailing slash to ``base_url``, then uses
``urljoin(base_url, method)``; code that joins by hand needs the slash that
``api_url`` already has.  slack_sdk sends every call as POST (JSON for
chat.*/views.*, form for the rest, even for methods documented as GET); all
three (JSON, form, GET query) are accepted.  slack_bolt's ``App(token=...)``
calls auth.test on slack.com at construction: pass
``client=WebClient(base_url=standin.api_url, token=...)`` instead.
Like Slack, errors are HTTP 200 with ``ok: false`` except 429 and, when armed with
``server_error_next``, the 5xx HTML page of an outage.  Every call is
recorded, rate-limited ones included (so retries are visible).  File
downloads without ``Authorization: Bearer`` get a 200 HTML login page, which
is what real Slack does instead of an error.

Uploads (``files_upload_v2``'s three steps, ``conversations.open``) are in ``slack_uploads``.

Reactions (``reactions.add`` / ``reactions.remove``) are the bot's own, on a stored
message: one it posted, or a person's message a test put there with ``add_message``
(people's messages reach the app as events, never through the API). As Slack documents,
adding one the bot already added answers ``already_reacted``, removing one it has not
added ``no_reaction``, and an unknown message ``message_not_found``.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from .server import Request, Response, StandIn, json_response, text_response
from .slack_uploads import SlackUploads

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")  # JSON strings when form-encoded
_EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]+$")  # as Slack names them, without colons
_SERVER_ERROR_PAGE = "<html><head><title>Server Error</title></head><body>Internal Server Error</body></html>"
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


def _block_errors(blocks: Any) -> list[str]:
    """A subset of Slack's block validation, worded like Slack's response_metadata."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    if len(blocks) > 50:
        return ["no more than 50 items allowed [json-pointer:/blocks]"]
    errors = []
    for i, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text", "") if isinstance(block, dict) else ""
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "section" and len(text) > 3000:
            errors.append(f"must be less than 3001 characters [json-pointer:/blocks/{i}/text/text]")
        if kind == "section" and len(block.get("fields") or []) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:/blocks/{i}/fields]")
        if kind == "header" and len(text) > 150:
            errors.append(f"must be less than 151 characters [json-pointer:/blocks/{i}/text/text]")
    return errors


class SlackStandIn(SlackUploads, StandIn):
    """Local Slack Web API; see module docstring for wiring and semantics."""

    def __init__(self, latency: float = 0.0, team_id: str = "T1", bot_user_id: str = "UBOT",
                 bot_id: str = "BBOT"):
        super().__init__(latency)
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self._ts_lock = threading.Lock()
        self._ts = 100
        self._init_state()

    def _init_state(self) -> None:
        self.api_calls: list[dict] = []  # {"method", "body", "token"} in arrival order
        self._responses: list[tuple[str, Any]] = []
        self._messages: dict[tuple[str, str], dict] = {}
        self._views: dict[str, dict] = {}
        self._users: dict[str, dict] = {}
        self._channels: dict[str, dict] = {}
        self._files: dict[str, dict] = {}
        self._uploads: dict[str, dict] = {}  # file id → upload under way (getUploadURLExternal, not completed)
        self._shared: list[dict] = []

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._init_state()

    @property
    def api_url(self) -> str:
        """Give this to ``slack_sdk.WebClient(base_url=...)`` / ``slack_bolt.App(client=...)``."""
        return self.root_url + "/api/"

    # -- test helpers -------------------------------------------------------
    def rate_limit_next(self, method: str, n: int = 1, retry_after: int = 1) -> None:
        self.arm("ratelimit:" + method, n, retry_after=retry_after)

    def server_error_next(self, method: str, n: int = 1, status: int = 500) -> None:
        """The next `n` calls of `method` fail as Slack's edge does when a backend is down: an HTML
        page with a 5xx status, no JSON (slack_sdk raises SlackApiError and does not retry it)."""
        self.arm("servererror:" + method, n, status=status)

    def response_url(self, name: str = "r1") -> str:
        return f"{self.root_url}/response/{name}"

    def responses(self, name: str | None = None) -> list:
        with self.lock:
            return [body for n, body in self._responses if name is None or n == name]

    def calls(self, method: str | None = None) -> list[dict]:
        """Parsed request bodies (JSON-string fields decoded), in order."""
        with self.lock:
            return [c["body"] for c in self.api_calls if method is None or c["method"] == method]

    def count(self, method: str) -> int:
        return len(self.calls(method))

    def messages(self, channel: str | None = None) -> list[dict]:
        """Messages currently stored (posted, then possibly updated), ordered by ts."""
        with self.lock:
            found = [m for (c, _), m in self._messages.items() if channel is None or c == channel]
        return sorted(found, key=lambda m: m["ts"])

    def add_user(self, user_id: str, **fields) -> None:
        with self.lock:
            self._users[user_id] = fields

    def add_channel(self, channel_id: str, **fields) -> None:
        with self.lock:
            self._channels[channel_id] = fields

    def add_file(self, file_id: str, name: str, content: bytes, mimetype: str = "application/octet-stream",
                 download_url: str | None = None) -> dict:
        """A file `files.info` describes; `download_url` replaces its `url_private(_download)` (a test of
        what a client does with a link that does not point at Slack's file host)."""
        base = f"{self.root_url}/files-pri/{self.team_id}-{file_id}"
        info = {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary", "size": len(content),
                "url_private": download_url or f"{base}/{name}",
                "url_private_download": download_url or f"{base}/download/{name}",
                "user": "U1", "is_external": False}
        with self.lock:
            self._files[file_id] = {"info": info, "content": content}
        return info

    def add_message(self, channel: str, text: str, *, user: str = "U1", thread_ts: str | None = None,
                    ts: str | None = None) -> str:
        """A person's message, as if they had typed it in Slack (so the app can react to it); returns its ts."""
        ts = ts or self.next_ts()
        msg = {"type": "message", "user": user, "team": self.team_id, "text": text, "ts": ts}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        with self.lock:
            self._messages[(channel, ts)] = msg
        return ts

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Names of the reactions on a stored message, in the order they were added."""
        with self.lock:
            msg = self._messages.get((channel, ts)) or {}
            return [r["name"] for r in msg.get("reactions", [])]

    def next_ts(self) -> str:
        with self._ts_lock:
            self._ts += 1
            n = self._ts
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    # -- HTTP ---------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/api/"):
            return self._api(req, req.path[len("/api/"):])
        if req.path.startswith("/response/") and req.method == "POST":
            body = req.json if req.json is not None else req.form
            with self.lock:
                self._responses.append((req.path[len("/response/"):], body))
            errors = _block_errors(body["blocks"]) if isinstance(body, dict) and "blocks" in body else []
            return text_response("invalid_blocks", 400) if errors else text_response("ok")
        if req.path.startswith("/files-pri/") and req.method in ("GET", "HEAD"):
            return self._download(req)
        if req.path.startswith("/upload/v1/") and req.method == "POST":
            return self._receive_upload(req.path.rsplit("/", 1)[-1], req.body)
        return text_response("not found", 404)

    def _download(self, req: Request) -> Response:
        if not (req.header("authorization") or "").startswith("Bearer "):
            return text_response(_LOGIN_PAGE, 200, "text/html; charset=utf-8")
        file_id = req.path.split("/")[2].split("-", 1)[-1]
        with self.lock:
            stored = self._files.get(file_id)
        if stored is None:
            return text_response("file not found", 404)
        return Response(200, stored["content"], stored["info"]["mimetype"])

    def _api(self, req: Request, method: str) -> Response:
        body = dict(req.params)
        for key in _JSON_FIELDS:
            if isinstance(body.get(key), str) and body[key][:1] in ("[", "{"):
                body[key] = json.loads(body[key])
        auth = req.header("authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else body.pop("token", None)
        with self.lock:
            self.api_calls.append({"method": method, "body": body, "token": token})
        self.sleep(self.latency)
        limited = self.take("ratelimit:" + method)
        if limited is not None:
            return json_response({"ok": False, "error": "ratelimited"}, 429,
                                 {"Retry-After": str(limited["retry_after"])})
        broken = self.take("servererror:" + method)
        if broken is not None:
            return text_response(_SERVER_ERROR_PAGE, broken["status"], "text/html; charset=utf-8")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return json_response({"ok": False, "error": "unknown_method", "req_method": method})
        if not token:
            return json_response({"ok": False, "error": "not_authed"})
        return json_response(handler(body))

    @staticmethod
    def _fail(error: str, errors: list | None = None) -> dict:
        out: dict = {"ok": False, "error": error}
        if errors:
            out["errors"] = errors
            out["response_metadata"] = {"messages": ["[ERROR] " + e for e in errors]}
        return out

    def _message_problem(self, b: dict, need_content: bool = True) -> dict | None:
        if not b.get("channel"):
            return self._fail("channel_not_found")
        if need_content and not (b.get("text") or b.get("blocks") or b.get("attachments")):
            return self._fail("no_text")
        if len(b.get("text") or "") > 40000:
            return self._fail("msg_too_long")
        errors = _block_errors(b["blocks"]) if "blocks" in b else []
        return self._fail("invalid_blocks", errors) if errors else None

    # -- API methods (each takes the parsed body, returns the JSON answer) ------
    def _m_auth_test(self, b: dict) -> dict:
        return {"ok": True, "url": "https://standin.slack.com/", "team": "Stand-in", "user": "bot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _m_chat_postMessage(self, b: dict) -> dict:
        problem = self._message_problem(b)
        if problem:
            return problem
        ts = self.next_ts()
        msg = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "team": self.team_id,
               "text": b.get("text", ""), "ts": ts}
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in b:
                msg[key] = b[key]
        with self.lock:
            self._messages[(b["channel"], ts)] = msg
        return {"ok": True, "channel": b["channel"], "ts": ts, "message": msg}

    def _m_chat_update(self, b: dict) -> dict:
        problem = self._message_problem(b, need_content=False)
        if problem:
            return problem
        with self.lock:
            msg = self._messages.get((b["channel"], b.get("ts", "")))
            if msg is None:
                return self._fail("message_not_found")
            msg.update({k: b[k] for k in ("text", "blocks", "attachments") if k in b})
            msg["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
            return {"ok": True, "channel": b["channel"], "ts": msg["ts"], "text": msg["text"], "message": dict(msg)}

    def _reaction_target(self, b: dict) -> tuple[dict | None, dict | None]:
        """(the message, None) or (None, the error answer) for reactions.add / reactions.remove."""
        if not (b.get("channel") and b.get("timestamp")):
            return None, self._fail("no_item_specified")
        if not _EMOJI_NAME.match(b.get("name") or ""):
            return None, self._fail("invalid_name")
        msg = self._messages.get((b["channel"], b["timestamp"]))
        return (msg, None) if msg is not None else (None, self._fail("message_not_found"))

    def _m_reactions_add(self, b: dict) -> dict:
        with self.lock:
            msg, problem = self._reaction_target(b)
            if problem:
                return problem
            reactions = msg.setdefault("reactions", [])
            if any(r["name"] == b["name"] for r in reactions):
                return self._fail("already_reacted")
            reactions.append({"name": b["name"], "users": [self.bot_user_id], "count": 1})
        return {"ok": True}

    def _m_reactions_remove(self, b: dict) -> dict:
        with self.lock:
            msg, problem = self._reaction_target(b)
            if problem:
                return problem
            kept = [r for r in msg.get("reactions", []) if r["name"] != b["name"]]
            if len(kept) == len(msg.get("reactions", [])):
                return self._fail("no_reaction")
            msg["reactions"] = kept
        return {"ok": True}

    def _m_chat_postEphemeral(self, b: dict) -> dict:
        if not b.get("user"):
            return self._fail("user_not_in_channel")
        return self._message_problem(b) or {"ok": True, "message_ts": self.next_ts()}

    def _view(self, view: Any, view_id: str | None = None) -> dict:
        if not isinstance(view, dict):
            return self._fail("invalid_arguments")
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        out = {"id": view_id, "team_id": self.team_id, "state": {"values": {}}, "hash": uuid.uuid4().hex,
               "private_metadata": "", "callback_id": "", "external_id": "", "app_id": "A1",
               "bot_id": self.bot_id, **view}
        with self.lock:
            self._views[view_id] = out
        return {"ok": True, "view": out}

    def _m_views_open(self, b: dict) -> dict:
        return self._view(b.get("view")) if b.get("trigger_id") else self._fail("invalid_arguments")

    def _m_views_update(self, b: dict) -> dict:
        with self.lock:
            known = b.get("view_id") in self._views or any(
                v.get("external_id") == b.get("external_id") for v in self._views.values() if b.get("external_id"))
        return self._view(b.get("view"), b.get("view_id")) if known else self._fail("not_found")

    def _m_views_publish(self, b: dict) -> dict:
        if not b.get("user_id"):
            return self._fail("invalid_arguments")
        return self._view(b.get("view"), "VHOME" + b["user_id"])

    def _m_users_info(self, b: dict) -> dict:
        uid = b.get("user") or ""
        with self.lock:
            extra = self._users.get(uid, {})
        user = {"id": uid, "team_id": self.team_id, "name": uid.lower(), "real_name": f"User {uid}",
                "tz": "Europe/Warsaw", "tz_label": "Central European Time", "tz_offset": 3600,
                "is_bot": False, "deleted": False, "profile": {"real_name": f"User {uid}",
                                                               "display_name": uid.lower()}}
        user.update(extra)
        return {"ok": True, "user": user} if uid else self._fail("user_not_found")

    def _m_conversations_info(self, b: dict) -> dict:
        cid = b.get("channel") or ""
        if not cid:
            return self._fail("channel_not_found")
        with self.lock:
            extra = self._channels.get(cid, {})
        channel = {"id": cid, "name": cid.lower(), "is_channel": cid[0] == "C", "is_group": cid[0] == "G",
                   "is_im": cid[0] == "D", "is_private": cid[0] in "GD", "is_member": True, "is_archived": False}
        channel.update(extra)
        return {"ok": True, "channel": channel}

    def _m_conversations_replies(self, b: dict) -> dict:
        channel, ts = b.get("channel"), b.get("ts")
        thread = [m for m in self.messages(channel) if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return self._fail("thread_not_found")
        return {"ok": True, "messages": thread, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _m_files_info(self, b: dict) -> dict:
        with self.lock:
            stored = self._files.get(b.get("file") or "")
        return {"ok": True, "file": dict(stored["info"])} if stored else self._fail("file_not_found")
