"""Cold start: `import app` against the bare stack (chalice, boto3, pynamodb, powertools, pydantic), each in a fresh
interpreter, interleaved, median of 7; then what a first request adds (registering its route's context), and the
whole app. Run: `PYTHONPATH=. .venv/bin/python bench/cold_start.py` (prints the figures; no AWS, no network)."""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
BARE = "import chalice, boto3, pynamodb, aws_lambda_powertools, pydantic"
CASES = {
    "bare stack": BARE,
    "import app": "import app",
    # What a cold API invocation loads before its view runs: the app, then its route's blueprint(s).
    "app + GET /health": "import app; app.app.routes['/health']",
    "app + GET /products": "import app; app.app.routes['/products']",
    "app + POST /orders": "import app; app.app.routes['/orders']",
    "app, every blueprint": "import app; app.app.register_every_blueprint()",
}


def environment() -> dict[str, str]:
    """A deployed stage's settings (tracing off: the X-Ray SDK loads on the first traced invocation, not at import)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SHOP_", "POWERTOOLS_"))}
    env.update(
        SHOP_STAGE="dev", POWERTOOLS_TRACE_DISABLED="true", PYTHONPATH=str(REPO_ROOT), AWS_DEFAULT_REGION="us-east-1"
    )
    return env


def wall_ms(code: str, env: dict[str, str]) -> float:
    """Wall-clock milliseconds of a fresh interpreter that runs `code` and exits (start-up and shutdown included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    # Lambda gets bytecode shipped in the package (infra/package.py); here, compile once so no run pays for it.
    compileall.compile_dir(REPO_ROOT / "chalicelib", quiet=1)
    compileall.compile_file(REPO_ROOT / "app.py", quiet=1)
    env = environment()
    for code in CASES.values():  # warm the page cache
        wall_ms(code, env)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(RUNS):
        for name, code in CASES.items():
            samples[name].append(wall_ms(code, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["bare stack"]
    print(f"cold start, fresh interpreters, interleaved, median of {RUNS} (wall ms, start-up and exit included)")
    for name, median in medians.items():
        print(f"  {name:<24} {median:7.0f} ms  {median / bare:5.2f}x bare")
    print(f"import app / bare stack: {medians['import app'] / bare:.2f}")


if __name__ == "__main__":
    main()
