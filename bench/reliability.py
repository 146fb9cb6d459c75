"""The fault-injection suite (tests/reliability) in its long mode, with its totals.

CI runs each process-killing test once; this runs them `--rounds` times (2 × rounds worker
SIGKILLs at random moments, and so on) and prints the faults injected, the recipients
checked, duplicates and lost recipients (both must stay 0).

    .venv/bin/python bench/reliability.py --rounds 5
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/reliability.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "RELIABILITY_ROUNDS": str(args.rounds)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability"],
                            cwd=ROOT, env=env)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
