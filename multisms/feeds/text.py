"""Feed HTML to short plain text: what an SMS digest and a Slack post can show.

Why not the feed's own HTML: a digest is plain text, and markup, scripts or a 50 KB article
body would only waste the AI's context and the reader's screen.
"""

from __future__ import annotations

from html.parser import HTMLParser

_SKIPPED = frozenset({"script", "style", "template", "noscript", "head"})
_BREAKS = frozenset({"p", "br", "div", "li", "tr", "td", "th", "blockquote", "pre", "hr",
                     "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "figure", "figcaption"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str, limit: int) -> str:
    """The words of `html` without tags, whitespace collapsed, at most `limit` characters."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return shorten("".join(collector.parts), limit)


def shorten(text: str, limit: int) -> str:
    """Collapse whitespace; cut at a word boundary with an ellipsis when longer than `limit`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,.;:-") + "…"
