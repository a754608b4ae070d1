"""Time to READY of `make run` from an empty state: `python -m local` with FRESH=1 and a state directory of its own
(the developer's `.local-state/` is left alone), the clients already built, runs one after another.

Goal: under 60 s on the project's 2-core machine, measured alone (the test suite only checks that the server comes up
and says where it is: a time taken beside another pytest worker is not this figure).
Run: `PYTHONPATH=. .venv/bin/python bench/startup.py [--runs N]` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 60.0
LIMIT_SECONDS = 300.0


def one_start() -> float:
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "FRESH": "1", "LOCAL_STATE_DIR": state, "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("READY "):
                    return time.monotonic() - started
                if time.monotonic() - started > LIMIT_SECONDS:
                    break
            raise SystemExit(f"no READY within {LIMIT_SECONDS:.0f} s")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    seconds = [round(one_start(), 1) for _ in range(args.runs)]
    median = statistics.median(seconds)
    print(json.dumps({"ready_seconds": seconds, "median": median, "goal": GOAL_SECONDS, "met": median < GOAL_SECONDS}))


if __name__ == "__main__":
    main()
