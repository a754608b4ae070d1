"""Checkout under concurrent buyers on the real local stack: orders per second and latency of POST /orders.

Run: make bench (or .venv/bin/python bench/checkout_local.py [--buyers 16] [--seconds 20]).
Starts `python -m local --port 0` (the embedded moto server, pollers and order state machine), stocks one
SKU, signs up N buyers and has each post orders in a loop for the given time. Every order is one transaction, one
StartExecution and its execution's first task on the same moto server: the figure is what the local stack does on
this machine (moto serialises every AWS call behind one lock), a floor and a regression check, not a forecast for
DynamoDB. bench/checkout.py counts the AWS calls per order.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway local account
STARTUP_SECONDS = 120


def start_local_server() -> tuple[subprocess.Popen[str], str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update({"SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1", "LOCAL_DEMO_BEHAVIOUR": "off"})
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    for line in process.stdout:
        if line.startswith("READY "):
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()  # drain
            return process, line.split(" ", 1)[1].strip()
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit("python -m local printed no READY line")


def call(http: httpx.Client, method: str, path: str, body: Any = None, token: str = "", **headers: str) -> Any:
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = http.request(method, path, json=body, headers=headers)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return response.json()


def prepare(http: httpx.Client, buyers: int, stock: int) -> tuple[str, list[tuple[str, str]]]:
    """A stocked SKU and `buyers` signed-in customers with an address: (sku_id, [(token, address_id)])."""
    admin = call(http, "POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    call(http, "POST", "/admin/categories", {"category_id": "c_bench_root", "name": "压测"}, admin)
    call(http, "POST", "/admin/categories", {"category_id": "c_bench", "name": "压测手机", "parent_id": "c_bench_root"},
         admin)  # fmt: skip
    call(http, "POST", "/admin/brands", {"brand_id": "b_bench", "name": "压测品牌"}, admin)
    product = call(http, "POST", "/admin/products", {
        "title": "压测手机", "category_id": "c_bench", "brand_id": "b_bench",
        "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
        "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 199900, "stock": stock}],
    }, admin)  # fmt: skip
    shoppers = []
    for index in range(buyers):
        username = f"bench{index}{uuid.uuid4().hex[:6]}"
        call(http, "POST", "/auth/register", {"username": username, "password": "password-long"})
        token = call(http, "POST", "/auth/login", {"username": username, "password": "password-long"})["access_token"]
        address = call(http, "POST", "/me/addresses", {
            "receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
            "district": "南山区", "detail": "科技园 1 号",
        }, token)  # fmt: skip
        shoppers.append((token, address["address_id"]))
    return product["skus"][0]["sku_id"], shoppers


def buy_until(base_url: str, sku_id: str, token: str, address_id: str, stop_at: float, out: list[float]) -> None:
    body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
    with httpx.Client(base_url=base_url, timeout=60) as http:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            call(http, "POST", "/orders", body, token, **{"Idempotency-Key": uuid.uuid4().hex})
            out.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    process, base_url = start_local_server()
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            sku_id, shoppers = prepare(http, args.buyers, stock=100_000)
        latencies: list[list[float]] = [[] for _ in shoppers]
        stop_at = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=buy_until, args=(base_url, sku_id, token, address_id, stop_at, latencies[i]))
            for i, (token, address_id) in enumerate(shoppers)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with httpx.Client(base_url=base_url, timeout=60) as http:
            stock = call(http, "GET", f"/products/{sku_id.rsplit('-', 1)[0]}")["skus"][0]["stock"]
    finally:
        process.terminate()
        process.wait(30)
    every = sorted(latency for per_buyer in latencies for latency in per_buyer)
    orders = len(every)
    print(f"buyers: {args.buyers}, {orders} orders in {elapsed:.1f} s = {orders / elapsed:.1f} orders/s (local stack)")
    print(f"latency p50 {statistics.median(every) * 1000:.0f} ms, p99 {every[int(0.99 * (orders - 1))] * 1000:.0f} ms")
    print(f"stock left {stock} = 100000 - {orders}: {'ok' if stock == 100_000 - orders else 'MISMATCH'}")


if __name__ == "__main__":
    main()
