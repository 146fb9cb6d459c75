"""The FAISS index: incremental rebuilds, surviving a restart, no pickle, and rebuilding files that do not match."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import index as kindex
from knowledge.documents import split
from multisms import knowledge
from multisms.db import session_scope
from multisms.models import KnowledgeDocument
from tests.kb_helpers import PARKING, REFUNDS, add_document, ai_configurer, embedded_inputs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ai_settings(configure, openai_api, tmp_path):
    return ai_configurer(configure, openai_api, tmp_path)


HOURS = ("Opening hours", "\n\n".join(
    [f"On day {day} of the week the office opens at {8 + day % 2} and closes at {16 + day % 3}. " * 6
     for day in range(1, 6)]))


def test_only_a_changed_document_is_embedded_again_and_a_removed_one_is_dropped(ai_settings, openai_api):
    settings = ai_settings()
    parking = add_document(settings, *PARKING, ref="parking.md")
    add_document(settings, *REFUNDS, ref="refunds.md")
    hours = add_document(settings, *HOURS, ref="hours.md")
    _, first = kindex.ensure_current(settings)
    assert len(split(HOURS[1])) > 1  # a document of several chunks
    assert sorted(embedded_inputs(openai_api)) == sorted([PARKING[1], REFUNDS[1], *split(HOURS[1])])
    assert first.embedded_documents == 3

    openai_api.reset()
    kindex.ensure_current(settings)
    assert openai_api.embedding_requests == []  # nothing changed, nothing embedded

    changed = "Parking is free for guests at the main entrance until 22:00; after that it costs 5 EUR."
    add_document(settings, "Parking", changed, ref="parking.md")  # the file was edited
    index, result = kindex.ensure_current(settings)
    assert embedded_inputs(openai_api) == [changed]  # only its chunk, not the other documents'
    assert (result.embedded_documents, result.unchanged_documents) == (1, 2)
    [best] = index.search("how much does parking cost after 22:00", 1)
    assert (best.document_id, best.text) == (parking, changed)

    openai_api.reset()
    with session_scope(settings.database_url) as session:
        knowledge.remove_document(session, hours)
    index, result = kindex.ensure_current(settings)
    assert openai_api.embedding_requests == [] and result.removed_documents == 1
    assert hours not in {hit.document_id for hit in index.search("When does the office open?", 10)}
    with session_scope(settings.database_url) as session:
        assert session.get(KnowledgeDocument, parking).chunk_count == 1  # shown in `kb list`


def test_a_new_embedding_model_re_embeds_everything(ai_settings, openai_api):
    settings = ai_settings()
    add_document(settings, *PARKING)
    kindex.ensure_current(settings)
    openai_api.reset()
    settings = ai_settings(OPENAI_EMBEDDING_MODEL="text-embedding-3-large")
    kindex.ensure_current(settings)
    assert embedded_inputs(openai_api) == [PARKING[1]]
    assert openai_api.embedding_requests[0]["model"] == "text-embedding-3-large"


def test_the_index_survives_a_restart_without_embedding_anything_again(ai_settings, openai_api):
    settings = ai_settings()
    parking = add_document(settings, *PARKING)
    add_document(settings, *REFUNDS)
    kindex.ensure_current(settings)
    openai_api.reset()

    script = ("import json; from multisms.config import get_settings; from knowledge.index import ensure_current; "
              "index, result = ensure_current(get_settings()); hit = index.search('Is parking free?', 1)[0]; "
              "print(json.dumps([hit.document_id, hit.text, result.embedded_documents]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [parking, PARKING[1], 0]
    assert embedded_inputs(openai_api) == ["Is parking free?"]  # the question only: the index came from disk


@pytest.fixture
def built(ai_settings, openai_api):
    settings = ai_settings()
    add_document(settings, *PARKING)
    kindex.ensure_current(settings)
    kindex._cache.clear()  # as in a new process
    return settings, Path(settings.knowledge_dir)


def test_the_index_is_saved_and_loaded_without_pickle(ai_settings, openai_api, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used by the knowledge index")

    for name in ("load", "loads", "dump", "dumps", "Pickler", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    settings = ai_settings()
    parking = add_document(settings, *PARKING)
    add_document(settings, *REFUNDS)
    kindex.ensure_current(settings)
    kindex._cache.clear()  # as in a new process

    index = kindex.load(settings)
    [best] = index.search("Is parking free?", 1)
    assert (best.document_id, best.title, best.text) == (parking, PARKING[0], PARKING[1])
    folder = Path(settings.knowledge_dir)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        kindex.CHUNKS_FILE, kindex.INDEX_FILE, kindex.MANIFEST_FILE]
    assert json.loads((folder / kindex.MANIFEST_FILE).read_text())["body"]["format"] == kindex.FORMAT


class Payload:
    """Unpickling this creates a file: proof that an old index was never unpickled."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_pickle_index(folder: Path, marker: Path) -> None:
    """The files of an earlier version (LangChain's pickle + HMAC-signed manifest), here a malicious pickle."""
    data = pickle.dumps(Payload(marker))
    body = {"format": 1, "embedding_model": "text-embedding-3-small",
            "index_sha256": hashlib.sha256(data).hexdigest(), "documents": {"1": {"hash": "x", "title": "t",
                                                                                 "chunks": 1}}}
    (folder / "index.faiss.pkl").write_bytes(data)
    (folder / kindex.MANIFEST_FILE).write_text(json.dumps({"body": body, "hmac": "0" * 64}))
    (folder / kindex.INDEX_FILE).unlink(missing_ok=True)
    (folder / kindex.CHUNKS_FILE).unlink(missing_ok=True)


def test_an_old_pickle_index_is_rebuilt_from_the_database_once_never_loaded(built, tmp_path, openai_api, caplog):
    settings, folder = built
    marker = tmp_path / "unpickled"
    write_pickle_index(folder, marker)
    with pytest.raises(kindex.UnusableIndex, match="pickle format of earlier versions"):
        kindex.load(settings)
    (folder / "index.faiss.pkl").rename(folder / "elsewhere")
    with pytest.raises(kindex.UnusableIndex, match="format 1, expected 2"):
        kindex.load(settings)
    (folder / "elsewhere").rename(folder / "index.faiss.pkl")

    openai_api.reset()
    index, result = kindex.ensure_current(settings)  # a worker meeting such files: ignore, remove, rebuild
    assert not marker.exists()
    assert result.embedded_documents == 1 and index.search("Is parking free?", 1)[0].text == PARKING[1]
    assert "ignoring the knowledge index on disk" in caplog.text
    assert not (folder / "index.faiss.pkl").exists() and (folder / kindex.INDEX_FILE).exists()

    kindex._cache.clear()
    openai_api.reset()
    _, again = kindex.ensure_current(settings)  # once: the rebuilt files are loaded next time
    assert again.embedded_documents == 0 and openai_api.embedding_requests == []


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def edit_manifest(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["body"]["documents"]["1"]["title"] = "Something else"
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(("change", "reason"), [
    (lambda folder: flip_last_byte(folder / kindex.INDEX_FILE), "index.faiss is not the file the manifest lists"),
    (lambda folder: flip_last_byte(folder / kindex.CHUNKS_FILE), "chunks.json is not the file the manifest lists"),
    (lambda folder: edit_manifest(folder / kindex.MANIFEST_FILE), "does not match its own checksum"),
    (lambda folder: (folder / kindex.MANIFEST_FILE).unlink(), "no manifest.json that vouches for them"),
    (lambda folder: (folder / kindex.CHUNKS_FILE).unlink(), "chunks.json is missing"),
], ids=["index", "chunks", "manifest", "no-manifest", "missing-chunks"])
def test_files_that_do_not_match_their_manifest_are_refused_and_rebuilt(built, openai_api, change, reason):
    settings, folder = built
    change(folder)
    with pytest.raises(kindex.UnusableIndex, match=reason):
        kindex.load(settings)
    openai_api.reset()
    index, result = kindex.ensure_current(settings)
    assert result.embedded_documents == 1 and index.search("Is parking free?", 1)[0].title == PARKING[0]
    kindex._cache.clear()
    assert kindex.load(settings).documents.keys() == {1}


def test_scores_are_cosine_similarities(built, openai_api):
    settings, _ = built
    index = kindex.load(settings)
    [same] = index.search(PARKING[1], 1)
    assert same.score == pytest.approx(1.0, abs=1e-5)  # the document's own text: cosine 1
    [unrelated] = index.search("zebra", 1)
    assert -1.0 <= unrelated.score < 0.5


def test_without_an_openai_key_the_index_is_unavailable_with_a_clear_message(configure, tmp_path):
    settings = configure(KNOWLEDGE_DIR=str(tmp_path))
    with pytest.raises(kindex.KnowledgeUnavailable, match="set OPENAI_API_KEY"):
        kindex.ensure_current(settings)


def test_the_build_script_loads_a_folder_and_rebuilds_only_what_changed(ai_settings, openai_api, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_index", ROOT / "scripts" / "build_index.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ai_settings()
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "parking.md").write_text(f"# Parking\n\n{PARKING[1]}")
    (folder / "refunds.txt").write_text(REFUNDS[1])
    assert script.main(["--folder", str(folder)]) == 0
    assert "2 added" in capsys.readouterr().out and len(embedded_inputs(openai_api)) == 2

    openai_api.reset()
    (folder / "parking.md").write_text("# Parking\n\nParking costs 5 EUR after 22:00.")
    (folder / "refunds.txt").unlink()
    assert script.main(["--folder", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "0 added, 1 changed, 0 unchanged, 1 removed" in out and "1 documents embedded (1 chunks), 1 dropped" in out
    assert embedded_inputs(openai_api) == ["# Parking\n\nParking costs 5 EUR after 22:00."]


def test_an_interrupted_rebuild_leaves_the_index_usable(ai_settings, openai_api, monkeypatch):
    settings = ai_settings()
    add_document(settings, *PARKING)
    kindex.ensure_current(settings)
    refunds = add_document(settings, *REFUNDS)
    hours = add_document(settings, *HOURS)
    monkeypatch.setattr(kindex, "EMBED_BATCH", 1)

    def worker_stopped(done: int, total: int) -> None:
        raise RuntimeError("worker stopped mid-rebuild")

    with pytest.raises(RuntimeError):
        kindex.ensure_current(settings, progress=worker_stopped)
    index, result = kindex.ensure_current(settings)  # the next job picks up from what is on disk
    assert result.embedded_documents == 2
    assert {hit.document_id for hit in index.search("refunds office opens", 10)} == {1, refunds, hours}
    assert index.vectors.ntotal == len(index.chunks) == 1 + 1 + len(split(HOURS[1]))
