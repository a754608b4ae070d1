"""A flash sale (秒杀) under a crowd, with locust, on the real local stack: exactly the promo stock is won, nothing
is oversold, the SKU's regular stock is untouched, and how long admission (POST .../attempts) takes.

Run: .venv/bin/python bench/flash_sale_locust.py [--buyers 300] [--units 10] [--limit 1]
Starts `python -m local --port 0 --no-clients`, stocks one SKU (100 units), opens a running flash sale of `--units`
of it with a per-user limit, signs up `--buyers` customers with an address, then has locust start them all at once:
each buyer posts one attempt and polls it until it is decided. It prints the outcome counts, the checks and the
latencies, and exits non-zero if a check fails.

These are local figures: the local stack runs every AWS call on one moto server behind one lock (docs/scale.md,
"Flash sale", has the capacity on AWS). They show the rules hold under contention (the queue decides, conditional
writes never oversell), not the speed of DynamoDB or SQS.
"""

from __future__ import annotations

import argparse
import builtins
import functools
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Pool
from locust import HttpUser, constant, task
from locust.env import Environment
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway local account
STARTUP_SECONDS = 600
SKU_STOCK = 100
DECIDE_TIMEOUT_SECONDS = 900
SPAWN_RATE = 50  # buyers started a second: all 300 in 6 s, all in flight at once (the local server's backlog is 128)
ADDRESS = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
           "detail": "科技园 1 号"}  # fmt: skip


def start_local_server() -> tuple[subprocess.Popen[str], str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update({"SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1", "LOCAL_DEMO_BEHAVIOUR": "off"})
    env["FLASH_SALE_CACHE_SECONDS"] = "1"  # the deployed snapshot, not the local stage's 0
    env["FLASH_SALE_PAY_SECONDS"] = "3600"  # the local stack decides slowly: no win may lapse unpaid during the run
    command = [sys.executable, "-m", "local", "--port", "0", "--no-clients"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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


def call(base_url: str, method: str, path: str, body: Any = None, token: str = "") -> Any:
    import requests  # gevent-patched by locust's import

    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, base_url + path, json=body, headers=headers, timeout=120)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return response.json()


def iso(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare(base_url: str, buyers: int, units: int, limit: int) -> dict[str, Any]:
    """A SKU with SKU_STOCK units, a running session of `units` of it, and `buyers` customers with an address."""
    admin = call(base_url, "POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    call(base_url, "POST", "/admin/categories", {"category_id": "c_flash_root", "name": "秒杀压测"}, admin)
    category = {"category_id": "c_flash", "name": "秒杀手机", "parent_id": "c_flash_root"}
    call(base_url, "POST", "/admin/categories", category, admin)
    call(base_url, "POST", "/admin/brands", {"brand_id": "b_flash", "name": "秒杀品牌"}, admin)
    product = call(base_url, "POST", "/admin/products", {
        "title": "秒杀压测手机", "category_id": "c_flash", "brand_id": "b_flash",
        "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
        "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 199900, "stock": SKU_STOCK}],
    }, admin)  # fmt: skip
    sku_id = product["skus"][0]["sku_id"]
    item = {"sku_id": sku_id, "promo_price_fen": 99900, "promo_stock": units, "per_user_limit": limit}
    session = {"title": "压测秒杀", "starts_at": iso(-1), "ends_at": iso(3600), "items": [item]}
    session_id = call(base_url, "POST", "/admin/flash-sales", session, admin)["session_id"]

    def sign_up(index: int) -> str:
        username = f"flash{index}{uuid.uuid4().hex[:6]}"
        call(base_url, "POST", "/auth/register", {"username": username, "password": "password-long"})
        token = call(base_url, "POST", "/auth/login", {"username": username, "password": "password-long"})
        call(base_url, "POST", "/me/addresses", ADDRESS, token["access_token"])
        return str(token["access_token"])

    tokens = list(Pool(16).imap_unordered(sign_up, range(buyers)))
    return {"admin": admin, "sku_id": sku_id, "product_id": product["product_id"], "session_id": session_id,
            "tokens": tokens}  # fmt: skip


class Outcomes:
    def __init__(self) -> None:
        self.refused: dict[str, int] = {}
        self.decided: list[dict[str, Any]] = []
        self.tokens: dict[str, str] = {}
        self.errors: list[str] = []
        self.done = 0


def buyer_class(plan: dict[str, Any], outcomes: Outcomes, base_url: str) -> type[HttpUser]:
    waiting = list(plan["tokens"])

    class Buyer(HttpUser):
        host = base_url
        wait_time = constant(0)

        def on_start(self) -> None:
            self.token = waiting.pop()
            self.headers = {"authorization": f"Bearer {self.token}"}

        @task
        def attempt(self) -> None:
            path = f"/flash-sales/{plan['session_id']}/attempts"
            headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
            try:
                with self.client.post(
                    path, json={"sku_id": plan["sku_id"]}, headers=headers, name="POST attempt", catch_response=True
                ) as response:
                    if response.status_code == 202:
                        response.success()
                        self.follow(response.json()["attempt_id"])
                    elif response.status_code == 409:
                        response.success()
                        code = response.json()["code"]
                        outcomes.refused[code] = outcomes.refused.get(code, 0) + 1
                    else:
                        response.failure(f"{response.status_code}")
                        outcomes.errors.append(f"{response.status_code} {response.text[:120]}")
            finally:
                outcomes.done += 1
            raise StopUser()

        def follow(self, attempt_id: str) -> None:
            deadline, pause = time.monotonic() + DECIDE_TIMEOUT_SECONDS, 2.0
            while time.monotonic() < deadline:
                answer = self.client.get(
                    f"/flash-sales/attempts/{attempt_id}", headers=self.headers, name="GET attempt"
                )
                body = answer.json() if answer.status_code == 200 else {}
                if body.get("status") in ("WON", "LOST"):
                    outcomes.decided.append(body)
                    outcomes.tokens[attempt_id] = self.token
                    return
                gevent.sleep(pause)
                pause = min(pause * 1.5, 10.0)  # polls must not crowd out the attempts on the one local server
            outcomes.errors.append(f"{attempt_id} still QUEUED after {DECIDE_TIMEOUT_SECONDS} s")

    return Buyer


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> int:
    print = functools.partial(builtins.print, flush=True)  # progress shows while it runs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=300)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--limit", type=int, default=1)
    args = parser.parse_args()
    process, base_url = start_local_server()
    try:
        started = time.monotonic()
        plan = prepare(base_url, args.buyers, args.units, args.limit)
        print(f"prepared {args.buyers} buyers in {time.monotonic() - started:.0f} s")
        outcomes = Outcomes()
        environment = Environment(user_classes=[buyer_class(plan, outcomes, base_url)])
        runner = environment.create_local_runner()
        started = time.monotonic()
        runner.start(args.buyers, spawn_rate=SPAWN_RATE)
        while outcomes.done < args.buyers or len(outcomes.decided) + sum(outcomes.refused.values()) < args.buyers:
            if outcomes.errors and outcomes.done >= args.buyers:
                break
            gevent.sleep(0.5)
        elapsed = time.monotonic() - started
        runner.quit()
        session = call(base_url, "GET", f"/flash-sales/{plan['session_id']}")
        product = call(base_url, "GET", f"/products/{plan['product_id']}")
        orders = [
            call(base_url, "GET", f"/orders/{a['order_id']}", token=outcomes.tokens[a["attempt_id"]])
            for a in outcomes.decided
            if a["status"] == "WON"
        ]
        admission = environment.stats.get("POST attempt", "POST")
    finally:
        process.terminate()
        process.wait(60)
    won = [a for a in outcomes.decided if a["status"] == "WON"]
    lapsed = [o for o in orders if o["status"] == "CANCELLED"]  # an unpaid win gives its unit back (by design)
    lost: dict[str, int] = {}
    for a in outcomes.decided:
        if a["status"] == "LOST":
            lost[a["reason"]] = lost.get(a["reason"], 0) + 1
    remaining = session["items"][0]["remaining"]
    stock = next(s["stock"] for s in product["skus"] if s["sku_id"] == plan["sku_id"])
    decide_seconds = [
        (datetime.fromisoformat(a["decided_at"].replace("Z", "+00:00")) -
         datetime.fromisoformat(a["created_at"].replace("Z", "+00:00"))).total_seconds()
        for a in outcomes.decided
    ]  # fmt: skip
    checks = {
        f"exactly {args.units} won": len(won) - len(lapsed) == args.units,
        "nothing oversold (won + remaining = promo stock)": len(won) - len(lapsed) + remaining == args.units,
        "every win is a flash_sale order at the promo price": all(
            o["kind"] == "flash_sale" and o["items"][0]["unit_price_fen"] == 99900 for o in orders
        ),
        f"regular stock untouched ({SKU_STOCK} - {args.units} set aside)": stock == SKU_STOCK - args.units,
        "no errors": not outcomes.errors,
    }
    print(f"local stack (moto behind one lock), {args.buyers} buyers at once on {args.units} units, limit {args.limit}")
    print(f"run: {elapsed:.1f} s; won {len(won)} ({len(lapsed)} lapsed unpaid), lost {lost}")
    print(f"refused at admission: {outcomes.refused}")
    print(
        f"admission POST .../attempts: {admission.num_requests} requests, p50 {admission.median_response_time:.0f} ms,"
        f" p99 {admission.get_response_time_percentile(0.99):.0f} ms, max {admission.max_response_time:.0f} ms"
    )
    if decide_seconds:
        print(
            f"queued -> decided: p50 {statistics.median(decide_seconds):.1f} s,"
            f" p99 {percentile(decide_seconds, 0.99):.1f} s"
        )
    for name, held in checks.items():
        print(f"  {'ok ' if held else 'FAIL'} {name}")
    if outcomes.errors:
        print(f"  {len(outcomes.errors)} errors, e.g. {outcomes.errors[:3]}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
