"""Look for real-looking credentials in a folder; exit 1 naming each file, line and kind.

Used by `prepare_release_bundle.sh` on the bundle before it is packed. Patterns ask for
realistic lengths and variety, so the placeholders in `.env.example` and the docs
(`xoxb-...`, `sk-...`, `AC...`) pass while a pasted real key does not.

    python scripts/scan_secrets.py release/dist/v1.2.0
"""

from __future__ import annotations

import re
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
HEX_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")
NEARBY_LINES = 3
"""A Twilio Account SID alone is an identifier; with a 32-hex auth token this close, it is a credential."""
MIN_DISTINCT = 8
"""`xoxb-xxxxxxxx…` or `0000…` is a placeholder, not a key."""


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    preview: str
    """The first few characters only, so the report itself never leaks the secret."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} ({self.preview}…)"


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    findings = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if _realistic(match.group()):
                findings.append(Finding(path, text.count("\n", 0, match.start()) + 1, kind, match.group()[:8]))
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        for sid in TWILIO_ACCOUNT.finditer(line):
            window = "\n".join(lines[max(number - 1 - NEARBY_LINES, 0):number + NEARBY_LINES])
            tokens = [t for t in HEX_TOKEN.findall(window) if t not in sid.group() and _realistic(t)]
            if tokens and _realistic(sid.group()[2:]):
                findings.append(Finding(path, number, "Twilio Account SID with an auth token", sid.group()[:8]))
    return findings


def scan_folder(folder: Path) -> tuple[int, list[Finding]]:
    """(files scanned, findings). Binary files (a NUL byte early on) are skipped."""
    scanned, findings = 0, []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        scanned += 1
        findings += scan_text(data.decode("utf-8", errors="replace"), str(path.relative_to(folder)))
    return scanned, findings


def _realistic(candidate: str) -> bool:
    return len(set(candidate)) >= MIN_DISTINCT


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: scan_secrets.py <folder>", file=sys.stderr)
        return 2
    scanned, findings = scan_folder(Path(argv[0]))
    for finding in findings:
        print(f"secret-like text in {finding}", file=sys.stderr)
    if findings:
        return 1
    print(f"no secrets found in {scanned} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
