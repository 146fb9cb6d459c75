"""`scripts/prepare_release_bundle.sh`: only what production needs, no secrets, hashes that match.

The script runs, as a person would run it, on a copy of this project with junk planted in it
(`.env`, `data/`, `X1_data/`, a venv, caches, a database, keys) — once as a git checkout in
which the junk was force-added, once as a plain folder. Then each way a secret used to slip
into the bundle (a symlink, a UTF-16 file, a Twilio token far from its SID, a `FOO_SECRET=`
assignment, a password in a URL, a binary file) is tried: the build stops and ships nothing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zlib
from contextlib import contextmanager
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
             "docs/api.md", "multisms/config.py", "migrations/env.py", "webhooks/panel/templates/panel/index.html",
             "webhooks/panel/static/panel.js", "jobs/worker.py"}


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


def bundle(project: Path, tag: str = TAG, tmp: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "GIT_CEILING_DIRECTORIES": str(project.parent)}
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
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
    never = ("data/", "X1_data/", ".venv/", "tests/", "standins/", "bench/")
    leaks = [name for name in shipped if name.startswith(never)
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


# --- Ways a secret used to reach the bundle: each stops the build, and nothing is shipped -------------------

FOO_SECRET = "Rk7v" + "Q2mX9pLw"  # a password someone typed, not a key with a known shape


@contextmanager
def planted_in(project: Path, files: dict[str, str | bytes], links: dict[str, Path] | None = None):
    """Files (and symlinks: name → target) added for one test, removed after it, whatever happens."""
    shutil.rmtree(project / "release/dist", ignore_errors=True)  # so "nothing shipped" means nothing at all
    created = []
    try:
        for name, content in files.items():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                (project / name).write_bytes(content)
            else:
                (project / name).write_text(content)
            created.append(project / name)
        for name, target in (links or {}).items():
            (project / name).symlink_to(target)
            created.append(project / name)
        yield
    finally:
        for path in created:
            path.unlink()


def refused_build(project: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the script; it must fail and leave no bundle, no archive and no staging folder behind."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    result = bundle(project, tmp=tmp)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT built" in result.stderr
    assert not (project / "release/dist").exists()
    assert list(tmp.iterdir()) == []
    return result


def assert_never_printed(result: subprocess.CompletedProcess, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr


@pytest.mark.parametrize("link", ["a file: .env", "a folder outside the project"])
def test_a_symlink_among_the_files_stops_the_bundle(project, tmp_path, link):
    outside = tmp_path / "ops-secrets"
    outside.mkdir()
    (outside / "prod.env").write_text(f"SLACK_BOT_TOKEN={SLACK}\n")
    name, target = (("docs/production.env", project / ".env") if link == "a file: .env"
                    else ("knowledge/shared", outside))
    with planted_in(project, {}, {name: target}):
        result = refused_build(project, tmp_path)
    assert f"error: {name} is a symlink" in result.stderr
    assert_never_printed(result, SLACK, TWILIO_TOKEN, str(target))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8 with NUL bytes"],
                         ids=["utf-16-with-bom", "utf-16-be-without-bom", "nul-bytes"])
def test_a_secret_in_a_utf16_or_nul_containing_file_stops_the_bundle(project, tmp_path, encoding):
    text = f"# Slack app, production\n\nSLACK_BOT_TOKEN={SLACK}\n"
    data = text.encode("utf-8").replace(b"\n", b"\0\n") if "NUL" in encoding else text.encode(encoding)
    with planted_in(project, {"docs/slack-notes.txt": data}):
        result = refused_build(project, tmp_path)
    assert "docs/slack-notes.txt:3: Slack token" in result.stderr
    assert_never_printed(result, SLACK)


@pytest.mark.parametrize("where", ["anywhere in a file with the SID", "assigned to auth_token"])
def test_a_twilio_auth_token_far_from_its_account_sid_stops_the_bundle(project, tmp_path, where):
    if where == "assigned to auth_token":
        files = {"multisms/local_settings.py": f'account_sid = "AC..."\nauth_token = "{TWILIO_TOKEN}"\n'}
        expected = "multisms/local_settings.py:2: Twilio auth token"
    else:
        filler = "".join(f"- step {n}: check the number in the Console\n" for n in range(200))
        files = {"docs/twilio-notes.md": f"Account: {TWILIO_SID}\n{filler}Primary token: {TWILIO_TOKEN}\n"}
        expected = "docs/twilio-notes.md:202: Twilio Account SID with an auth token"
    with planted_in(project, files):
        result = refused_build(project, tmp_path)
    assert expected in result.stderr
    assert_never_printed(result, TWILIO_TOKEN)


def test_a_foo_secret_assignment_stops_the_bundle_in_every_syntax(project, tmp_path):
    values = {form: f"{FOO_SECRET}{n}" for n, form in enumerate(["env", "shell", "yaml", "json", "python"])}
    files = {
        "docs/deploy.env": f"FOO_SECRET={values['env']}\n",
        "scripts/deploy.sh": f'#!/bin/sh\nexport FOO_SECRET="{values["shell"]}"\n',
        "docs/compose.yml": f"services:\n  web:\n    foo_secret: {values['yaml']}\n",
        "docs/settings.json": f'{{\n  "FOO_SECRET": "{values["json"]}"\n}}\n',
        "multisms/local_settings.py": f'FOO_SECRET: str = "{values["python"]}"\n',
    }
    with planted_in(project, files):
        result = refused_build(project, tmp_path)
    for where in ("docs/deploy.env:1", "scripts/deploy.sh:2", "docs/compose.yml:3", "docs/settings.json:2",
                  "multisms/local_settings.py:1"):
        assert f"{where}: secret assigned to " in result.stderr, where
    assert_never_printed(result, *values.values())


def test_a_password_inside_a_database_or_redis_url_stops_the_bundle(project, tmp_path):
    db_password, redis_password = f"{FOO_SECRET}-db", f"{FOO_SECRET}-redis"
    files = {"docs/staging.md": f"DATABASE_URL=postgres://multisms:{db_password}@db.internal:5432/multisms\n"
                                f"REDIS_URL=redis://:{redis_password}@cache.internal:6379/0\n"}
    with planted_in(project, files):
        result = refused_build(project, tmp_path)
    assert "docs/staging.md:1: password in a URL" in result.stderr
    assert "docs/staging.md:2: password in a URL" in result.stderr
    assert_never_printed(result, db_password, redis_password)


def _png_with_comment(comment: str) -> bytes:
    """A 1×1 grey image whose metadata holds `comment`, as a screenshot tool may write it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\0" + comment.encode()) + chunk(b"IDAT", zlib.compress(b"\0\x80"))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("kind", ["image with ASCII metadata", "font with a UTF-16 name"])
def test_a_secret_inside_a_binary_file_stops_the_bundle(project, tmp_path, kind):
    if kind == "image with ASCII metadata":
        name, data = "webhooks/static/panel/screenshot.png", _png_with_comment(f"OPENAI_API_KEY={OPENAI}")
    else:
        header = b"\x00\x01\x00\x00\x00\x0bGDEF\xb4\x42\xff\x9e" + bytes(range(128, 256))
        name, data = "webhooks/static/panel/brand.ttf", header + f"licence: {OPENAI}".encode("utf-16-be")
    with planted_in(project, {name: data}):
        result = refused_build(project, tmp_path)
    assert re.search(rf"{re.escape(name)}:\d+: OpenAI key", result.stderr)  # the line as `grep -n` counts it
    assert_never_printed(result, OPENAI)


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
    "FOO_SECRET=", "FOO_SECRET=...", "FOO_SECRET='…'", "FOO_SECRET=xxxxxxxx", "FOO_SECRET=changeme",
    "FOO_SECRET=<new>", "FOO_SECRET=${FOO_SECRET}", 'FOO_SECRET="$(openssl rand -hex 32)"',
    "FOO_SECRET=your-secret-here", "foo_secret: example-value", "PANEL_PASSWORD=   # unset: the panel is off",
    "api_key=settings.openai_api_key", 'MODE_KEY = "multisms:auto-reply-mode"', "API_TOKEN=try-me make run",
    "password: the one you chose when you created the app",
    "DATABASE_URL=postgres://user:pass@host:5432/multisms", "REDIS_URL=redis://:${REDIS_PASSWORD}@host:6379",
    "redis://[[username]:[password]]@localhost:6379/0", "https://user@example.com/path",
])
def test_placeholders_and_ordinary_text_pass(text):
    assert _scanner().scan_text(text) == []


def test_the_real_tree_passes():
    """The scan over every file of the project (the test-only tests/ and standins/ aside, which are never
    shipped), read as the bundle check reads it."""
    scanner = _scanner()
    findings = [str(f) for name in project_files() if not name.startswith(("tests/", "standins/"))
                for f in scanner.scan_readable(scanner.read_bytes((ROOT / name).read_bytes()), name)]
    assert findings == []


def test_the_scanner_on_its_own_refuses_a_symlink_and_names_it(tmp_path, capsys):
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "README.md").write_text("hello\n")
    (tmp_path / "bundle" / "settings.env").symlink_to(tmp_path / "elsewhere.env")
    assert _scanner().main([str(tmp_path / "bundle")]) == 1
    assert "cannot scan: settings.env is a symlink" in capsys.readouterr().err
