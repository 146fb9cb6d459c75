"""Look for real-looking credentials in a folder; exit 1 naming each file, line and kind.

Used by `prepare_release_bundle.sh` on the bundle before it is packed, so every file is read:
UTF-16/UTF-32 and other NUL-containing text are decoded here first, and binary files are read
for their ASCII and UTF-16 strings (a plain-text scanner would skip all three). Symlinks are
never followed: one in the folder is itself a finding.

Key patterns ask for realistic lengths and variety, so the placeholders in `.env.example` and
the docs (`xoxb-...`, `sk-...`, `AC...`) pass while a pasted real key does not. Assignments to
secret-looking names (`*_TOKEN`, `*_SECRET`, `*_KEY`, `*PASSWORD`) and passwords inside URLs
are findings unless the value is an obvious placeholder.

    python scripts/scan_secrets.py release/dist/v1.2.0
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

PATTERNS: list[tuple[str, re.Pattern]] = [
    ("Slack token", re.compile(r"(?<![0-9A-Za-z])xox[abposr]-[0-9A-Za-z][0-9A-Za-z-]{29,}")),
    ("Slack app token", re.compile(r"(?<![0-9A-Za-z])xapp-[0-9A-Za-z][0-9A-Za-z-]{29,}")),
    ("Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]{16,}")),
    ("OpenAI key", re.compile(r"(?<![0-9A-Za-z])sk-(?:proj-|svcacct-|admin-)?[0-9A-Za-z_-]{32,}")),
    ("Twilio API key SID", re.compile(r"(?<![0-9A-Za-z])SK[0-9a-f]{32}(?![0-9A-Za-z])")),
    ("AWS access key", re.compile(r"(?<![0-9A-Z])AKIA[0-9A-Z]{16}(?![0-9A-Z])")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\s*(?:[A-Za-z-]+:[^\n]*\n)*\s*"
                               r"[A-Za-z0-9+/=]{40,}")),
]
TWILIO_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])AC[0-9a-f]{32}(?![0-9A-Za-z])")
HEX_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])")
"""A Twilio Account SID alone is an identifier; with a 32-hex auth token anywhere in the same file, a credential."""
TWILIO_TOKEN_NAME = re.compile(r"auth_?token", re.IGNORECASE)
PASSWORD_NAME = re.compile(r"(?i:password|passwd|pwd)$")
MIN_DISTINCT = 8
"""`xoxb-xxxxxxxx…` or `0000…` is a placeholder, not a key."""

ASSIGNMENT = re.compile(r"""
    (?<![\w.])
    (?P<name>(?:[A-Za-z_][\w.-]*?)?(?i:password|passwd|pwd)
      | [A-Za-z_][\w.-]*?(?:[_.-](?i:token|secret|key)|(?<=[a-z0-9])(?:Token|Secret|Key)))
    (?!\w)
    ["'`]?\]?[ \t]*                                   # "name": … and ["NAME"] = …
    (?P<sep>:[ \t]*[A-Za-z_][\w\[\]., |]*?[ \t]*=(?!=)   # Python annotation: name: str = …
     |=>|=(?!=)|:=?)
    [ \t]*
    (?P<value>
        (?P<prefix>[rRbBuUfF]{0,2})(?P<quote>["'`])(?P<quoted>[^\n]*?)(?P=quote)
      | (?P<bare>[^\s"'`,;(){}\[\]#:][^\s"'`,;)}\]]*))
""", re.VERBOSE)
"""Env, shell, YAML, TOML, JSON, Python and JS forms of `NAME=value` for a secret-looking name."""
YAML_KEY_PREFIX = re.compile(r"[ \t]*(?:-[ \t]+|#[ \t]*)?[\"']?")
URL_CREDENTIALS = re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]*://[^\s:/?#@\"'<>]*:(?P<password>[^\s/?#\"'<>]*)"
                             r"@[^\s/?#@\"'<>]+")
CODE_SUFFIXES = {".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".html", ".htm", ".jinja", ".j2"}
"""In code an unquoted value is an expression (`api_key=settings.openai_api_key`), never a literal."""

MIN_SECRET_LENGTH = 6
PLACEHOLDER_WORDS = ("example", "changeme", "change-me", "change_me", "your", "here", "placeholder", "replace",
                     "dummy", "redacted", "xxx", "...", "…", "***", "todo", "fixme", "${", "$(", "{{", "%(", "<", ">")
PLACEHOLDER_VALUES = {"none", "null", "nil", "true", "false", "secret", "password", "passwd", "token", "default",
                      "required", "optional", "undefined", "unset", "string", "generated", "random"}
PHRASE = re.compile(r"[a-z]+(?:[-_:.][a-z]+)+")
"""Lower-case words joined like `try-me`, `a-long-random-string` or `multisms:auto-reply-mode`: a name, not a secret."""
IDENTIFIER = re.compile(r"_*[a-z]+(?:[A-Z][a-z]+)*(?:[-_:.]+[a-z]+(?:[A-Z][a-z]+)*)*")
"""`history`, `cosmosSearch`: what a `*_KEY` or `*_TOKEN` constant holds when it names a field. Not for passwords."""
REFERENCE = re.compile(r"[$%]\S*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\(.*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
                       r"|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|(?:~|\.{1,2})?/[\w.@/-]*|[A-Za-z][\w+.-]*://\S*")
"""`$VAR`, `%(var)s`, `settings.secret_key`, `os.environ.get(…)`, an env var's name, a file path: a pointer
to a secret kept elsewhere."""

TEXT_ENCODINGS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                  (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
"""Byte-order marks, longest first: a UTF-32 LE mark starts with the UTF-16 LE one."""
BINARY_STRING = re.compile(rb"[\t\x20-\x7e]{4,}|(?:[\t\x20-\x7e]\x00){4,}|(?:\x00[\t\x20-\x7e]){4,}")
"""What `strings` and `strings -el`/`-eb` would show: runs of printable ASCII, alone or as UTF-16."""


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    preview: str
    """A masked start of the secret at most, so the report itself never leaks it."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} ({self.preview}…)"


Hit = tuple[int, int, str, str]
"""Start and end in the text, kind, the secret itself (masked before it leaves this module)."""


@dataclass
class Readable:
    """A file as text a pattern can run over, and how it was read."""

    text: str
    how: str
    string_starts: list[int] | None = None
    """For a binary file: where each extracted string starts in `text`…"""
    string_lines: list[int] | None = None
    """…and the line of the file it came from, counting newline bytes as `grep -n` does."""

    def line_at(self, position: int) -> int:
        if self.string_starts is None:
            return self.text.count("\n", 0, position) + 1
        return self.string_lines[bisect.bisect_right(self.string_starts, position) - 1]


def read_bytes(data: bytes) -> Readable:
    """Decode text in any of the encodings an editor may save; fall back to the strings in a binary file."""
    for bom, encoding in TEXT_ENCODINGS:
        if data.startswith(bom) and (text := _decoded(data[len(bom):], encoding)) is not None:
            return Readable(text, "text" if encoding == "utf-8" else encoding.upper())
    if b"\0" not in data:
        return Readable(data.decode("utf-8", errors="replace"), "text")
    encoding = _wide_encoding(data)
    text = _decoded(data, encoding) if encoding else None
    if text is not None:
        return Readable(text, encoding.upper())
    text = _decoded(data, "utf-8")
    if text is not None:
        return Readable(text, "text with NUL bytes")
    return _binary_strings(data)


def _decoded(data: bytes, encoding: str) -> str | None:
    """The text, NULs made spaces, if `data` is valid `encoding` and reads as text rather than noise."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    printable = sum(char.isprintable() or char.isspace() or char == "\0" for char in text)
    return text.replace("\0", " ") if printable >= 0.95 * len(text) else None


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark: ASCII in them leaves NULs at fixed places of each code unit."""
    sample = data[:65536]
    for width, encoding in ((4, "utf-32"), (2, "utf-16")):
        units = len(sample) // width
        if units < 4:
            continue
        zero_share = [sample[i::width][:units].count(0) / units for i in range(width)]
        for order, text_at in (("le", 0), ("be", width - 1)):
            others = [share for i, share in enumerate(zero_share) if i != text_at]
            if zero_share[text_at] < 0.1 and min(others) > 0.8:
                return f"{encoding}-{order}"
    return None


def _binary_strings(data: bytes) -> Readable:
    """An image or font is not text, but a key pasted into its metadata is; so is a UTF-16 name table entry."""
    starts, lines, texts, position, line, counted = [], [], [], 0, 1, 0
    for match in BINARY_STRING.finditer(data):
        raw = match.group()
        text = raw.decode("ascii") if raw[1:2] != b"\0" and raw[:1] != b"\0" else raw.replace(b"\0", b"").decode()
        line, counted = line + data.count(b"\n", counted, match.start()), match.start()
        starts.append(position)
        lines.append(line)
        texts.append(text)
        position += len(text) + 1
    return Readable("\n".join(texts), "binary (ASCII and UTF-16 strings)", starts or [0], lines or [1])


def scan_readable(readable: Readable, path: str) -> list[Finding]:
    hits = _key_hits(readable.text) + _twilio_hits(readable.text)
    hits += _assignment_hits(readable.text, code=Path(path).suffix.lower() in CODE_SUFFIXES)
    hits += _url_hits(readable.text)
    findings, taken = [], []
    for start, end, kind, secret in hits:  # the most specific kind first; one finding per secret
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            continue
        taken.append((start, end))
        findings.append(Finding(path, readable.line_at(start), kind, _mask(secret)))
    return sorted(findings, key=lambda finding: finding.line)


def _key_hits(text: str) -> list[Hit]:
    return [(match.start(), match.end(), kind, match.group()) for kind, pattern in PATTERNS
            for match in pattern.finditer(text) if _realistic(match.group())]


def _twilio_hits(text: str) -> list[Hit]:
    if not any(_realistic(sid.group()[2:]) for sid in TWILIO_ACCOUNT.finditer(text)):
        return []
    return [(token.start(), token.end(), "Twilio Account SID with an auth token", token.group())
            for token in HEX_TOKEN.finditer(text) if _realistic(token.group())]


def _assignment_hits(text: str, *, code: bool) -> list[Hit]:
    hits = []
    for match in ASSIGNMENT.finditer(text):
        value = _assigned_value(text, match, code=code)
        name = match.group("name")
        if value is None or _placeholder(value, password=bool(PASSWORD_NAME.search(name))):
            continue
        twilio = TWILIO_TOKEN_NAME.search(name) and HEX_TOKEN.fullmatch(value)
        kind = "Twilio auth token" if twilio else f"secret assigned to {name}"
        hits.append((match.start("value"), match.end("value"), kind, value))
    return hits


def _assigned_value(text: str, match: re.Match, *, code: bool) -> str | None:
    """The literal assigned, if any. An unquoted value is an expression in code; after a bare colon it counts
    only in a YAML pair (the key first on its line, the value up to the end of it), so that prose such as
    `password: the one you chose` in a docstring is not taken for one."""
    if match.group("quote"):
        return match.group("quoted")
    if code:
        return None
    if match.group("sep") != ":":
        return match.group("bare")
    line_start = text.rfind("\n", 0, match.start()) + 1
    if not YAML_KEY_PREFIX.fullmatch(text, line_start, match.start("name")):
        return None
    line_end = text.find("\n", match.start("value"))
    rest = text[match.start("value"):line_end if line_end >= 0 else len(text)]
    return re.sub(r"\s+#.*", "", rest).strip()


def _url_hits(text: str) -> list[Hit]:
    return [(match.start(), match.end(), "password in a URL", match.group("password"))
            for match in URL_CREDENTIALS.finditer(text) if not _placeholder(match.group("password"), password=True)]


def _placeholder(value: str, *, password: bool) -> bool:
    """`…`, `<new>`, `${VAR}`, `your-key`, `changeme`, `xxxx`, a sentence, a name: obviously not a real secret."""
    value = value.strip()
    lowered = value.lower()
    if len(value) < MIN_SECRET_LENGTH or lowered in PLACEHOLDER_VALUES:
        return True
    if any(word in lowered for word in PLACEHOLDER_WORDS) or any(char.isspace() for char in value):
        return True
    if len(set(re.sub(r"[-_.:]", "", lowered))) <= 2:  # `xxxx-xxxx`, `000000`
        return True
    if ("{" in value and "}" in value) or ("[" in value and "]" in value):  # `{token}`, `[password]`
        return True
    if PHRASE.fullmatch(value) or REFERENCE.fullmatch(value):
        return True
    return not password and bool(IDENTIFIER.fullmatch(value))


def _realistic(candidate: str) -> bool:
    return len(set(candidate)) >= MIN_DISTINCT


def _mask(secret: str) -> str:
    """Enough to tell which secret to rotate (`xoxb-274`), never enough to use it: at most a fifth of it."""
    return secret[:min(8, len(secret) // 5)]


def scan_folder(folder: Path) -> tuple[dict[str, int], list[Finding], list[str]]:
    """(files scanned per way of reading, findings, what could not be scanned). Nothing is skipped silently."""
    read_as: dict[str, int] = {}
    findings: list[Finding] = []
    problems: list[str] = []
    for path in _entries(folder, problems):
        name = str(path.relative_to(folder))
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            problems.append(f"{name} is a symlink (never followed: ship the file itself)")
        elif not stat.S_ISREG(mode):
            problems.append(f"{name} is not a regular file")
        else:
            try:
                readable = read_bytes(path.read_bytes())
            except OSError as error:
                problems.append(f"{name} cannot be read ({error.strerror})")
                continue
            read_as[readable.how] = read_as.get(readable.how, 0) + 1
            findings += scan_readable(readable, name)
    return read_as, findings, problems


def _entries(folder: Path, problems: list[str]) -> list[Path]:
    """Every entry below `folder` except directories; symlinked directories are listed, not entered."""
    def unlisted(error: OSError) -> None:
        problems.append(f"{Path(error.filename).relative_to(folder)}/ cannot be listed ({error.strerror})")

    found = []
    for root, dirs, files in os.walk(folder, onerror=unlisted, followlinks=False):
        found += [Path(root, name) for name in files]
        found += [Path(root, name) for name in dirs if Path(root, name).is_symlink()]
    return sorted(found)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: scan_secrets.py <folder>", file=sys.stderr)
        return 2
    read_as, findings, problems = scan_folder(Path(argv[0]))
    for problem in problems:
        print(f"cannot scan: {problem}", file=sys.stderr)
    for finding in findings:
        print(f"secret-like text in {finding}", file=sys.stderr)
    if findings or problems:
        return 1
    ways = ", ".join(f"{count} as {how}" for how, count in sorted(read_as.items()))
    print(f"no secrets found in {sum(read_as.values())} files ({ways})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
