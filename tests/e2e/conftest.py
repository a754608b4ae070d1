"""End-to-end fixtures: one real `python -m local` server per test session, started as a developer would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer, login

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 120  # ~20 s alone; the seed competes with the other pytest worker
SHUTDOWN_TIMEOUT_SECONDS = 30
# Passed through from the caller's environment; nothing else leaks into the server (no AWS_* of the host).
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def _drain(server: LocalServer, ready: threading.Event) -> None:
    """Read the server's output until it exits, so a full pipe never blocks it; spot the READY line."""
    assert server.process.stdout is not None
    for line in server.process.stdout:
        server.output.append(line)
        if line.startswith("READY ") and not ready.is_set():
            server.base_url = line.split(" ", 1)[1].strip()
            ready.set()


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update({"PORT": "0", "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"})
    env["LOCAL_STATE_DIR"] = str(tmp_path_factory.mktemp("local-state"))  # starts empty; the developer's is left alone
    env["LOCAL_DEMO_HISTORY"] = "off"  # its replay competes with the tests (tests/functional/test_demo_history.py)
    env["LOCAL_RECOMMEND_REFRESH_SECONDS"] = "600"  # the first refresh (right after READY) is the one the tests read
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
    server = LocalServer(process)
    ready = threading.Event()
    reader = threading.Thread(target=_drain, args=(server, ready), name="local-server-output", daemon=True)
    reader.start()
    if not ready.wait(STARTUP_TIMEOUT_SECONDS):
        process.kill()
        process.wait(10)
        pytest.fail(
            f"`python -m local` printed no READY line within {STARTUP_TIMEOUT_SECONDS} s:\n{server.output_tail()}"
        )
    server.startup_seconds = time.monotonic() - started
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            returncode = None
        reader.join(5)
        if log_path := os.environ.get("E2E_SERVER_LOG"):  # keep everything the server printed, for debugging
            Path(log_path).write_text("".join(server.output), encoding="utf-8")
    assert returncode == 0, f"`python -m local` did not stop cleanly on SIGINT ({returncode}):\n{server.output_tail()}"


@pytest.fixture(scope="session")
def base_url(local_server: LocalServer) -> str:
    return local_server.base_url


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # the server is on loopback: never through a proxy from the environment
        yield session


@pytest.fixture(scope="session")
def customer_token(http: requests.Session, base_url: str) -> str:
    """A freshly registered customer's access token."""
    username = f"e2e_{uuid.uuid4().hex[:10]}"
    password = "customer-password-1"
    registered = http.post(f"{base_url}/auth/register", json={"username": username, "password": password}, timeout=10)
    assert registered.status_code == 201, registered.text
    return str(login(http, base_url, username, password)["access_token"])
