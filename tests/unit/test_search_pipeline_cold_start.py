"""The search engine's heavy imports stay off the cold start of every other route (one Lambda serves them all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "rjieba",
    "jieba",
    "pypinyin",
    "chalicelib.search.building",
    "chalicelib.search.engine",
    "chalicelib.search.text",
)


def test_importing_the_app_loads_no_segmenter_pinyin_or_search_engine_module() -> None:
    probe = (
        "import json, sys, app; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r})))"
    )
    env = {**os.environ, "SHOP_STAGE": "local", "PYTHONPATH": str(REPO_ROOT)}

    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_probe_would_see_the_engine_once_a_search_handler_loads_it() -> None:
    probe = (
        "import json, sys, app; from chalicelib.search.store import open_index; import chalicelib.search.engine; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r})))"
    )
    env = {**os.environ, "SHOP_STAGE": "local", "PYTHONPATH": str(REPO_ROOT)}

    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "chalicelib.search.engine" in json.loads(done.stdout.strip().splitlines()[-1])
