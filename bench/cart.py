"""Cart: add, view, update and remove in process on moto, each as a multiple of a GetItem timed alongside it, against
the multiples measured for the reference serverless cart (aws-samples/aws-serverless-shopping-cart).

Run: .venv/bin/python bench/cart.py [--rounds 3] [--ops 40] [--mode both|http|direct]
Two modes, printed one after the other: `http` sends each request through Chalice's test client (routing, the
token check, schema validation, JSON both ways: what a Lambda invocation runs minus API Gateway); `direct` calls the
cart's service functions with the real Dynamo repositories of the composition root, without an HTTP test client,
as the peer's figures were taken, so the direct figures are the ones to set against the peer's. Each round times
every operation `ops` times, alternating with a plain GetItem on the same moto (so machine load hits both alike);
an operation's figure is the median over rounds of (its median time / the GetItem's median time).
It also prints the app's own time per operation (the request's time minus the time inside AWS calls, measured with
botocore before-call / after-call hooks) and the DynamoDB calls each makes. The view re-prices five lines with a
running promotion and a usable coupon on every call. Goal: every multiple <= the peer's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from _inprocess import prepare_environment, provisioned_app

prepare_environment()

from chalice.test import Client  # noqa: E402
from pynamodb.models import Model  # noqa: E402

from chalicelib.accounts import service as accounts_service  # noqa: E402
from chalicelib.accounts.repository import DynamoAccountsRepository  # noqa: E402
from chalicelib.aws import client as aws_client  # noqa: E402
from chalicelib.bootstrap import container  # noqa: E402
from chalicelib.cart import service as cart_service  # noqa: E402
from chalicelib.cart.domain import CartOwner  # noqa: E402
from chalicelib.config import get_settings  # noqa: E402
from chalicelib.dynamo import connection  # noqa: E402

PEER = {"add": 1.36, "view": 4.30, "update": 0.84, "remove": 0.84}  # the peer's multiples of a GetItem, same method
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway moto account


class AwsClock:
    """Time spent inside AWS calls of the app's clients, and the DynamoDB operations made."""

    def __init__(self) -> None:
        self.inside = 0.0
        self.operations: list[str] = []
        self._started: dict[int, float] = {}
        found: dict[int, Any] = {}
        stack: list[type[Model]] = [Model]
        while stack:
            model = stack.pop()
            stack.extend(model.__subclasses__())
            if hasattr(getattr(model, "Meta", None), "table_name"):
                found[id(model._get_connection().connection.client)] = model._get_connection().connection.client
        for each in (connection().client, aws_client("sqs")):
            found[id(each)] = each
        self._clients = list(found.values())
        for each in self._clients:
            each.meta.events.register("before-call", self._before)
            each.meta.events.register("after-call", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self._started[id(model)] = time.perf_counter()
        if model.service_model.service_name == "dynamodb":
            self.operations.append(model.name)

    def _after(self, model: Any, **_: Any) -> None:
        self.inside += time.perf_counter() - self._started.pop(id(model), time.perf_counter())

    def reset(self) -> None:
        self.inside, self.operations = 0.0, []

    def detach(self) -> None:
        for each in self._clients:
            each.meta.events.unregister("before-call", self._before)
            each.meta.events.unregister("after-call", self._after)


def request(client: Client, method: str, path: str, body: Any = None, token: str = "") -> Any:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = client.http.request(method, path, headers=headers, body=json.dumps(body).encode() if body else b"")
    assert response.status_code < 300, (method, path, response.body)
    return json.loads(response.body) if response.body else None


def shop(client: Client) -> tuple[str, list[str]]:
    """A catalog of six SKUs, a running promotion, a buyer holding a usable coupon and five lines in the cart."""
    accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", ADMIN_PASSWORD)
    admin = request(client, "POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    request(client, "POST", "/admin/categories", {"category_id": "c_root", "name": "数码"}, admin)
    request(client, "POST", "/admin/categories", {"category_id": "c_phone", "name": "手机", "parent_id": "c_root"},
            admin)  # fmt: skip
    request(client, "POST", "/admin/brands", {"brand_id": "b_bench", "name": "测试"}, admin)
    skus = []
    for n in range(6):
        product = request(client, "POST", "/admin/products", {
            "title": f"压测手机 {n}", "category_id": "c_phone", "brand_id": "b_bench",
            "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
            "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 199900 + n, "stock": 100000}],
        }, admin)  # fmt: skip
        skus.append(product["skus"][0]["sku_id"])
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    request(client, "POST", "/admin/promotions", {
        "name": "数码满减", "kind": "threshold", "starts_at": iso(now - 60), "ends_at": iso(now + 86400),
        "tiers": [{"threshold_fen": 300000, "off_fen": 20000}], "scope": "category", "scope_ids": ["c_root"],
    }, admin)  # fmt: skip
    template = request(client, "POST", "/admin/coupons", {
        "name": "满1000减50", "type": "amount_off", "threshold_fen": 100000, "amount_off_fen": 5000,
        "valid_from": iso(now - 60), "valid_to": iso(now + 86400), "total": 100, "per_user_limit": 1,
    }, admin)  # fmt: skip
    request(client, "POST", "/auth/register", {"username": "buyer", "password": "password-long"})
    token = request(client, "POST", "/auth/login", {"username": "buyer", "password": "password-long"})["access_token"]
    request(client, "POST", f"/coupons/{template['template_id']}/claim", None, token)
    for sku_id in skus[:5]:
        request(client, "POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token)
    return token, skus


Operations = dict[str, Callable[[], Any]]


def http_operations(client: Client, token: str, skus: list[str]) -> tuple[Operations, Callable[[], Any]]:
    """The four operations as requests through the test client, and the untimed put-back of the removed line."""
    extra = skus[5]
    operations: Operations = {
        "add": lambda: request(client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token),
        "view": lambda: request(client, "GET", "/cart", None, token),
        "update": lambda: request(client, "PATCH", f"/cart/items/{skus[1]}", {"quantity": 2}, token),
        "remove": lambda: request(client, "DELETE", f"/cart/items/{extra}", None, token),
    }
    return operations, lambda: request(client, "POST", "/cart/items", {"sku_id": extra, "quantity": 1}, token)


def direct_operations(user_id: str, skus: list[str]) -> tuple[Operations, Callable[[], Any]]:
    """The four operations as calls of the cart's service functions on the real Dynamo repositories."""
    shop, owner, extra = container(), CartOwner.user(user_id), skus[5]
    cart, catalog = shop.cart, shop.catalog
    operations: Operations = {
        "add": lambda: cart_service.add_item(cart, catalog, owner, skus[0], 1),
        "view": lambda: cart_service.view_cart(
            cart, catalog, shop.profile, owner, shop.running_promotions, shop.coupon_source
        ),
        "update": lambda: cart_service.update_item(cart, owner, skus[1], 2, None),
        "remove": lambda: cart_service.remove_item(cart, owner, extra),
    }
    return operations, lambda: cart_service.add_item(cart, catalog, owner, extra, 1)


def measure(operations: Operations, put_back: Callable[[], Any], rounds: int, ops: int) -> dict[str, Any]:
    """Per operation: the median multiple of a GetItem, the app's own ms and the DynamoDB calls; and the floor."""
    dynamodb, table = aws_client("dynamodb"), get_settings().accounts_table
    probe = {"pk": {"S": "USER#nobody"}, "sk": {"S": "PROFILE"}}
    for operation in operations.values():
        operation()  # warm: clients, caches, the blueprint
    put_back()
    aws = AwsClock()
    ratios: dict[str, list[float]] = {name: [] for name in operations}
    own: dict[str, list[float]] = {name: [] for name in operations}
    calls: dict[str, list[str]] = {}
    floor_ms: list[float] = []
    for _ in range(rounds):
        for name, operation in operations.items():
            times, floors, owns = [], [], []
            for _ in range(ops):
                if name == "remove":
                    put_back()  # a line to remove, untimed
                started = time.perf_counter()
                dynamodb.get_item(TableName=table, Key=probe)
                floors.append(time.perf_counter() - started)
                aws.reset()
                started = time.perf_counter()
                operation()
                elapsed = time.perf_counter() - started
                times.append(elapsed)
                owns.append(elapsed - aws.inside)
                calls[name] = list(aws.operations)
            ratios[name].append(statistics.median(times) / statistics.median(floors))
            own[name].append(statistics.median(owns) * 1000)
            floor_ms.append(statistics.median(floors) * 1000)
    aws.detach()
    return {"ratios": ratios, "own": own, "calls": calls, "floor_ms": statistics.median(floor_ms)}


def report(mode: str, figures: dict[str, Any], rounds: int, ops: int) -> None:
    print(f"\n[{mode}] cart in process on moto: {rounds} rounds x {ops} ops, alternating with a GetItem")
    print(f"a GetItem (the floor): {figures['floor_ms']:.2f} ms")
    print(f"{'operation':<8} {'calls':<40} {'x GetItem':>9} {'peer':>6} {'ours/peer':>9} {'own ms':>7}")
    for name, ratios in figures["ratios"].items():
        multiple = statistics.median(ratios)
        print(f"{name:<8} {', '.join(figures['calls'][name]):<40} {multiple:>9.2f} {PEER[name]:>6.2f} "
              f"{multiple / PEER[name]:>8.2f}x {statistics.median(figures['own'][name]):>7.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--mode", choices=("both", "http", "direct"), default="both")
    args = parser.parse_args()
    with provisioned_app() as app:
        client = Client(app, stage_name="local")
        token, skus = shop(client)
        user_id = request(client, "GET", "/me", None, token)["user_id"]
        modes = ("http", "direct") if args.mode == "both" else (args.mode,)
        results = {}
        for mode in modes:
            operations, put_back = (
                http_operations(client, token, skus) if mode == "http" else direct_operations(user_id, skus)
            )
            results[mode] = measure(operations, put_back, args.rounds, args.ops)
    for mode, figures in results.items():
        report(mode, figures, args.rounds, args.ops)
    print(
        "\nFigures are noisy on a shared, loaded machine: compare modes and runs taken side by side, not across days."
    )


if __name__ == "__main__":
    main()
