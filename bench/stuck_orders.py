"""Stuck orders: a few hundred orders on moto while Step Functions, the outbox queue and the payment gateway fail.

Run: make bench (or PYTHONPATH=. .venv/bin/python bench/stuck_orders.py [--orders 300]).
Goal: 0 stuck. Every order is placed through the HTTP API and lives through the real order state machine (moto runs
the ASL with timers of seconds), the orders stream and the order-outbox queue (polled as `make run` polls them) and
the sweeper (run every 2 s here, every 5 minutes deployed). Meanwhile the app's StartExecution, SendTaskSuccess and
SendTaskFailure fail on their first calls, the outbox's SendMessageBatch fails often enough that the local stream
poller gives up on some batches (their starts and answers are lost: only the sweeper can repair those orders), and
the sandbox gateway refuses its first refund calls. The orders take six paths: unpaid (payment timeout), paid and
never shipped (ship deadline: refunded in full), shipped and never confirmed (automatic receipt, then settlement),
a refund nobody decides (approved automatically), cancelled by the buyer, and paid after the pay deadline (never
PAID: cancelled, the payment refunded). At the end every order must be final, with stock, points and coupons as its
final status says. "Stuck" counts the orders that are not final when the run ends.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from _inprocess import ROOT, prepare_environment

prepare_environment()
os.environ.update(
    {
        "PAYMENT_TIMEOUT_SECONDS": "30",
        "SHIP_DEADLINE_SECONDS": "15",
        "AUTO_RECEIVE_SECONDS": "3",
        "REVIEW_WINDOW_SECONDS": "2",
        "AFTER_SALES_AUTO_APPROVE_SECONDS": "3",
        "ORDER_SWEEP_GRACE_SECONDS": "8",
        "ORDER_SWEEP_RETRY_SECONDS": "3",
        "PAYMENT_HTTP_TIMEOUT_SECONDS": "2",
    }
)

from chalicelib.accounts import service as accounts_service  # noqa: E402
from chalicelib.accounts.repository import DynamoAccountsRepository  # noqa: E402
from chalicelib.bootstrap import container  # noqa: E402
from chalicelib.config import reset_caches  # noqa: E402
from chalicelib.payments.repository import DynamoPaymentsRepository  # noqa: E402
from chalicelib.points.rules import points_earned_for  # noqa: E402
from local.aws import lambda_dispatch  # noqa: E402
from local.aws.moto_server import apply_moto_workarounds  # noqa: E402
from local.aws.pollers import stop_pollers  # noqa: E402
from local.aws.provision import provision  # noqa: E402
from local.providers.payments.server import PaymentGateways  # noqa: E402
from tests.functional.catalog_data import create_catalog, product_body  # noqa: E402
from tests.functional.conftest import ShopClient  # noqa: E402
from tests.functional.order_machinery import (  # noqa: E402
    ClientFaults,
    StepFunctionsFaults,
    start_outbox_pollers,
    stop_running_executions,
)
from tests.functional.test_coupons import template_body  # noqa: E402

ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway moto account
PASSWORD = "correct horse 1"  # noqa: S105 - a throwaway moto account
FINAL = {"unpaid": "CANCELLED", "unshipped": "REFUNDED", "received": "COMPLETED", "undecided": "REFUNDED",
         "cancelled": "CANCELLED", "late": "CANCELLED"}  # fmt: skip
PATHS = tuple(FINAL)
FINAL_STATUSES = {"CANCELLED", "COMPLETED", "REFUNDED"}
STOCK = 100_000
WAVE = 12  # orders placed, then acted on together once their executions wait
POINTS = 10_000
SWEEP_EVENT = json.loads((ROOT / "events" / "sweep_orders.json").read_text(encoding="utf-8"))


def ok(answer: tuple[int, Any, Any], what: str) -> Any:
    status, body, _ = answer
    if status >= 300:
        raise RuntimeError(f"{what}: {status} {body}")
    return body


def set_up(client: ShopClient, buyers: int) -> tuple[str, str, list[dict[str, Any]]]:
    """An admin, one SKU with plenty of stock, and buyers with an address, points and coupons to spend."""
    accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", ADMIN_PASSWORD)
    login = {"username": "admin", "password": ADMIN_PASSWORD}
    admin = ok(client.call("POST", "/auth/login", login), "admin login")["access_token"]
    create_catalog(client, admin)
    body = product_body("华为 Mate 60", stock=STOCK)
    sku_id = ok(client.call("POST", "/admin/products", body, token=admin), "product")["skus"][0]["sku_id"]
    coupon = template_body(total=100_000, per_user_limit=100, threshold_fen=0, amount_off_fen=1000)
    template_id = ok(client.call("POST", "/admin/coupons", coupon, token=admin), "coupon template")["template_id"]
    people = []
    for n in range(buyers):
        account = {"username": f"buyer{n}", "password": PASSWORD}
        ok(client.call("POST", "/auth/register", account), "register")
        token = ok(client.call("POST", "/auth/login", account), "login")["access_token"]
        address = {"receiver": "张三", "phone": f"139{n:08d}", "province": "广东省", "city": "深圳市",
                   "district": "南山区", "detail": "科技园 1 号"}  # fmt: skip
        address_id = ok(client.call("POST", "/me/addresses", address, token=token), "address")["address_id"]
        user_id = ok(client.call("GET", "/me", token=token), "me")["user_id"]
        grant = {"user_id": user_id, "points": POINTS, "reason": "bench"}
        ok(client.call("POST", "/admin/points/grants", grant, token=admin), "points")
        people.append({"token": token, "address_id": address_id, "user_id": user_id, "template_id": template_id})
    return admin, sku_id, people


def place(client: ShopClient, buyer: dict[str, Any], sku_id: str, n: int) -> dict[str, Any]:
    """Order n: 1-3 units, every third with a coupon, every other one paying 100 points."""
    body: dict[str, Any] = {"address_id": buyer["address_id"], "items": [{"sku_id": sku_id, "quantity": 1 + n % 3}]}
    if n % 3 == 0:
        claimed = ok(client.call("POST", f"/coupons/{buyer['template_id']}/claim", token=buyer["token"]), "claim")
        body["coupon_id"] = claimed["coupon_id"]
    if n % 2 == 0:
        body["points"] = 100
    return dict(ok(client.call("POST", "/orders", body, token=buyer["token"], **{"Idempotency-Key": f"k{n}"}), "order"))


def start_paying(client: ShopClient, token: str, order_id: str) -> str | None:
    """Start a sandbox payment and open its page; None if the order can no longer be paid (its deadline passed)."""
    status, started, _ = client.call("POST", f"/orders/{order_id}/pay", {"channel": "sandbox"}, token=token)
    if status == 409:
        return None
    if status != 200:
        raise RuntimeError(f"pay {order_id}: {status} {started}")
    with urllib.request.urlopen(started["pay_url"], timeout=10) as page:  # noqa: S310 - the emulator on loopback
        page.read()
    return str(started["payment_id"])


def pay(client: ShopClient, gateways: PaymentGateways, token: str, order_id: str) -> str | None:
    """Pay the order at the emulated gateway, whose notify reaches the app."""
    payment_id = start_paying(client, token, order_id)
    if payment_id is not None:
        status, _ = gateways.pay("sandbox", payment_id)
        if not 200 <= status < 300:
            raise RuntimeError(f"the notify of {order_id} answered {status}")
    return payment_id


def order_of(order_id: str) -> dict[str, Any]:
    found = container().shop.orders.order(order_id)
    assert found is not None
    return found.record()


def wait_for(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


class Sweeper(threading.Thread):
    """The sweep_orders schedule, every `period` seconds."""

    def __init__(self, client: ShopClient, period: float) -> None:
        super().__init__(name="bench-sweeper", daemon=True)
        self.client, self.period = client, period
        self.stopping = threading.Event()
        self.totals: collections.Counter[str] = collections.Counter()

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            try:
                summary = self.client.lambda_.invoke("sweep_orders", SWEEP_EVENT).payload
                self.totals.update({k: v for k, v in summary.items() if k != "due"})
            except Exception as error:  # the sweep of the next period tries again
                print(f"  sweep failed: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every order to be final")
    args = parser.parse_args()

    from moto import mock_aws

    from app import app

    apply_moto_workarounds()
    # As tests/functional/conftest.py: moto runs the state machine's ASL and Lambda without Docker.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        os.environ.update(provision(app, stage="local"))
        reset_caches()
        lambda_dispatch.install(app, "local")
        pollers = start_outbox_pollers(app)
        with ShopClient(app, stage_name="local") as client:

            def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
                lowered = {k.lower(): v for k, v in headers.items()}
                response = client.http.request("POST", urlsplit(url).path, headers=lowered, body=body)
                return response.status_code, str(response.body)

            gateways = PaymentGateways(deliver=deliver).start()
            os.environ.update(gateways.env(notify_base="http://localhost"))
            reset_caches()
            try:
                run(client, gateways, args)
            finally:
                gateways.stop()
                stop_pollers(pollers)
                stop_running_executions()
                lambda_dispatch.uninstall()


def run(client: ShopClient, gateways: PaymentGateways, args: argparse.Namespace) -> None:
    admin, sku_id, people = set_up(client, args.buyers)
    sfn_failures = {"StartExecution": args.orders // 4, "SendTaskSuccess": args.orders // 5,
                    "SendTaskFailure": args.orders // 10}  # fmt: skip
    sqs_failures = {"SendMessageBatch": 12}  # the stream poller gives up on a batch after 5 tries
    orders: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    sweeper = Sweeper(client, period=2.0)
    sweeper.start()
    with StepFunctionsFaults(sfn_failures) as sfn, ClientFaults("sqs", sqs_failures) as sqs:
        gateways.fail("error", times=max(args.orders // 30, 3))  # refunds: the gateway answers 500 at first
        for first in range(0, args.orders, WAVE):
            wave = []
            for n in range(first, min(first + WAVE, args.orders)):
                entry = {"path": PATHS[n % len(PATHS)], "buyer": people[n % len(people)]}
                entry["order"] = place(client, entry["buyer"], sku_id, n)
                orders[entry["order"]["order_id"]] = entry
                wave.append(entry)
            act(client, gateways, admin, wave)
        print(f"placed and acted on {len(orders)} orders in {time.monotonic() - started:.1f} s")
        pay_late(gateways, orders)
        everything_final = wait_for(lambda: all(order_of(o)["status"] in FINAL_STATUSES for o in orders), args.timeout)
        elapsed = time.monotonic() - started
    sweeper.stopping.set()
    sweeper.join(10)
    report(orders, sku_id, people, client, elapsed, everything_final, sfn, sqs, gateways, sweeper)


def tokens_held(orders: list[dict[str, Any]], field: str, timeout: float = 4.0) -> None:
    """Wait (a little) until the executions of these orders wait on `field`, so acting on them answers a token."""
    wait_for(lambda: all(order_of(entry["order"]["order_id"]).get(field) for entry in orders), timeout)


def act(client: ShopClient, gateways: PaymentGateways, admin: str, wave: list[dict[str, Any]]) -> None:
    """What the buyers and the admin do with a wave of new orders, by path, once their payment waits hold their
    tokens (so the answers go through the outbox): pay, then ship or ask a refund once paid; cancel; start a payment
    that arrives late."""
    tokens_held(wave, "payment_token")
    for entry in wave:
        path, token, order_id = entry["path"], entry["buyer"]["token"], entry["order"]["order_id"]
        if path in ("unshipped", "received", "undecided"):
            entry["payment_id"] = pay(client, gateways, token, order_id)
        elif path == "cancelled":
            client.call("POST", f"/orders/{order_id}/cancel", token=token)  # 409 if its timer cancelled it first
        elif path == "late":
            entry["payment_id"] = start_paying(client, token, order_id)
    moving_on = [entry for entry in wave if entry["path"] in ("received", "undecided")]
    wait_for(lambda: all(order_of(entry["order"]["order_id"]).get("status") == "PAID" for entry in moving_on), 4.0)
    for entry in moving_on:
        token, order_id = entry["buyer"]["token"], entry["order"]["order_id"]
        if entry["path"] == "received":
            ship = {"carrier": "sf", "tracking_no": f"SF{order_id[-8:]}"}
            client.call("POST", f"/admin/orders/{order_id}/ship", ship, token=admin)  # refunded at its deadline: 409
        else:
            request = {"type": "refund_only", "reason": "不想要了"}
            client.call("POST", f"/orders/{order_id}/refunds", request, token=token)


def pay_late(gateways: PaymentGateways, orders: dict[str, dict[str, Any]]) -> None:
    """The late payers' money arrives once every pay deadline passed, whether or not the cancels ran yet."""
    late = [entry for entry in orders.values() if entry["path"] == "late"]
    time.sleep(max(0.0, min_deadline(orders) + 0.5 - time.monotonic()))
    for entry in late:
        if entry["payment_id"] is not None:
            gateways.pay("sandbox", entry["payment_id"])


def min_deadline(orders: dict[str, dict[str, Any]]) -> float:
    """The monotonic time by which every late order's pay_deadline has passed."""
    from chalicelib.clock import parse_iso, utcnow

    latest = max(parse_iso(entry["order"]["pay_deadline"]) for entry in orders.values() if entry["path"] == "late")
    return time.monotonic() + max(0.0, (latest - utcnow()).total_seconds())


def report(
    orders: dict[str, dict[str, Any]],
    sku_id: str,
    people: list[dict[str, Any]],
    client: ShopClient,
    elapsed: float,
    everything_final: bool,
    sfn: ClientFaults,
    sqs: ClientFaults,
    gateways: PaymentGateways,
    sweeper: Sweeper,
) -> None:
    finals = {order_id: order_of(order_id) for order_id in orders}
    stuck = [order_id for order_id, order in finals.items() if order["status"] not in FINAL_STATUSES]
    by_path = collections.Counter((entry["path"], finals[o]["status"]) for o, entry in orders.items())
    print(f"faults injected: {dict(sfn.failed)} of Step Functions calls {dict(sfn.calls)}")
    print(f"                 {dict(sqs.failed)} of SQS calls; the gateway's first refund calls answered 500")
    print(f"sweeper repairs: {dict(sweeper.totals)}")
    print("path -> final status:")
    for (path, status), count in sorted(by_path.items()):
        print(f"  {path:<10} {status:<10} {count}")
    # stock: only completed orders keep their units
    sold = sum(line["quantity"] for o in finals.values() if o["status"] == "COMPLETED" for line in o["items"])
    product = ok(client.call("GET", f"/products/{sku_id.rsplit('-', 1)[0]}"), "product")
    stock = next(sku["stock"] for sku in product["skus"] if sku["sku_id"] == sku_id)
    # points: every point used comes back unless the order completed; completed orders earn
    wrong_points = 0
    for buyer in people:
        mine = [o for o in finals.values() if o["user_id"] == buyer["user_id"]]
        spent = sum(o["points_used"] for o in mine if o["status"] == "COMPLETED")
        earned = sum(points_earned_for(o["amounts"]["payable_fen"] - o["amounts"]["shipping_fen"])
                     for o in mine if o["status"] == "COMPLETED")  # fmt: skip
        balance = ok(client.call("GET", "/me/points", token=buyer["token"]), "points")["balance"]
        wrong_points += balance != POINTS - spent + earned
    # coupons: none still locked by an order that ended unpaid
    coupons = [c for buyer in people for c in ok(client.call("GET", "/me/coupons", token=buyer["token"]), "c")["items"]]
    unpaid_ids = {o["order_id"] for o in finals.values() if o["status"] == "CANCELLED"}
    held = [c for c in coupons if c.get("order_id") in unpaid_ids and c["status"] != "unused"]
    # late payments: recorded late and refunded in full; none paid an order
    payments = DynamoPaymentsRepository()
    late = [payments.payment(e["payment_id"]) for e in orders.values() if e["path"] == "late" and e.get("payment_id")]
    late_wrong = [p for p in late if p is None or p["status"] != "REFUNDED" or not p["late_reason"]]
    late_ids = [o for o, e in orders.items() if e["path"] == "late"]
    late_paid = [o for o in late_ids if "PAID" in {entry["status"] for entry in finals[o]["timeline"]}]
    print(f"stock: {stock} (expected {STOCK - sold}); buyers with wrong points: {wrong_points}; "
          f"coupons still held by unpaid orders: {len(held)}")  # fmt: skip
    print(f"late payments: {len(late)}, not refunded: {len(late_wrong)}, that paid their order: {len(late_paid)}")
    print(f"all final: {everything_final} after {elapsed:.1f} s")
    print(f"stuck: {len(stuck)} of {len(orders)} (goal 0)")
    for order_id in stuck[:10]:
        print(f"  {order_id} {finals[order_id]['status']} due {finals[order_id].get('due_at')}")


if __name__ == "__main__":
    main()
