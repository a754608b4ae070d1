"""`make run` keeps the stage's data across a normal stop and start: a customer, their order and its timer survive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer
from tests.e2e.test_orders_e2e import ADDRESS, TIMEOUT, bearer

pytestmark = pytest.mark.xdist_group("e2e")

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 240  # two starts; the machine may be busy
PAY_SECONDS = 20  # the order's pay deadline: it runs out around the restart


def start_server(state_dir: Path, **extra: str) -> LocalServer:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update({"PORT": "0", "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1",
                "LOCAL_STATE_DIR": str(state_dir), "LOCAL_CLIENTS": "off", "LOCAL_DEMO_BEHAVIOUR": "off",
                "LOCAL_DEMO_HISTORY": "off",
                "PAYMENT_TIMEOUT_SECONDS": str(PAY_SECONDS), "ORDER_SWEEP_GRACE_SECONDS": "3600", **extra})  # fmt: skip
    # --no-seed: an empty shop with its admin account (the demo catalog's seed would be most of each start's time)
    process = subprocess.Popen([sys.executable, "-m", "local", "--port", "0", "--no-seed"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                               errors="replace")  # fmt: skip
    server, ready = LocalServer(process), threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line)
            if line.startswith("READY "):
                server.base_url = line.split(" ", 1)[1].strip()
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT_SECONDS):
        process.kill()
        pytest.fail(f"no READY line:\n{server.output_tail()}")
    return server


def login(http: requests.Session, base_url: str, username: str, password: str) -> dict[str, str]:
    """Signs in (argon2id on a busy machine: the patient timeout of the other calls)."""
    answer = http.post(f"{base_url}/auth/login", json={"username": username, "password": password}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def stop_server(server: LocalServer) -> int:
    server.process.send_signal(signal.SIGINT)
    try:
        return server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return -1


def stocked_sku(http: requests.Session, base: str) -> str:
    """The admin stocks the empty shop with one product (a category, a brand, one SKU); its sku_id."""
    admin = bearer(login(http, base, "admin", ADMIN_PASSWORD)["access_token"])

    def create(path: str, body: dict[str, object]) -> dict[str, object]:
        answer = http.post(f"{base}{path}", json=body, headers=admin, timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    root = create("/admin/categories", {"name": "手机数码"})
    leaf = create("/admin/categories", {"name": "手机", "parent_id": root["category_id"]})
    brand = create("/admin/brands", {"name": "华为"})
    product = create("/admin/products", {
        "title": "华为 Mate 60", "category_id": leaf["category_id"], "brand_id": brand["brand_id"],
        "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
        "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 19900, "stock": 5}],
    })  # fmt: skip
    skus = product["skus"]
    assert isinstance(skus, list)
    return str(skus[0]["sku_id"])


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_a_customer_their_order_and_its_timer_survive_a_stop_and_a_start(
    http: requests.Session, state_dir: Path
) -> None:
    # GIVEN a running local stage where a customer registered and placed an unpaid order
    first = start_server(state_dir)
    try:
        base = first.base_url
        username = f"keeper_{uuid.uuid4().hex[:8]}"
        registered = http.post(f"{base}/auth/register", json={"username": username, "password": "password-long"},
                               timeout=TIMEOUT)  # fmt: skip
        assert registered.status_code == 201, registered.text
        headers = bearer(login(http, base, username, "password-long")["access_token"])
        address = http.post(f"{base}/me/addresses", json=ADDRESS, headers=headers, timeout=TIMEOUT)
        address_id = address.json()["address_id"]
        sku_id = stocked_sku(http, base)
        body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
        key = {**headers, "Idempotency-Key": username}
        placed = http.post(f"{base}/orders", json=body, headers=key, timeout=TIMEOUT)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        # (still unpaid when the server stops)
        assert http.get(f"{base}/orders/{order_id}", headers=headers, timeout=TIMEOUT).json()["status"] == (
            "PENDING_PAYMENT"
        )
    finally:
        # WHEN the developer stops it (Ctrl-C) and starts it again
        assert stop_server(first) == 0, first.output_tail()
    assert any(line.startswith("state kept in") for line in first.output), first.output_tail()
    second = start_server(state_dir)
    try:
        base = second.base_url
        # THEN the customer signs in with the same password, their old token still works, and the order is there
        assert login(http, base, username, "password-long")["access_token"]
        assert http.get(f"{base}/me", headers=headers, timeout=TIMEOUT).status_code == 200
        order = http.get(f"{base}/orders/{order_id}", headers=headers, timeout=TIMEOUT).json()
        assert order["order_id"] == order_id
        # AND its payment timer still runs out: the order is cancelled by its execution, started again at start (the
        # sweeper would wait an hour past the deadline here); on a slow start the deadline may have passed already
        deadline = time.monotonic() + PAY_SECONDS + 90
        while order["status"] == "PENDING_PAYMENT" and time.monotonic() < deadline:
            time.sleep(1)
            order = http.get(f"{base}/orders/{order_id}", headers=headers, timeout=TIMEOUT).json()
        assert order["status"] == "CANCELLED", order
    finally:
        assert stop_server(second) == 0, second.output_tail()
