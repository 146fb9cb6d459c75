"""The shape of the code: the import contracts in pyproject.toml hold (import-linter), modules stay
small, and settings are read in one place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("multisms", "bot", "jobs", "webhooks", "knowledge", "standins", "scripts", "bench")
MAX_LINES = 400


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_import_contracts_hold():
    """Dependency direction, no SQL or RQ in bot/, jobs take only blocks and the client from bot/,
    bench/ takes nothing from tests/, no cycles (lazy imports included): pyproject.toml lists them.
    (In a process of its own: import-linter sets up logging its own way.)"""
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_400_lines(package):
    long = {str(path.relative_to(ROOT)): n for path in sources(package)
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_only_config_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for package in ("multisms", "bot", "jobs", "webhooks", "knowledge")
        for path in sources(package)
        if path != ROOT / "multisms" / "config.py"
        and ("os.environ" in path.read_text() or "os.getenv" in path.read_text())
    ]
    assert readers == []
