"""OpenAI API stand-in: ``/v1/chat/completions`` and ``/v1/embeddings``.

Why: answers and retrieval must be tested through the real ``openai`` and
``langchain_openai`` clients (request shape, retries, errors) without network.

Pointing the real SDKs at it (any API key is accepted; the header is recorded)::

    openai.OpenAI(base_url=standin.base_url, api_key="x")            # base_url ends with /v1
    langchain_openai.ChatOpenAI(base_url=standin.base_url, api_key="x")
    langchain_openai.OpenAIEmbeddings(base_url=standin.base_url, api_key="x",
                                      check_embedding_ctx_length=False)

The openai SDK (>=1.x) asks for ``encoding_format="base64"`` unless the caller
passes one, and decodes little-endian float32; both formats are served.
``check_embedding_ctx_length=True`` would make langchain send token-id lists
(and tiktoken download its vocabulary); token lists are embedded too.
The SDK retries 429/5xx itself (``max_retries=2`` by default, honouring
``retry-after``/``retry-after-ms``); use ``max_retries=0`` to see the error.

Embeddings are a hashed bag of lowercase word tokens (``dim`` buckets,
L2-normalised), so texts that share words are close: FAISS retrieval in tests
behaves meaningfully and deterministically.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import time
import uuid
from collections.abc import Callable
from typing import Any

from .server import Request, Response, StandIn, json_response

_WORD = re.compile(r"\w+", re.UNICODE)
Reply = str | dict | Callable[[dict], str | dict]


def embed(text: str | list, dim: int = 64) -> list[float]:
    """Deterministic unit vector: hashed bag of words (or of token ids)."""
    tokens = [str(t) for t in text] if isinstance(text, list) else _WORD.findall(text.lower())
    vec = [0.0] * dim
    for token in tokens:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        vec[int.from_bytes(digest, "little") % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if not norm:  # empty text: a fixed unit vector rather than NaNs downstream
        vec[0], norm = 1.0, 1.0
    return [v / norm for v in vec]


def _text_of(content: Any) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def openai_error(status: int, message: str, type_: str, code: str | None, headers=None) -> Response:
    return json_response({"error": {"message": message, "type": type_, "param": None, "code": code}},
                         status, headers)


class OpenAIStandIn(StandIn):
    """Local OpenAI API; see module docstring."""

    def __init__(self, reply: Reply = None, dim: int = 64, latency: float = 0.0):
        super().__init__(latency)
        self.reply = reply  # str, dict (assistant message) or callable(request_json) -> str | dict
        self.dim = dim
        self._init_state()

    def _init_state(self) -> None:
        self.chat_requests: list[dict] = []
        self.embedding_requests: list[dict] = []
        self.api_keys: list[str | None] = []

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._init_state()

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def rate_limit_next(self, n: int = 1, retry_after: float | None = None) -> None:
        """Next n API calls answer 429; ``retry_after`` (s) adds a ``retry-after`` header."""
        self.arm("rate_limit", n, retry_after=retry_after)

    def server_error_next(self, n: int = 1, status: int = 500) -> None:
        self.arm("server_error", n, status=status)

    # -- HTTP ---------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        routes = {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embeddings}
        route = routes.get(req.path.rstrip("/"))
        if route is None or req.method != "POST":
            return openai_error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)
        if not isinstance(req.json, dict):
            return openai_error(400, "We could not parse the JSON body of your request.",
                                "invalid_request_error", None)
        auth = req.header("authorization") or ""
        with self.lock:
            self.api_keys.append(auth[len("Bearer "):] if auth.startswith("Bearer ") else None)
            (self.chat_requests if route == self._chat else self.embedding_requests).append(req.json)
        self.sleep(self.latency)
        limited = self.take("rate_limit")
        if limited is not None:
            headers = {"retry-after": str(limited["retry_after"])} if limited["retry_after"] is not None else {}
            return openai_error(429, "Rate limit reached for requests (stand-in).", "requests",
                                "rate_limit_exceeded", headers)
        failed = self.take("server_error")
        if failed is not None:
            return openai_error(failed["status"], "The server had an error while processing your request.",
                                "server_error", None)
        return route(req.json)

    def _answer(self, body: dict) -> dict:
        reply = self.reply(body) if callable(self.reply) else self.reply
        if reply is None:
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            reply = "stand-in reply to: " + (_text_of(users[-1].get("content")) if users else "")
        message = {"role": "assistant", "content": reply} if isinstance(reply, str) else dict(reply)
        message.setdefault("role", "assistant")
        message.setdefault("content", None)
        message.setdefault("refusal", None)
        return message

    def _chat(self, body: dict) -> Response:
        if not body.get("model") or not isinstance(body.get("messages"), list):
            return openai_error(400, "'model' and 'messages' are required.", "invalid_request_error", None)
        message = self._answer(body)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        prompt = sum(len(_WORD.findall(_text_of(m.get("content")))) for m in body["messages"])
        completion = len(_WORD.findall(message.get("content") or ""))
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "created": int(time.time()), "model": body["model"],
                "system_fingerprint": "fp_standin"}
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        if body.get("stream"):
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            return self._stream(base, message, finish, usage if wants_usage else None)
        return json_response({**base, "object": "chat.completion", "usage": usage, "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]})

    @staticmethod
    def _stream(base: dict, message: dict, finish: str, usage: dict | None) -> Response:
        """SSE: one delta with the whole message, a finish chunk, usage if asked, [DONE]."""
        delta = {k: v for k, v in message.items() if k != "refusal"}
        if delta.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **tc} for i, tc in enumerate(delta["tool_calls"])]
        chunks = [{**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": f}]}
                  for d, f in ((delta, None), ({}, finish))]
        if usage is not None:
            chunks.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return Response(200, text.encode(), "text/event-stream; charset=utf-8")

    def _embeddings(self, body: dict) -> Response:
        inputs = body.get("input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            return openai_error(400, "'input' is required.", "invalid_request_error", None)
        dim = int(body.get("dimensions") or self.dim)
        as_b64 = body.get("encoding_format") == "base64"
        data, tokens = [], 0
        for i, item in enumerate(inputs):
            vec = embed(item, dim)
            tokens += len(item) if isinstance(item, list) else len(_WORD.findall(item))
            value: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode() if as_b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": value})
        return json_response({"object": "list", "data": data, "model": body.get("model", ""),
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
