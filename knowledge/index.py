"""The FAISS index of the knowledge base: built from the database, kept under KNOWLEDGE_DIR, signed.

LangChain's FAISS store is a pickle, and unpickling runs code. So the app only loads files it
wrote itself: `manifest.json` carries an HMAC (keyed by a secret from the settings) over its
content, and the content carries the SHA-256 of the index bytes. Both are checked in memory and
the index is deserialized from that same memory, so nothing can swap the file in between. A file
that fails the check is never unpickled: `load` raises `UntrustedIndex`; `ensure_current` logs it
and rebuilds from the database. There is deliberately no way to import an index file.

Each process keeps its own copy (dynos do not share disks). The `knowledge_documents` table is
the truth; a document is embedded again only when its content hash changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from langchain_openai import OpenAIEmbeddings

from knowledge.documents import split
from multisms import knowledge
from multisms.config import Settings
from multisms.db import session_scope

with warnings.catch_warnings():  # langchain-community announces its sunset on import; FAISS still lives there
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss.pkl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
FORMAT = 1
EMBED_BATCH = 64
"""Chunks per embeddings request."""
SIGNING_CONTEXT = b"multisms knowledge index v1"

Progress = Callable[[int, int], None]
"""`progress(chunks_embedded, chunks_to_embed)`, called after each embeddings request."""


class KnowledgeUnavailable(RuntimeError):
    """AI features are off: no OpenAI key is configured."""


class UntrustedIndex(RuntimeError):
    """Index files on disk that this app did not write (or wrote with another key): never loaded."""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: where it comes from and how close it is to the question (cosine, -1..1)."""

    document_id: int
    title: str
    chunk: int
    text: str
    score: float


@dataclass
class SyncResult:
    embedded_documents: int = 0
    embedded_chunks: int = 0
    removed_documents: int = 0
    unchanged_documents: int = 0
    chunk_counts: dict[int, int] = field(default_factory=dict)
    """Chunks per (re-)embedded document, to show in `kb list`."""


@dataclass
class KnowledgeIndex:
    store: FAISS | None
    documents: dict[int, dict]
    """Document id → {"hash", "title", "chunks"} of what the store holds."""
    model: str

    def search(self, query: str, k: int) -> list[Hit]:
        """The `k` chunks closest to `query`, best first (one embeddings request)."""
        if self.store is None or not query.strip():
            return []
        found = self.store.similarity_search_with_score(query, k=k)
        return [_hit(doc, score) for doc, score in found]

    def search_among(self, query: str, k: int, document_ids: set[int]) -> list[Hit]:
        """Like `search`, within these documents only (every chunk is compared, not just the top few)."""
        if self.store is None or not query.strip() or not document_ids:
            return []
        found = self.store.similarity_search_with_score(query, k=k, fetch_k=self.store.index.ntotal,
                                                        filter=lambda metadata: metadata["document_id"] in document_ids)
        return [_hit(doc, score) for doc, score in found]


def _hit(doc, score) -> Hit:
    return Hit(document_id=doc.metadata["document_id"], title=doc.metadata["title"], chunk=doc.metadata["chunk"],
               text=doc.page_content, score=float(score))


def require_ai(settings: Settings) -> None:
    if not settings.openai_api_key:
        raise KnowledgeUnavailable("AI answers need an OpenAI key: set OPENAI_API_KEY. Everything else works.")


def embeddings(settings: Settings) -> OpenAIEmbeddings:
    """`check_embedding_ctx_length=False`: otherwise tiktoken downloads a vocabulary (fails offline)."""
    require_ai(settings)
    return OpenAIEmbeddings(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                            model=settings.openai_embedding_model, check_embedding_ctx_length=False,
                            timeout=30, max_retries=2)


def signing_key(settings: Settings) -> bytes:
    """KNOWLEDGE_INDEX_KEY, else SECRET_KEY, else OPENAI_API_KEY (present whenever AI is on), derived once more."""
    secret = settings.knowledge_index_key or settings.secret_key or settings.openai_api_key
    if not secret:
        raise KnowledgeUnavailable("AI answers need an OpenAI key: set OPENAI_API_KEY. Everything else works.")
    return hmac.new(secret.encode(), SIGNING_CONTEXT, hashlib.sha256).digest()


def load(settings: Settings) -> KnowledgeIndex:
    """The index on disk, or an empty one when there is none; raises `UntrustedIndex` if not ours."""
    folder = Path(settings.knowledge_dir)
    if not (folder / MANIFEST_FILE).exists():
        if (folder / INDEX_FILE).exists():
            raise UntrustedIndex(f"{folder / INDEX_FILE} has no signed manifest next to it; it was not "
                                 "written by this app and will not be loaded.")
        return KnowledgeIndex(None, {}, settings.openai_embedding_model)
    body = _verified_manifest(settings, folder)
    return _load_store(settings, folder, body)


def save(settings: Settings, index: KnowledgeIndex) -> None:
    """Write the index bytes, then the signed manifest that vouches for them (each file replaced atomically)."""
    folder = Path(settings.knowledge_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = index.store.serialize_to_bytes() if index.store is not None else None
    body = {"format": FORMAT, "embedding_model": index.model,
            "index_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
            "documents": {str(doc_id): entry for doc_id, entry in sorted(index.documents.items())}}
    if data is not None:
        _write(folder / INDEX_FILE, data)
    elif (folder / INDEX_FILE).exists():
        (folder / INDEX_FILE).unlink()
    manifest = {"body": body, "hmac": _sign(settings, body)}
    _write(folder / MANIFEST_FILE, json.dumps(manifest, indent=1).encode())
    _cache[str(folder.resolve())] = (manifest["hmac"], index)


def sync(settings: Settings, index: KnowledgeIndex, wanted: dict[int, str],
         texts: Callable[[set[int]], list[tuple[int, str, str, str]]], progress: Progress | None = None) -> SyncResult:
    """Make `index` hold exactly the documents in `wanted` (id → content hash), embedding only what changed.

    `texts(ids)` returns (id, title, text, content hash) for the documents to embed.
    """
    if index.model != settings.openai_embedding_model:
        log.info("embedding model changed (%s → %s): re-embedding every document",
                 index.model, settings.openai_embedding_model)
        index.store, index.documents, index.model = None, {}, settings.openai_embedding_model
    stale = [doc_id for doc_id, entry in index.documents.items() if wanted.get(doc_id) != entry["hash"]]
    todo = {doc_id for doc_id, digest in wanted.items() if index.documents.get(doc_id, {}).get("hash") != digest}
    result = SyncResult(removed_documents=len([d for d in stale if d not in wanted]),
                        unchanged_documents=len(wanted) - len(todo))
    _drop(index, stale)
    fetched = texts(todo)
    chunks = [(doc_id, title, number, text)
              for doc_id, title, body, _ in fetched
              for number, text in enumerate(split(body), start=1)]
    _embed(settings, index, chunks, progress)
    counts = {doc_id: 0 for doc_id, _, _, _ in fetched}
    for doc_id, _, number, _ in chunks:
        counts[doc_id] = max(counts[doc_id], number)
    for doc_id, title, _, digest in fetched:  # the hash of the text embedded, even if it changed meanwhile
        index.documents[doc_id] = {"hash": digest, "title": title, "chunks": counts[doc_id]}
    result.embedded_documents, result.embedded_chunks, result.chunk_counts = len(fetched), len(chunks), counts
    return result


def ensure_current(settings: Settings, progress: Progress | None = None) -> tuple[KnowledgeIndex, SyncResult]:
    """The index, brought up to date with the database (and saved) if it was not. Safe across processes."""
    require_ai(settings)
    with _locked(Path(settings.knowledge_dir)):
        try:
            index = _cached_or_load(settings)
        except UntrustedIndex as exc:
            log.error("refusing the knowledge index on disk (%s); rebuilding it from the database", exc)
            index = KnowledgeIndex(None, {}, settings.openai_embedding_model)
        with session_scope(settings.database_url) as session:
            wanted = knowledge.fingerprint(session)
        have = {doc_id: entry["hash"] for doc_id, entry in index.documents.items()}
        if have == wanted and index.model == settings.openai_embedding_model:
            return index, SyncResult(unchanged_documents=len(wanted))
        try:
            result = sync(settings, index, wanted, lambda ids: _texts(settings, ids), progress)
        except BaseException:
            _cache.pop(str(Path(settings.knowledge_dir).resolve()), None)  # half-synced: reload from disk next time
            raise
        save(settings, index)
    with session_scope(settings.database_url) as session:
        knowledge.set_chunk_counts(session, result.chunk_counts)
    return index, result


# --- internals ----------------------------------------------------------------------------------

_cache: dict[str, tuple[str, KnowledgeIndex]] = {}
"""Folder → (manifest HMAC, index) of the last load or save in this process: no re-unpickling per question."""


def _cached_or_load(settings: Settings) -> KnowledgeIndex:
    folder = Path(settings.knowledge_dir)
    cached = _cache.get(str(folder.resolve()))
    if cached and (folder / MANIFEST_FILE).exists():
        manifest = json.loads((folder / MANIFEST_FILE).read_bytes())
        if hmac.compare_digest(str(manifest.get("hmac", "")), cached[0]):
            _verified_manifest(settings, folder)  # the key may have changed since
            return cached[1]
    return load(settings)


def _verified_manifest(settings: Settings, folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_bytes())
        body, signature = manifest["body"], str(manifest["hmac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UntrustedIndex(f"{folder / MANIFEST_FILE} is not a manifest this app wrote ({exc}).") from exc
    if not hmac.compare_digest(_sign(settings, body), signature):
        raise UntrustedIndex(f"{folder / MANIFEST_FILE} is not signed with this app's key (KNOWLEDGE_INDEX_KEY / "
                             "SECRET_KEY / OPENAI_API_KEY); it was written elsewhere or changed.")
    if body.get("format") != FORMAT:
        raise UntrustedIndex(f"{folder / MANIFEST_FILE} has format {body.get('format')!r}, expected {FORMAT}.")
    return body


def _load_store(settings: Settings, folder: Path, body: dict) -> KnowledgeIndex:
    documents = {int(doc_id): entry for doc_id, entry in body["documents"].items()}
    expected = body.get("index_sha256")
    if expected is None:
        return KnowledgeIndex(None, documents, body["embedding_model"])
    try:
        data = (folder / INDEX_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise UntrustedIndex(f"{folder / INDEX_FILE} is missing although the manifest lists it.") from exc
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), str(expected)):
        raise UntrustedIndex(f"{folder / INDEX_FILE} is not the file this app wrote (its checksum differs); "
                             "it was not loaded.")
    # Safe: these exact bytes were written by this app (HMAC-signed checksum verified just above).
    store = FAISS.deserialize_from_bytes(data, embeddings(settings), allow_dangerous_deserialization=True,
                                         distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    index = KnowledgeIndex(store, documents, body["embedding_model"])
    _cache[str(folder.resolve())] = (_sign(settings, body), index)
    return index


def _drop(index: KnowledgeIndex, doc_ids: list[int]) -> None:
    ids = [f"{doc_id}-{n}" for doc_id in doc_ids for n in range(1, index.documents[doc_id]["chunks"] + 1)]
    for doc_id in doc_ids:
        del index.documents[doc_id]
    if ids and index.store is not None:
        index.store.delete(ids)
    if index.store is not None and not index.documents:
        index.store = None


def _embed(settings: Settings, index: KnowledgeIndex, chunks: list[tuple[int, str, int, str]],
           progress: Progress | None) -> None:
    if not chunks:
        return
    embedder = embeddings(settings)
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start:start + EMBED_BATCH]
        texts = [text for _, _, _, text in batch]
        vectors = embedder.embed_documents(texts)
        metadatas = [{"document_id": doc_id, "title": title, "chunk": number} for doc_id, title, number, _ in batch]
        ids = [f"{doc_id}-{number}" for doc_id, _, number, _ in batch]
        if index.store is None:
            index.store = FAISS.from_embeddings(list(zip(texts, vectors, strict=True)), embedder,
                                                metadatas=metadatas, ids=ids,
                                                distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
        else:
            index.store.add_embeddings(list(zip(texts, vectors, strict=True)), metadatas=metadatas, ids=ids)
        if progress:
            progress(start + len(batch), len(chunks))


def _texts(settings: Settings, ids: set[int]) -> list[tuple[int, str, str, str]]:
    with session_scope(settings.database_url) as session:
        return [(doc.id, doc.title, doc.text, doc.content_hash) for doc in knowledge.documents(session, ids)]


def _sign(settings: Settings, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(signing_key(settings), canonical, hashlib.sha256).hexdigest()


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time among the processes sharing this disk (web and workers on one machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
