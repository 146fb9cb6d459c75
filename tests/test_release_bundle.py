"""`scripts/prepare_release_bundle.sh`: only what production needs, no secrets, hashes that match.

The script runs, as a person would run it, on a copy of this project with junk planted in it
(`.env`, `data/`, `X1_data/`, a venv, caches, a database, keys) — once as a git checkout in
which the junk was force-added, once as a plain folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "scripts/prepare_release_bundle.sh"
TAG = "v9.9.9"
# Fake credentials are assembled at run time, so no key-shaped literal sits in this file.
SLACK = "xo" + "xb-" + "2741983650123-4829174650382-" + "Zq8rT1vYx2Wm3Kp9Lb4Nc7Hd"
OPENAI = "s" + "k-proj-" + "T3BlbkFJq8W2xY7zK4mN1pR5sV9uA6cE0dG3hJ"
TWILIO_SID, TWILIO_TOKEN = "A" + "C" + "3f9a1c7e5b2d4086af1e9c3b7d5a2f40", "9c1e7a3f5b2d40e8a6c4f2b0d9e7a5c3"
PRIVATE_KEY = ("-----BEGIN " + "RSA PRIVATE KEY-----\n"
               + "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
               "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n")
PLANTED = {
    ".env": f"SLACK_BOT_TOKEN={SLACK}\nTWILIO_AUTH_TOKEN={TWILIO_TOKEN}\n",
    ".env.production": f"OPENAI_API_KEY={OPENAI}\n",
    "data/app.db": "SQLite format 3",
    "data/redis.db": "x",
    "X1_data/x": "news data",
    "knowledge/data/export.csv": "number,body",
    "knowledge/X1_data/news.json": "{}",
    "webhooks/.env": "PANEL_PASSWORD=hunter2",
    ".venv/bin/python": "#!/bin/sh\n",
    ".venv/lib/python3.11/site-packages/leaky/__init__.py": f"TOKEN = '{SLACK}'\n",
    "multisms/__pycache__/config.cpython-311.pyc": "\0compiled",
    "webhooks/local.sqlite3": "SQLite format 3",
    "server.pem": PRIVATE_KEY,
    "webhooks/tls.key": PRIVATE_KEY,
    "tests/artifacts/panel.png": "png",
}
MUST_SHIP = {"Procfile", "requirements.txt", "alembic.ini", "gunicorn.conf.py", ".python-version", "app.json",
             "README.md", ".env.example", "release/README.md", "docs/user-guide.md", "docs/operations.md",
             "docs/api.md", "multisms/config.py", "migrations/env.py", "webhooks/templates/panel/index.html",
             "webhooks/static/panel/panel.js", "jobs/worker.py"}


def project_files() -> list[str]:
    """What git sees in the project: tracked and new files, ignored ones left out."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def copy_project(dest: Path, *, as_git: bool) -> Path:
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name, content in PLANTED.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(content)
    if as_git:
        git = ["git", "-c", "init.defaultBranch=main"]
        subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
        subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
        subprocess.run(["git", "add", "-f", *PLANTED], cwd=dest, check=True)  # committed by mistake
    return dest


def bundle(project: Path, tag: str = TAG) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "GIT_CEILING_DIRECTORIES": str(project.parent)}
    return subprocess.run(["bash", SCRIPT, tag], cwd=project, capture_output=True, text=True, timeout=120, env=env)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=["git checkout", "plain folder"])
def project(request, tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"), as_git=request.param == "git checkout")


def test_bundle_holds_what_production_needs_and_nothing_planted(project):
    result = bundle(project)
    assert result.returncode == 0, result.stderr
    shipped = files_under(project / "release/dist" / TAG)
    assert MUST_SHIP <= shipped
    assert not set(PLANTED) & shipped
    lock = (project / "release/dist" / TAG / "requirements.txt").read_text()  # Heroku installs this lock as is
    assert "rq==" in lock and "--hash=sha256:" in lock and "file:" not in lock
    leaks = [name for name in shipped if name.startswith(("data/", "X1_data/", ".venv/", "tests/"))
             or "/data/" in name or "/X1_data/" in name
             or "__pycache__" in name or name.endswith((".db", ".sqlite3", ".pem", ".key"))
             or name.rsplit("/", 1)[-1].startswith(".env") and name != ".env.example"]
    assert leaks == []
    if (project / ".git").exists():  # committed by mistake: the script says what it left out
        assert "skipped (never shipped): webhooks/tls.key\n" in result.stdout


def test_manifest_hashes_match_and_catch_a_change(project):
    assert bundle(project).returncode == 0
    folder = project / "release/dist" / TAG
    lines = (folder / "MANIFEST.sha256").read_text().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert set(listed) == files_under(folder) - {"MANIFEST.sha256"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert subprocess.run(["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=folder).returncode == 0
    (folder / "Procfile").write_text("web: something else\n")
    assert subprocess.run(["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=folder,
                          capture_output=True).returncode != 0


def test_archive_beside_the_bundle_holds_the_same_files(project):
    assert bundle(project).returncode == 0
    with tarfile.open(project / "release/dist" / f"{TAG}.tar.gz") as archive:
        names = {m.name.removeprefix(f"{TAG}/") for m in archive.getmembers() if m.isfile()}
    assert names == files_under(project / "release/dist" / TAG)


@pytest.mark.parametrize(("path", "content", "kind"), [
    ("webhooks/leak.py", f'SLACK_BOT_TOKEN = "{SLACK}"\n', "Slack token"),
    ("docs/setup-notes.md", f"Our key: `{OPENAI}`\n", "OpenAI key"),
    ("app.json", None, "Twilio Account SID with an auth token"),
    ("multisms/certs.txt", PRIVATE_KEY, "private key"),
], ids=["slack-in-code", "openai-in-docs", "twilio-in-app.json", "private-key"])
def test_a_planted_secret_stops_the_bundle(project, path, content, kind):
    target = project / path
    original = target.read_text() if target.exists() else None
    if content is None:  # an Account SID and its token pasted into app.json
        content = original.replace('"TWILIO_ACCOUNT_SID": {', f'"X": "{TWILIO_SID}", "Y": "{TWILIO_TOKEN}",\n'
                                   '    "TWILIO_ACCOUNT_SID": {')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    try:
        result = bundle(project)
    finally:
        if original is None:
            target.unlink()
        else:
            target.write_text(original)
    assert result.returncode != 0
    assert f"{path}:" in result.stderr and kind in result.stderr
    assert SLACK not in result.stderr and OPENAI not in result.stderr and TWILIO_TOKEN not in result.stderr
    assert not (project / "release/dist" / TAG).exists()
    assert not (project / "release/dist" / f"{TAG}.tar.gz").exists()


@pytest.mark.parametrize("tag", ["", "../escape", "v1/2", "..", "v1..2", "-rf"])
def test_a_bad_tag_is_refused_before_anything_is_written(project, tag):
    result = bundle(project, tag)
    assert result.returncode == 2 and "usage" in result.stderr
    assert not (project / "escape").exists()


def _scanner():
    spec = importlib.util.spec_from_file_location("scan_secrets", ROOT / "scripts" / "scan_secrets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("text", [
    "SLACK_BOT_TOKEN=xoxb-...", "OPENAI_API_KEY=sk-...", "TWILIO_ACCOUNT_SID=AC...", "xoxb-your-bot-token-here",
    "xoxb-" + "x" * 40, "AC" + "0" * 32 + " token " + "0" * 32, "-----BEGIN PRIVATE KEY-----\n...",
    "a desk-of-the-team-with-a-very-long-kebab-case-name", "task-0123456789abcdef0123456789abcdef",
])
def test_placeholders_and_ordinary_text_pass(text):
    assert _scanner().scan_text(text) == []


def test_the_project_itself_ships_clean():
    scanner = _scanner()
    findings = [f for name in project_files() if not name.startswith("tests/")
                for f in scanner.scan_text((ROOT / name).read_text(errors="replace"), name)]
    assert findings == []
