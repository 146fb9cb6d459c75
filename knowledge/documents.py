"""Documents in, plain text and chunks out: Markdown, text, HTML and PDF, from a folder or from bytes.

Only text is kept (the database stores it; every index is built from it), so a PDF is read
once, when it is added. Chunks are small enough that a few of them fit in one prompt.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter

from multisms.errors import UnreadableDocument
from multisms.knowledge import title_for

log = logging.getLogger(__name__)

CHUNK_CHARS = 800
CHUNK_OVERLAP = 120
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 500_000
"""About 250 pages; beyond this a document is almost certainly not meant for SMS answers."""
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}
MIMETYPES = {"text/markdown": "markdown", "text/plain": "text", "text/html": "html", "application/pdf": "pdf"}

_splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP,
                                           separators=["\n\n", "\n", ". ", " ", ""])


@dataclass(frozen=True)
class LoadedDocument:
    title: str
    text: str
    ref: str
    """The file's path inside the folder, or its name."""


def kind_of(name: str, mimetype: str | None = None) -> str | None:
    """`markdown`, `text`, `html`, `pdf`, or None when we can't read it."""
    return SUFFIXES.get(Path(name).suffix.lower()) or MIMETYPES.get((mimetype or "").split(";")[0].strip())


def load_bytes(name: str, data: bytes, mimetype: str | None = None) -> LoadedDocument:
    """Read one file's bytes; raises `UnreadableDocument` with a reason a person can act on."""
    kind = kind_of(name, mimetype)
    if kind is None:
        raise UnreadableDocument(f"“{name}” is not a file I can read: use Markdown, text, HTML or PDF.")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableDocument(f"“{name}” is over {MAX_FILE_BYTES // 1024 // 1024} MB.")
    title = None
    if kind == "pdf":
        text = _pdf_text(name, data)
    elif kind == "html":
        title, text = _html_text(_decode(data))
    else:
        text = _decode(data)
    text = _tidy(text)
    if not text:
        raise UnreadableDocument(f"“{name}” has no text in it.")
    if len(text) > MAX_TEXT_CHARS:
        raise UnreadableDocument(f"“{name}” has over {MAX_TEXT_CHARS:,} characters of text; split it up.")
    fallback = Path(name).stem.replace("_", " ").replace("-", " ") or name
    return LoadedDocument(title=title or (title_for(text, fallback) if kind == "markdown" else fallback),
                          text=text, ref=name)


def load_folder(folder: Path) -> tuple[list[LoadedDocument], list[str]]:
    """Every readable file under `folder` (hidden ones skipped), and a note per file that was skipped."""
    loaded, skipped = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            document = load_bytes(relative, path.read_bytes())
        except UnreadableDocument as exc:
            skipped.append(str(exc))
            continue
        loaded.append(document)
    return loaded, skipped


def split(text: str) -> list[str]:
    """The chunks one document is embedded as, in order (chunk 1 is the start of the document)."""
    return [chunk.strip() for chunk in _splitter.split_text(text) if chunk.strip()]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    tidy, blank = [], 0
    for line in lines:
        blank = blank + 1 if not line.strip() else 0
        if blank <= 1:
            tidy.append(line)
    return "\n".join(tidy).strip()


def _pdf_text(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnreadableDocument(f"“{name}” could not be read as a PDF ({exc}).") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise UnreadableDocument(f"“{name}” has no text layer (a scan?); add its text instead.")
    return text


class _TextOfHtml(HTMLParser):
    """The visible text of a page; blocks become lines. Scripts and styles are dropped."""

    SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
                        "header", "footer", "table", "ul", "ol", "blockquote", "pre", "hr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self.parts.append(data)


def _html_text(page: str) -> tuple[str | None, str]:
    parser = _TextOfHtml()
    parser.feed(page)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    title = " ".join("".join(parser.title).split()) or None
    return title, "\n".join(line for line in lines if line)
