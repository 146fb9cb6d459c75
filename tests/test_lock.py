"""The lock files: they match their inputs, and `scripts/check_lock.py` notices when they stop matching.

The check is offline (nothing is resolved again), so a new release on the package index can
never turn CI red; only a change to the `.in` files or a hand-edited lock can.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = ("requirements.in", "requirements-dev.in", "requirements.txt", "requirements-dev.txt")

spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
check_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_lock)


@pytest.fixture
def project(tmp_path) -> Path:
    for name in FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_committed_lock_matches_its_inputs(capsys):
    assert check_lock.main([]) == 0, capsys.readouterr().err


def test_a_changed_range_is_caught_until_the_lock_is_refreshed(project, capsys):
    edit(project / "requirements.in", "rq>=2.8,<4", "rq>=2.8,<3")
    assert check_lock.main(["--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "requirements.txt was compiled from other inputs than today's requirements.in: run `make lock`" in err
    assert "rq==3.0.0 does not satisfy rq<3,>=2.8 (for 3.11/linux-x86_64" in err


def test_a_new_input_without_a_pin_is_caught_even_with_a_fresh_digest(project, capsys):
    edit(project / "requirements-dev.in", "pytest>=8,<10", "pytest>=8,<10\npytest-timeout>=2")
    assert check_lock.main(["--root", str(project), "--stamp"]) == 1  # the digest alone does not make it pass
    assert "requirements-dev.txt: pytest-timeout should be pinned once, found no pin" in capsys.readouterr().err


def test_a_lock_that_records_a_local_file_or_lacks_hashes_is_refused(project, capsys):
    lock = project / "requirements.txt"
    text = lock.read_text()
    pin = next(line for line in text.splitlines() if line.startswith("rq=="))
    edit(lock, pin, "rq @ file:///opt/pypi/simple/rq/rq-3.0.0-py3-none-any.whl \\")
    edit(lock, "\ntqdm==", "\nunhashed==1.0\ntqdm==")
    assert check_lock.main(["--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "requirements.txt records a local file or an index option" in err
    assert "rq @ file:///opt/pypi/simple/rq/rq-3.0.0-py3-none-any.whl is not pinned to one version" in err
    assert "requirements.txt: unhashed has no hashes" in err
