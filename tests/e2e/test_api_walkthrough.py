"""docs/api.md's purchase walkthrough, run as a reader would: its shell blocks in order, with curl and jq, against
the real local server. A doc that drifts from the API fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer

pytestmark = pytest.mark.xdist_group("e2e")
DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
INDEX_WAIT_SECONDS = 60


def walkthrough() -> str:
    section = DOC.read_text(encoding="utf-8").split("## A purchase from start to finish, in curl", 1)[1]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))


def test_the_walkthrough_has_every_step_of_a_purchase() -> None:
    script = walkthrough()

    for step in ("/auth/register", "/me/addresses", "/search", "/cart/items", "/orders/preview", "/pay", "/ship",
                 "/receive", "/reviews"):  # fmt: skip
        assert step in script, step


def test_the_purchase_walkthrough_in_the_docs_runs_as_written(
    local_server: LocalServer, http: requests.Session, base_url: str
) -> None:
    if not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("the walkthrough needs curl and jq (`apt-get install curl jq`; .ci/run installs them)")
    deadline = time.monotonic() + INDEX_WAIT_SECONDS  # the demo's search index is published shortly after start
    while not http.get(f"{base_url}/search", params={"q": "手机", "in_stock": "true"}, timeout=30).json()["items"]:
        assert time.monotonic() < deadline, "the demo catalog was not searchable within a minute of start"
        time.sleep(1)

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        env={"PATH": os.environ["PATH"], "BASE": base_url, "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "NO_PROXY": "*"},
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    assert "PAID" in lines and "RECEIVED" in lines
    assert lines[-1] == '["PENDING_PAYMENT","PAID","SHIPPED","RECEIVED"]'
