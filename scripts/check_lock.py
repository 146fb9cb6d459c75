"""Check that the lock files still match their inputs, offline: nothing is resolved again.

    python scripts/check_lock.py           # CI: exit 1 and say what differs
    python scripts/check_lock.py --stamp   # `make lock`: record the inputs' digest in each lock

`requirements.txt` is compiled from `requirements.in`, `requirements-dev.txt` from
`requirements-dev.in` (which includes `requirements.in`). A lock matches when its header records
the SHA-256 of its current inputs, every input requirement is pinned there with a version that
satisfies its range wherever its markers apply (Linux and macOS, Python 3.11–3.13), every pin has
hashes, no local file or index is recorded, and the dev lock pins the runtime packages exactly as
the runtime lock does. A new release on the package index cannot turn this red.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}
DIGEST_PREFIX = "# inputs-sha256: "
PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = (("linux", "Linux", "x86_64"), ("linux", "Linux", "aarch64"), ("darwin", "Darwin", "arm64"))
LOCAL_SOURCES = re.compile(r"file:|--(extra-)?index-url|--find-links|(^|\s)-[fi]\s|/opt/", re.MULTILINE)


def environments() -> list[dict[str, str]]:
    """The marker environments the lock must serve (what `--universal` resolved for)."""
    return [{"python_version": version, "python_full_version": f"{version}.0", "sys_platform": sys_platform,
             "platform_system": system, "platform_machine": machine, "os_name": "posix",
             "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
            for version in PYTHONS for sys_platform, system, machine in PLATFORMS]


def inputs_of(root: Path, name: str) -> list[Path]:
    """The `.in` file and every `.in` it includes with `-r` (constraints with `-c` are locks, not inputs)."""
    found, pending = [], [root / name]
    while pending:
        path = pending.pop()
        if path in found:
            continue
        found.append(path)
        for line in path.read_text().splitlines():
            if line.startswith(("-r ", "--requirement ")):
                pending.append(path.parent / line.split(maxsplit=1)[1].strip())
    return found


def digest(paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def requirements_in(paths: list[Path]) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for path in paths for line in path.read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def pins(root: Path, lock: str) -> tuple[list[tuple[Requirement, bool]], list[str]]:
    """Each pinned requirement of a lock and whether it has hashes; plus problems reading it."""
    text = (root / lock).read_text()
    entries, problems = [], []
    for block in re.split(r"\n(?=\S)", text):
        head = block.split("\\", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        try:
            requirement = Requirement(head)
        except InvalidRequirement as exc:
            problems.append(f"{lock}: cannot read {head!r} ({exc})")
            continue
        entries.append((requirement, "--hash=sha256:" in block))
    return entries, problems


def check(root: Path, lock: str, source: str) -> list[str]:
    paths = inputs_of(root, source)
    text = (root / lock).read_text()
    problems = []
    if f"{DIGEST_PREFIX}{digest(paths)}" not in text:
        problems.append(f"{lock} was compiled from other inputs than today's {', '.join(p.name for p in paths)}: "
                        "run `make lock`")
    if LOCAL_SOURCES.search(text):
        problems.append(f"{lock} records a local file or an index option: the lock must name packages only")
    entries, read_problems = pins(root, lock)
    problems += read_problems
    for requirement, hashed in entries:
        if len(requirement.specifier) != 1 or next(iter(requirement.specifier)).operator != "==":
            problems.append(f"{lock}: {requirement} is not pinned to one version")
        if not hashed:
            problems.append(f"{lock}: {requirement.name} has no hashes")
    for wanted in requirements_in(paths):
        problems += unmet(lock, wanted, entries)
    return problems


def unmet(lock: str, wanted: Requirement, entries: list[tuple[Requirement, bool]]) -> list[str]:
    """Problems with `wanted` in the environments where its markers apply, one line per kind of problem."""
    name, problems = canonicalize_name(wanted.name), {}
    for env in environments():
        if wanted.marker and not wanted.marker.evaluate(env):
            continue
        versions = [str(next(iter(pin.specifier)).version) for pin, _ in entries
                    if canonicalize_name(pin.name) == name and applies(pin.marker, env) and pin.specifier]
        if len(versions) != 1:
            problem = f"{lock}: {wanted.name} should be pinned once, found {', '.join(versions) or 'no pin'}"
        elif not wanted.specifier.contains(versions[0], prereleases=True):
            problem = f"{lock}: {wanted.name}=={versions[0]} does not satisfy {wanted}"
        else:
            continue
        problems.setdefault(problem, []).append(f"{env['python_version']}/{env['sys_platform']}-"
                                                f"{env['platform_machine']}")
    return [f"{problem} (for {', '.join(where)})" for problem, where in problems.items()]


def applies(marker: Marker | None, env: dict[str, str]) -> bool:
    return marker is None or marker.evaluate(env)


def runtime_pins_agree(root: Path) -> list[str]:
    """The dev lock must install the very versions production gets."""
    runtime, dev = ({(canonicalize_name(r.name), str(r.specifier), str(r.marker)) for r, _ in pins(root, lock)[0]}
                    for lock in ("requirements.txt", "requirements-dev.txt"))
    return [f"requirements-dev.txt lacks {name}{spec}{f' ; {marker}' if marker != 'None' else ''} of requirements.txt"
            for name, spec, marker in sorted(runtime - dev)]


def stamp(root: Path) -> None:
    """Record each lock's input digest right after the generated header (replacing an older one)."""
    for lock, source in LOCKS.items():
        path = root / lock
        lines = [line for line in path.read_text().splitlines() if not line.startswith(DIGEST_PREFIX)]
        at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines.insert(at, f"{DIGEST_PREFIX}{digest(inputs_of(root, source))}")
        path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stamp", action="store_true", help="record the inputs' digest in each lock")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder with the files (default: the project)")
    args = parser.parse_args(argv)
    if args.stamp:
        stamp(args.root)
    problems = [problem for lock, source in LOCKS.items() for problem in check(args.root, lock, source)]
    problems += runtime_pins_agree(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{', '.join(LOCKS)} match {', '.join(LOCKS.values())}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
