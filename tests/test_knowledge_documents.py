"""Reading Markdown, text, HTML and PDF into plain text, and splitting it into chunks. No I/O but files."""

from __future__ import annotations

import pytest

from knowledge.documents import CHUNK_CHARS, load_bytes, load_folder, split
from multisms.errors import UnreadableDocument
from multisms.knowledge import content_hash, title_for


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in its text layer (as a word processor would write it)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_markdown_takes_its_title_from_the_first_heading():
    loaded = load_bytes("guide/parking.md", b"# Parking\n\n\n\nParking is free for guests.\r\n")
    assert (loaded.title, loaded.text, loaded.ref) == ("Parking", "# Parking\n\nParking is free for guests.",
                                                       "guide/parking.md")


def test_html_keeps_the_visible_text_and_drops_scripts_and_styles():
    page = ("<html><head><title>Opening hours</title><style>p{color:red}</style></head><body>"
            "<h1>Hours</h1><p>We open at 9&nbsp;am.</p><script>alert('x')</script><ul><li>Mon–Fri</li></ul>"
            "</body></html>")
    loaded = load_bytes("hours.html", page.encode())
    assert loaded.title == "Opening hours"
    assert loaded.text == "Hours\nWe open at 9 am.\nMon–Fri"


def test_pdf_text_is_extracted():
    loaded = load_bytes("terms.pdf", tiny_pdf("Refunds are possible within 30 days."))
    assert "Refunds are possible within 30 days." in loaded.text and loaded.title == "terms"


def test_a_mimetype_is_enough_when_the_name_has_no_suffix():
    assert load_bytes("F0ABC", b"Plain words", "text/plain").text == "Plain words"


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("photo.png", b"\x89PNG", "not a file I can read"),
    ("empty.txt", b"  \n ", "has no text"),
    ("scan.pdf", b"%PDF-1.4 garbage", "could not be read as a PDF|no text layer"),
])
def test_unreadable_files_say_why(name, data, reason):
    with pytest.raises(UnreadableDocument, match=reason):
        load_bytes(name, data)


def test_a_folder_is_read_recursively_skipping_hidden_and_unknown_files(tmp_path):
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "parking.md").write_text("# Parking\nFree for guests.")
    (tmp_path / "notes.txt").write_text("Refunds within 30 days.")
    (tmp_path / ".secret.md").write_text("hidden")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    loaded, skipped = load_folder(tmp_path)
    assert [d.ref for d in loaded] == ["faq/parking.md", "notes.txt"]
    assert len(skipped) == 1 and "logo.png" in skipped[0]


def test_long_text_is_split_into_overlapping_chunks_of_bounded_size():
    text = "\n\n".join(f"Paragraph {i}. " + "Guests may park for free at the main entrance. " * 8 for i in range(6))
    chunks = split(text)
    assert len(chunks) > 1 and all(len(chunk) <= CHUNK_CHARS for chunk in chunks)
    assert chunks[0].startswith("Paragraph 0.") and "Paragraph 5." in chunks[-1]


def test_the_content_hash_changes_with_the_text_or_title_and_titles_are_short():
    assert content_hash("A", "text") == content_hash("A", "text") != content_hash("A", "text!")
    assert content_hash("A", "text") != content_hash("B", "text")
    assert title_for("\n## Opening hours\nWe open at 9") == "Opening hours"
    assert len(title_for("x" * 500)) == 80
