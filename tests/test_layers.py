"""The dependency direction of the architecture page, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("multisms", "bot", "jobs", "webhooks", "knowledge")
FORBIDDEN = {
    "multisms": {"bot", "jobs", "webhooks", "knowledge", "flask", "slack_bolt", "slack_sdk"},
    "knowledge": {"bot", "jobs", "webhooks"},
    "bot": {"jobs", "webhooks", "knowledge", "flask"},
    "webhooks": {"jobs", "knowledge"},
    "jobs": {"webhooks"},
}
PURE = {"multisms/numbers.py", "multisms/segments.py", "multisms/batches.py", "multisms/errors.py"}
IMPURE_LIBRARIES = {"sqlalchemy", "redis", "rq", "twilio", "requests", "flask", "slack_sdk", "openai"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_follow_the_dependency_direction(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imports_of(path) & FORBIDDEN[package]) for path in sources(package)
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_pure_rules_import_no_side_effecting_library():
    offenders = {path: sorted(imports_of(ROOT / path) & IMPURE_LIBRARIES) for path in PURE}
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_only_config_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sources(package)
        if path != ROOT / "multisms" / "config.py"
        and ("os.environ" in path.read_text() or "os.getenv" in path.read_text())
    ]
    assert readers == []
