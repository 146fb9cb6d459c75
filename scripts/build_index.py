"""Load a folder of Markdown, text, HTML and PDF files into the knowledge base and index it.

    python scripts/build_index.py --folder docs/kb

Files are stored by their path inside the folder: a changed file replaces its document, a
deleted file's document is removed, and only changed documents are embedded again (a progress
bar shows the embedding). Documents added from Slack are kept. Needs OPENAI_API_KEY and a
migrated database (`alembic upgrade head`), as the app does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from knowledge.documents import load_folder  # noqa: E402  (needs the project root on the path)
from knowledge.index import KnowledgeUnavailable, ensure_current  # noqa: E402
from multisms import knowledge  # noqa: E402
from multisms.config import get_settings  # noqa: E402
from multisms.db import session_scope  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", required=True, type=Path, help="folder with the documents (searched recursively)")
    parser.add_argument("--by", default="script", help="recorded as the documents' author (default: script)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    settings = get_settings()
    loaded, skipped = load_folder(args.folder)
    for note in skipped:
        print(f"skipped: {note}", file=sys.stderr)
    changes = {"added": 0, "updated": 0, "unchanged": 0}
    with session_scope(settings.database_url) as session:
        for document in loaded:
            _, change = knowledge.save_document(session, title=document.title, text=document.text,
                                                     source="folder", source_ref=document.ref, created_by=args.by)
            changes[change] += 1
        removed = knowledge.remove_missing(session, "folder", {document.ref for document in loaded})
    print(f"{args.folder}: {changes['added']} added, {changes['updated']} changed, {changes['unchanged']} unchanged, "
          f"{len(removed)} removed")
    try:
        with tqdm(total=0, unit="chunk", desc="embedding") as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            _, result = ensure_current(settings, progress=progress)
    except KnowledgeUnavailable as exc:
        print(f"Stored, not indexed: {exc}", file=sys.stderr)
        return 1
    print(f"index: {result.embedded_documents} documents embedded ({result.embedded_chunks} chunks), "
          f"{result.removed_documents} dropped, {result.unchanged_documents} unchanged → {settings.knowledge_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
