"""The FAISS index of the knowledge base: built from the database, kept under KNOWLEDGE_DIR.

Three files, none of them a pickle: `index.faiss` (faiss's own binary format: the vectors and
their ids), `chunks.json` (which document and chunk each id is, and its text) and `manifest.json`
(format version, embedding model, the documents and their content hashes, the SHA-256 of the
other two files, and a SHA-256 over its own content). Files are still never trusted blindly:
each is read into memory, checked against the manifest and parsed from that same memory.
Anything that does not match (a torn write, another format version, the pickled
`index.faiss.pkl` of earlier versions) is ignored, removed and rebuilt from the database once.
There is deliberately no way to import an index file: restore the database instead.

Each process keeps its own copy (dynos do not share disks). The `knowledge_documents` table is
the truth; a document is embedded again only when its content hash changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_openai import OpenAIEmbeddings

from knowledge.documents import split
from multisms import knowledge
from multisms.config import Settings
from multisms.db import session_scope

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
CHUNKS_FILE = "chunks.json"
MANIFEST_FILE = "manifest.json"
LEGACY_FILES = ("index.faiss.pkl",)
"""Earlier versions' LangChain pickle: never loaded, removed on the first rebuild."""
LOCK_FILE = ".lock"
FORMAT = 2
"""1 was the HMAC-signed pickle; 2 is faiss + JSON."""
EMBED_BATCH = 64
"""Chunks per embeddings request."""

Progress = Callable[[int, int], None]
"""`progress(chunks_embedded, chunks_to_embed)`, called after each embeddings request."""


class KnowledgeUnavailable(RuntimeError):
    """AI features are off: no OpenAI key is configured."""


class UnusableIndex(RuntimeError):
    """Index files on disk that do not match their manifest (or this format): never loaded, rebuilt."""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: where it comes from and how close it is to the question (cosine, -1..1)."""

    document_id: int
    title: str
    chunk: int
    text: str
    score: float


@dataclass(frozen=True)
class Chunk:
    document_id: int
    number: int
    text: str


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
    vectors: faiss.IndexIDMap2 | None
    """Unit-length vectors by chunk id: the inner product FAISS ranks by is the cosine."""
    chunks: dict[int, Chunk]
    documents: dict[int, dict]
    """Document id → {"hash", "title", "chunks"} of what the index holds."""
    model: str
    embedder: Embeddings

    def search(self, query: str, k: int) -> list[Hit]:
        """The `k` chunks closest to `query`, best first (one embeddings request)."""
        if self.vectors is None or not query.strip() or k < 1:
            return []
        scores, ids = self.vectors.search(_unit([self.embedder.embed_query(query)]), min(k, self.vectors.ntotal))
        return self._hits(scores, ids)

    def search_among(self, query: str, k: int, document_ids: set[int]) -> list[Hit]:
        """Like `search`, within these documents only: every one of their chunks is compared, so a
        better-matching chunk elsewhere cannot push them out of the `k`."""
        among = np.array([cid for cid, chunk in self.chunks.items() if chunk.document_id in document_ids],
                         dtype=np.int64)
        if self.vectors is None or not query.strip() or k < 1 or not len(among):
            return []
        only = faiss.SearchParameters(sel=faiss.IDSelectorBatch(among))
        scores, ids = self.vectors.search(_unit([self.embedder.embed_query(query)]), min(k, len(among)), params=only)
        return self._hits(scores, ids)

    def _hits(self, scores: np.ndarray, ids: np.ndarray) -> list[Hit]:
        hits = []
        for score, chunk_id in zip(scores[0], ids[0], strict=True):
            if chunk_id >= 0:
                chunk = self.chunks[int(chunk_id)]
                hits.append(Hit(document_id=chunk.document_id, title=self.documents[chunk.document_id]["title"],
                                chunk=chunk.number, text=chunk.text, score=float(score)))
        return hits


def require_ai(settings: Settings) -> None:
    if not settings.openai_api_key:
        raise KnowledgeUnavailable("AI answers need an OpenAI key: set OPENAI_API_KEY. Everything else works.")


def embeddings(settings: Settings) -> OpenAIEmbeddings:
    """`check_embedding_ctx_length=False`: otherwise tiktoken downloads a vocabulary (fails offline)."""
    require_ai(settings)
    return OpenAIEmbeddings(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                            model=settings.openai_embedding_model, check_embedding_ctx_length=False,
                            timeout=30, max_retries=2)


def load(settings: Settings) -> KnowledgeIndex:
    """The index on disk, or an empty one when there is none; raises `UnusableIndex` if the files do not match."""
    folder = Path(settings.knowledge_dir)
    for name in LEGACY_FILES:
        if (folder / name).exists():
            raise UnusableIndex(f"{folder / name} is the pickle format of earlier versions; it is never loaded.")
    if not (folder / MANIFEST_FILE).exists():
        if (folder / INDEX_FILE).exists() or (folder / CHUNKS_FILE).exists():
            raise UnusableIndex(f"{folder} has index files but no {MANIFEST_FILE} that vouches for them.")
        return _empty(settings)
    digest, body = _checked_manifest(folder)
    index = _load_files(settings, folder, body)
    _cache[str(folder.resolve())] = (digest, index)
    return index


def save(settings: Settings, index: KnowledgeIndex) -> None:
    """Write the vectors and chunks, then the manifest that vouches for them (each file replaced atomically)."""
    folder = Path(settings.knowledge_dir)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = faiss.serialize_index(index.vectors).tobytes() if index.vectors is not None else None
    chunks = json.dumps([{"id": chunk_id, "document_id": chunk.document_id, "chunk": chunk.number,
                          "text": chunk.text} for chunk_id, chunk in sorted(index.chunks.items())]).encode()
    body = {"format": FORMAT, "embedding_model": index.model,
            "index_sha256": _sha256(vectors) if vectors is not None else None, "chunks_sha256": _sha256(chunks),
            "documents": {str(doc_id): entry for doc_id, entry in sorted(index.documents.items())}}
    if vectors is not None:
        _write(folder / INDEX_FILE, vectors)
    else:
        (folder / INDEX_FILE).unlink(missing_ok=True)
    _write(folder / CHUNKS_FILE, chunks)
    digest = _body_digest(body)
    _write(folder / MANIFEST_FILE, json.dumps({"body": body, "sha256": digest}, indent=1).encode())
    _cache[str(folder.resolve())] = (digest, index)


def sync(settings: Settings, index: KnowledgeIndex, wanted: dict[int, str],
         texts: Callable[[set[int]], list[tuple[int, str, str, str]]], progress: Progress | None = None) -> SyncResult:
    """Make `index` hold exactly the documents in `wanted` (id → content hash), embedding only what changed.

    `texts(ids)` returns (id, title, text, content hash) for the documents to embed.
    """
    if index.model != settings.openai_embedding_model:
        log.info("embedding model changed (%s → %s): re-embedding every document",
                 index.model, settings.openai_embedding_model)
        index.vectors, index.chunks, index.documents = None, {}, {}
        index.model, index.embedder = settings.openai_embedding_model, embeddings(settings)
    stale = [doc_id for doc_id, entry in index.documents.items() if wanted.get(doc_id) != entry["hash"]]
    todo = {doc_id for doc_id, digest in wanted.items() if index.documents.get(doc_id, {}).get("hash") != digest}
    result = SyncResult(removed_documents=len([d for d in stale if d not in wanted]),
                        unchanged_documents=len(wanted) - len(todo))
    _drop(index, set(stale))
    fetched = texts(todo)
    chunks = [Chunk(doc_id, number, text)
              for doc_id, _, body, _ in fetched
              for number, text in enumerate(split(body), start=1)]
    _embed(index, chunks, progress)
    counts = {doc_id: 0 for doc_id, _, _, _ in fetched}
    for chunk in chunks:
        counts[chunk.document_id] = max(counts[chunk.document_id], chunk.number)
    for doc_id, title, _, digest in fetched:  # the hash of the text embedded, even if it changed meanwhile
        index.documents[doc_id] = {"hash": digest, "title": title, "chunks": counts[doc_id]}
    result.embedded_documents, result.embedded_chunks, result.chunk_counts = len(fetched), len(chunks), counts
    return result


def ensure_current(settings: Settings, progress: Progress | None = None) -> tuple[KnowledgeIndex, SyncResult]:
    """The index, brought up to date with the database (and saved) if it was not. Safe across processes."""
    require_ai(settings)
    folder = Path(settings.knowledge_dir)
    with _locked(folder):
        try:
            index = _cached_or_load(settings)
        except UnusableIndex as exc:
            log.warning("ignoring the knowledge index on disk (%s); rebuilding it from the database", exc)
            _remove_files(folder)
            index = _empty(settings)
        with session_scope(settings.database_url) as session:
            wanted = knowledge.fingerprint(session)
        have = {doc_id: entry["hash"] for doc_id, entry in index.documents.items()}
        if have == wanted and index.model == settings.openai_embedding_model:
            return index, SyncResult(unchanged_documents=len(wanted))
        try:
            result = sync(settings, index, wanted, lambda ids: _texts(settings, ids), progress)
        except BaseException:
            _cache.pop(str(folder.resolve()), None)  # half-synced: reload from disk next time
            raise
        save(settings, index)
    with session_scope(settings.database_url) as session:
        knowledge.set_chunk_counts(session, result.chunk_counts)
    return index, result


# --- internals ----------------------------------------------------------------------------------

_cache: dict[str, tuple[str, KnowledgeIndex]] = {}
"""Folder → (manifest digest, index) of the last load or save in this process: no re-reading per question."""


def _empty(settings: Settings) -> KnowledgeIndex:
    return KnowledgeIndex(None, {}, {}, settings.openai_embedding_model, embeddings(settings))


def _cached_or_load(settings: Settings) -> KnowledgeIndex:
    folder = Path(settings.knowledge_dir)
    cached = _cache.get(str(folder.resolve()))
    if cached and (folder / MANIFEST_FILE).exists():
        try:
            digest = json.loads((folder / MANIFEST_FILE).read_bytes()).get("sha256")
        except (ValueError, AttributeError):
            digest = None
        if digest == cached[0]:
            return cached[1]
    return load(settings)


def _checked_manifest(folder: Path) -> tuple[str, dict]:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_bytes())
        body, digest = manifest["body"], manifest.get("sha256")
        fmt = body.get("format")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnusableIndex(f"{folder / MANIFEST_FILE} is not a manifest this app reads ({exc!r}).") from exc
    if fmt != FORMAT:
        raise UnusableIndex(f"{folder / MANIFEST_FILE} has format {fmt!r}, expected {FORMAT}.")
    if not isinstance(digest, str) or _body_digest(body) != digest:
        raise UnusableIndex(f"{folder / MANIFEST_FILE} does not match its own checksum (edited or torn).")
    return digest, body


def _load_files(settings: Settings, folder: Path, body: dict) -> KnowledgeIndex:
    rows = _verified_bytes(folder / CHUNKS_FILE, body.get("chunks_sha256"))
    try:
        chunks = {int(row["id"]): Chunk(int(row["document_id"]), int(row["chunk"]), str(row["text"]))
                  for row in json.loads(rows)}
        documents = {int(doc_id): entry for doc_id, entry in body["documents"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnusableIndex(f"{folder / CHUNKS_FILE} or {MANIFEST_FILE} has an unexpected shape ({exc}).") from exc
    vectors = None
    if body.get("index_sha256") is not None:
        data = _verified_bytes(folder / INDEX_FILE, body["index_sha256"])
        try:
            vectors = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise UnusableIndex(f"{folder / INDEX_FILE} is not a FAISS index faiss can read.") from exc
        ids = set(faiss.vector_to_array(vectors.id_map).tolist()) if isinstance(vectors, faiss.IndexIDMap2) else None
        if ids != set(chunks):
            raise UnusableIndex(f"{folder / INDEX_FILE} and {CHUNKS_FILE} do not hold the same chunks.")
    if {chunk.document_id for chunk in chunks.values()} - documents.keys():
        raise UnusableIndex(f"{folder / CHUNKS_FILE} has chunks of documents the manifest does not list.")
    return KnowledgeIndex(vectors, chunks, documents, str(body.get("embedding_model")), embeddings(settings))


def _verified_bytes(path: Path, expected: str | None) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UnusableIndex(f"{path} is missing although the manifest lists it.") from exc
    if _sha256(data) != expected:
        raise UnusableIndex(f"{path} is not the file the manifest lists (its checksum differs).")
    return data


def _drop(index: KnowledgeIndex, doc_ids: set[int]) -> None:
    chunk_ids = [chunk_id for chunk_id, chunk in index.chunks.items() if chunk.document_id in doc_ids]
    for doc_id in doc_ids:
        del index.documents[doc_id]
    for chunk_id in chunk_ids:
        del index.chunks[chunk_id]
    if chunk_ids and index.vectors is not None:
        index.vectors.remove_ids(np.array(chunk_ids, dtype=np.int64))
    if not index.chunks:
        index.vectors = None


def _embed(index: KnowledgeIndex, chunks: list[Chunk], progress: Progress | None) -> None:
    next_id = max(index.chunks, default=0) + 1
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start:start + EMBED_BATCH]
        vectors = _unit(index.embedder.embed_documents([chunk.text for chunk in batch]))
        if index.vectors is None:
            index.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        ids = np.arange(next_id, next_id + len(batch), dtype=np.int64)
        index.vectors.add_with_ids(vectors, ids)
        index.chunks.update(zip(ids.tolist(), batch, strict=True))
        next_id += len(batch)
        if progress:
            progress(start + len(batch), len(chunks))


def _unit(vectors: list[list[float]]) -> np.ndarray:
    """float32 rows scaled to length 1, so inner product = cosine whatever the provider returns."""
    array = np.array(vectors, dtype=np.float32)
    faiss.normalize_L2(array)
    return array


def _texts(settings: Settings, ids: set[int]) -> list[tuple[int, str, str, str]]:
    with session_scope(settings.database_url) as session:
        return [(doc.id, doc.title, doc.text, doc.content_hash) for doc in knowledge.documents(session, ids)]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _body_digest(body: dict) -> str:
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _remove_files(folder: Path) -> None:
    for name in (MANIFEST_FILE, INDEX_FILE, CHUNKS_FILE, *LEGACY_FILES):
        (folder / name).unlink(missing_ok=True)
    _cache.pop(str(folder.resolve()), None)


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
