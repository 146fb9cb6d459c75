"""docs/: present, linked from the README, links that resolve, and nothing that can go stale silently."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from bot.commands.registry import HELP_LINES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/user-guide.md", "docs/operations.md", "docs/development.md", "docs/api.md")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _api_docs_builder():
    spec = importlib.util.spec_from_file_location("build_api_docs", ROOT / "scripts" / "build_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_generated_from_the_openapi_document():
    generated = _api_docs_builder().render()
    assert (ROOT / "docs/api.md").read_text() == generated, \
        "docs/api.md is out of date: run `python scripts/build_api_docs.py` (make docs)"
    for path in ("/api/multi-sms/batches", "/api/multi-sms/batches/{batch_id}/retry", "/api/health"):
        assert f" {path}`" in generated


def test_readme_links_every_document():
    readme = (ROOT / "README.md").read_text()
    for doc in (*DOCS, "release/README.md"):
        assert f"]({doc})" in readme, f"README.md should link {doc}"


@pytest.mark.parametrize("doc", [*DOCS, "README.md", "release/README.md"])
def test_relative_links_resolve(doc):
    source = ROOT / doc
    broken = [target for target in _LINK.findall(source.read_text())
              if "://" not in target and not target.startswith("mailto:")
              and not (source.parent / target).exists()]
    assert broken == []


def test_user_guide_shows_every_slack_command_with_an_example():
    guide = (ROOT / "docs/user-guide.md").read_text()
    verbs = {line.split(" ", 1)[0] for line, _ in HELP_LINES}
    missing = sorted(verb for verb in verbs if not re.search(rf"/multisms {re.escape(verb)}\b", guide))
    assert missing == [], "document these commands in docs/user-guide.md"


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Layout")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end != -1 else len(readme)]


@pytest.mark.parametrize("package", ["multisms", "jobs", "bot", "bot/commands", "bot/blocks", "webhooks",
                                     "webhooks/api", "webhooks/panel"])
def test_the_readme_layout_names_every_module(package):
    """A newcomer finds a feature by its name in the README: every module there is named."""
    layout = _layout_block()
    modules = sorted(path.stem for path in (ROOT / package).glob("*.py") if not path.stem.startswith("_"))
    modules += sorted(path.name for path in (ROOT / package).iterdir()
                      if path.is_dir() and (path / "__init__.py").exists())
    missing = [name for name in modules if not re.search(rf"\b{re.escape(name)}\b", layout)]
    assert missing == [], f"README.md's layout section does not name {missing} of {package}/"


def test_the_development_guide_table_names_every_top_level_folder():
    guide = (ROOT / "docs/development.md").read_text()
    folders = sorted(path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists())
    missing = [name for name in folders if f"`{name}/`" not in guide]
    assert missing == [], f"docs/development.md's layout table does not name {missing}"
