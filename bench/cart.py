"""Cart, ours against the peer's, side by side in one run: add (line exists), add (new line), each with our SKU
cache warm (the common case of a hot SKU) and off (every add reads its SKU, as with CART_SKU_CACHE_SECONDS=0), view
of five lines, update quantity and remove line, in process on moto, each as a multiple of a GetItem timed alongside
it. The peer's adds have nothing to cache: they are measured beside each of our add rows. A new line is added to a
cart this container saw without it (the line was just removed here: one transaction), and to a cart it has not seen
("cart unseen": a refused UpdateItem, then the transaction), as after a request served by another container.

The peer is the aws-samples serverless shopping cart (github.com/aws-samples/aws-serverless-shopping-cart, MIT-0),
whose DynamoDB logic bench/peer_cart/ copies: same calls, expressions and item shapes, same boto3, on a table of
its own in the same moto. Ours are the cart's service functions on the real Dynamo repositories of the composition
root, the result encoded as the response body (the peer's handlers encode theirs too); `--through http` sends ours
through Chalice's test client instead (routing, token check, schema validation: what a Lambda invocation runs
minus API Gateway), which has no counterpart in the copy of the peer.

Method: 3 rounds, the peer first in odd rounds and ours first in even ones; per round, operation and side, `ops`
times: the untimed set-up (a line to remove, a line made new again), a timed GetItem, the timed operation. A
side's multiple is the median over rounds of (median operation time / median GetItem time). Time is this thread's
CPU time (time.thread_time: everything runs in process, so it is the whole cost, and a loaded machine disturbs it
far less than the wall clock; `--wall` for the wall clock). "Own CPU" is that minus the CPU time inside moto's
backend (moto's BotocoreStubber, where a request leaves botocore), as a multiple of the same figure of the GetItem.
The view re-prices five lines with a running promotion and a usable coupon on every call; the peer's lists its lines
only.

Run: PYTHONPATH=. .venv/bin/python bench/cart.py [--rounds 3] [--ops 40] [--through direct|http] [--wall]
     [--peer-client lean|default]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from _inprocess import prepare_environment, provisioned_app

prepare_environment()

from chalice.test import Client  # noqa: E402
from moto.core.botocore_stubber import BotocoreStubber  # noqa: E402
from peer_cart.cart import PeerCart, create_table, product_list  # noqa: E402

from chalicelib.accounts import service as accounts_service  # noqa: E402
from chalicelib.accounts.repository import DynamoAccountsRepository  # noqa: E402
from chalicelib.aws import LEAN_CONFIG  # noqa: E402
from chalicelib.aws import client as aws_client  # noqa: E402
from chalicelib.bootstrap import container  # noqa: E402
from chalicelib.cart import service as cart_service  # noqa: E402
from chalicelib.cart.domain import CartOwner  # noqa: E402
from chalicelib.cart.sku_cache import SkuCache  # noqa: E402
from chalicelib.config import get_settings  # noqa: E402

ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway moto account
PEER_TABLE = "peer-shopping-cart"
OPERATIONS = (
    "add, line exists (SKU cached)",
    "add, new line (SKU cached)",
    "add, new line (SKU cached, cart unseen)",
    "add, line exists (cache off)",
    "add, new line (cache off)",
    "view, 5 lines",
    "update quantity",
    "remove line",
)


class MotoClock:
    """Time spent inside moto's backend (BotocoreStubber.__call__, which every in-process AWS call goes through)
    and the operations made, for any client of any library."""

    def __init__(self) -> None:
        self.inside = 0.0  # wall-clock seconds
        self.inside_cpu = 0.0  # this thread's CPU seconds
        self.operations: list[str] = []
        self._original = BotocoreStubber.__call__
        clock = self

        def timed(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                return clock._original(stubber, event_name, request, **kwargs)
            finally:
                clock.inside_cpu += time.thread_time() - started_cpu
                clock.inside += time.perf_counter() - started
                target = request.headers.get("X-Amz-Target", b"")
                target = target.decode() if isinstance(target, bytes) else target
                name = target.rsplit(".", 1)[-1] if target else event_name.rsplit(".", 1)[-1]
                clock.operations.append(name if target.startswith("DynamoDB") else f"{event_name.split('.')[1]}:{name}")

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign]

    def reset(self) -> None:
        self.inside, self.inside_cpu, self.operations = 0.0, 0.0, []

    def detach(self) -> None:
        BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]


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


@dataclass
class Operation:
    run: Callable[[], Any]
    setup: Callable[[], Any] = lambda: None


Side = dict[str, Operation]


def body(result: Any) -> str:
    """The response body a route makes of a service's answer (Chalice's encoding)."""
    return json.dumps(result, separators=(",", ":"))


def ours_direct(user_id: str, skus: list[str]) -> Side:
    """The operations as calls of the cart's service functions on the real Dynamo repositories."""
    shop, owner, extra = container(), CartOwner.user(user_id), skus[5]
    cart, catalog = shop.cart, shop.catalog
    warm, cold = shop.cart_skus, SkuCache(0)  # the container's (CART_SKU_CACHE_SECONDS), and one keeping nothing
    put_back = lambda: cart_service.add_item(cart, catalog, owner, extra, 1, warm)  # noqa: E731
    take_out = lambda: cart_service.remove_item(cart, owner, extra)  # noqa: E731
    take_out_unseen = lambda: (take_out(), cart.seen.forget(user_id))  # noqa: E731
    back_to_one = lambda: cart_service.update_item(cart, owner, skus[0], 1, None)  # noqa: E731

    def add(sku_id: str, skus: SkuCache) -> Callable[[], str]:
        return lambda: body(cart_service.add_item(cart, catalog, owner, sku_id, 1, skus))

    return {
        "add, line exists (SKU cached)": Operation(add(skus[0], warm), back_to_one),
        "add, new line (SKU cached)": Operation(add(extra, warm), take_out),
        "add, new line (SKU cached, cart unseen)": Operation(add(extra, warm), take_out_unseen),
        "add, line exists (cache off)": Operation(add(skus[0], cold), back_to_one),
        "add, new line (cache off)": Operation(add(extra, cold), take_out),
        "view, 5 lines": Operation(
            lambda: body(
                cart_service.view_cart(cart, catalog, shop.profile, owner, shop.running_promotions, shop.coupon_source)
            ),
            take_out,
        ),
        "update quantity": Operation(lambda: body(cart_service.update_item(cart, owner, skus[1], 2, None))),
        "remove line": Operation(lambda: body(cart_service.remove_item(cart, owner, extra)), put_back),
    }


def ours_http(client: Client, token: str, skus: list[str]) -> Side:
    """The operations as requests through Chalice's test client ("cache off": the container's SKU cache emptied
    before each, so every add reads its SKU, as with CART_SKU_CACHE_SECONDS=0)."""
    extra, forget = skus[5], container().cart_skus.forget
    user_id = request(client, "GET", "/me", None, token)["user_id"]
    forget_cart = lambda: container().cart.seen.forget(user_id)  # noqa: E731
    put_back = lambda: request(client, "POST", "/cart/items", {"sku_id": extra, "quantity": 1}, token)  # noqa: E731
    take_out = lambda: request(client, "DELETE", f"/cart/items/{extra}", None, token)  # noqa: E731
    add_more = lambda: request(client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token)  # noqa: E731
    back_to_one = lambda: request(client, "PATCH", f"/cart/items/{skus[0]}", {"quantity": 1}, token)  # noqa: E731
    return {
        "add, line exists (SKU cached)": Operation(add_more, back_to_one),
        "add, new line (SKU cached)": Operation(put_back, take_out),
        "add, new line (SKU cached, cart unseen)": Operation(put_back, lambda: (take_out(), forget_cart())),
        "add, line exists (cache off)": Operation(add_more, lambda: (back_to_one(), forget())),
        "add, new line (cache off)": Operation(put_back, lambda: (take_out(), forget())),
        "view, 5 lines": Operation(lambda: request(client, "GET", "/cart", None, token), take_out),
        "update quantity": Operation(
            lambda: request(client, "PATCH", f"/cart/items/{skus[1]}", {"quantity": 2}, token)
        ),
        "remove line": Operation(take_out, put_back),
    }


def peer_side(client: str) -> Side:
    """The peer's operations on its own table, a signed-in user's cart of five lines (and a sixth to add/remove), on
    boto3's default client (`client` "default", as the peer ships) or on the client settings of our hot paths
    ("lean": aws.LEAN_CONFIG, no parameter validation and a fixed User-Agent), so that only the code differs."""
    create_table(PEER_TABLE)
    peer, user = PeerCart(PEER_TABLE, LEAN_CONFIG if client == "lean" else None), "bench-user-sub"
    products = [product["productId"] for product in product_list[:6]]
    extra = products[5]
    for product_id in products[:5]:
        peer.add_to_cart(user, product_id, 1)
    take_out = lambda: peer.table.delete_item(Key={"pk": f"user#{user}", "sk": f"product#{extra}"})  # noqa: E731
    more, new = (
        Operation(lambda: peer.add_to_cart(user, products[0], 1)),
        Operation(lambda: peer.add_to_cart(user, extra, 1), take_out),
    )
    return {  # the peer has no SKU read to cache: its adds are measured beside each of ours
        "add, line exists (SKU cached)": more,
        "add, new line (SKU cached)": new,
        "add, new line (SKU cached, cart unseen)": new,
        "add, line exists (cache off)": more,
        "add, new line (cache off)": new,
        "view, 5 lines": Operation(lambda: peer.list_cart(user), take_out),
        "update quantity": Operation(lambda: peer.update_cart(user, products[1], 2)),
        "remove line": Operation(lambda: peer.update_cart(user, extra, 0), lambda: peer.add_to_cart(user, extra, 1)),
    }


@dataclass
class Figures:
    """Per operation: the per-round multiples of a GetItem (time and own CPU), own ms, and the calls made."""

    time: dict[str, list[float]] = field(default_factory=dict)
    own: dict[str, list[float]] = field(default_factory=dict)
    own_ms: dict[str, list[float]] = field(default_factory=dict)
    calls: dict[str, list[str]] = field(default_factory=dict)


@contextmanager
def moto_clock() -> Iterator[MotoClock]:
    clock = MotoClock()
    try:
        yield clock
    finally:
        clock.detach()


def measure(sides: dict[str, Side], rounds: int, ops: int, wall: bool) -> tuple[dict[str, Figures], float]:
    """Every side's figures, and the GetItem's median ms (time: the thread's CPU time, or with `wall` the wall
    clock's)."""
    timer = time.perf_counter if wall else time.thread_time
    dynamodb, table = aws_client("dynamodb"), get_settings().accounts_table
    probe = {"pk": {"S": "USER#nobody"}, "sk": {"S": "PROFILE"}}
    for side in sides.values():
        for operation in side.values():  # warm: clients, caches, the blueprint
            operation.setup()
            operation.run()
    figures = {name: Figures() for name in sides}
    floor_ms: list[float] = []
    with moto_clock() as clock:
        for number in range(rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for name in OPERATIONS:
                for side in order:
                    operation, times, owns, floors, floor_owns = sides[side][name], [], [], [], []
                    for _ in range(ops):
                        operation.setup()
                        clock.reset()
                        started, started_cpu = timer(), time.thread_time()
                        dynamodb.get_item(TableName=table, Key=probe)
                        floor_owns.append(time.thread_time() - started_cpu - clock.inside_cpu)
                        floors.append(timer() - started)
                        clock.reset()
                        started, started_cpu = timer(), time.thread_time()
                        operation.run()
                        owns.append(time.thread_time() - started_cpu - clock.inside_cpu)
                        times.append(timer() - started)
                    mine = figures[side]
                    mine.time.setdefault(name, []).append(statistics.median(times) / statistics.median(floors))
                    mine.own.setdefault(name, []).append(statistics.median(owns) / statistics.median(floor_owns))
                    mine.own_ms.setdefault(name, []).append(statistics.median(owns) * 1000)
                    mine.calls[name] = list(clock.operations)
                    floor_ms.append(statistics.median(floors) * 1000)
    return figures, statistics.median(floor_ms)


def table_of(figures: dict[str, Figures]) -> dict[str, dict[str, Any]]:
    peer, ours = figures["peer"], figures["ours"]
    rows = {}
    for name in OPERATIONS:
        peer_time, ours_time = statistics.median(peer.time[name]), statistics.median(ours.time[name])
        peer_own, ours_own = statistics.median(peer.own[name]), statistics.median(ours.own[name])
        rows[name] = {
            "peer_calls": peer.calls[name],
            "ours_calls": ours.calls[name],
            "peer_x_getitem": round(peer_time, 2),
            "ours_x_getitem": round(ours_time, 2),
            "ours_over_peer_time": round(ours_time / peer_time, 2),
            "peer_own_x_getitem": round(peer_own, 2),
            "ours_own_x_getitem": round(ours_own, 2),
            "ours_over_peer_own_cpu": round(ours_own / peer_own, 2),
            "peer_own_ms": round(statistics.median(peer.own_ms[name]), 3),
            "ours_own_ms": round(statistics.median(ours.own_ms[name]), 3),
        }
    return rows


def report(rows: dict[str, dict[str, Any]], floor_ms: float, args: argparse.Namespace) -> None:
    print(f"\nCart on in-process moto, ours ({args.through}) and the peer's side by side: {args.rounds} rounds x "
          f"{args.ops} ops, alternating order; the peer's client: {args.peer_client}; time: "
          f"{'wall clock' if args.wall else 'CPU'}; a GetItem: "
          f"{floor_ms:.2f} ms\n")  # fmt: skip
    print("| operation | peer calls | ours calls | ours/peer time | ours/peer, own CPU only |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        peer_calls, ours_calls = ", ".join(row["peer_calls"]), ", ".join(row["ours_calls"])
        print(f"| {name} | {len(row['peer_calls'])} ({peer_calls}) | {len(row['ours_calls'])} ({ours_calls}) "
              f"| {row['ours_over_peer_time']:.2f}x | {row['ours_over_peer_own_cpu']:.2f}x |")  # fmt: skip
    print("\n| operation | peer x GetItem | ours x GetItem | peer own CPU x | ours own CPU x | peer own ms "
          "| ours own ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['peer_x_getitem']:.2f} | {row['ours_x_getitem']:.2f} | {row['peer_own_x_getitem']:.2f} "
              f"| {row['ours_own_x_getitem']:.2f} | {row['peer_own_ms']:.3f} | {row['ours_own_ms']:.3f} |")  # fmt: skip
    print("\n" + json.dumps({"getitem_ms": round(floor_ms, 3), "rounds": args.rounds, "ops": args.ops,
                             "through": args.through, "peer_client": args.peer_client,
                             "clock": "wall" if args.wall else "cpu", "operations": rows},
                            ensure_ascii=False))  # fmt: skip
    print("\nFigures are noisy on a shared, loaded machine: compare sides taken in one run, not runs across days.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--through", choices=("direct", "http"), default="direct")
    parser.add_argument("--wall", action="store_true", help="time by the wall clock, not the thread's CPU time")
    parser.add_argument("--peer-client", choices=("lean", "default"), default="lean",
                        help="the peer's boto3 client: our hot paths' settings (lean) or boto3's defaults")  # fmt: skip
    args = parser.parse_args()
    with provisioned_app() as app:
        client = Client(app, stage_name="local")
        token, skus = shop(client)
        user_id = request(client, "GET", "/me", None, token)["user_id"]
        ours = ours_direct(user_id, skus) if args.through == "direct" else ours_http(client, token, skus)
        sides = {"peer": peer_side(args.peer_client), "ours": ours}
        figures, floor_ms = measure(sides, args.rounds, args.ops, args.wall)
    report(table_of(figures), floor_ms, args)


if __name__ == "__main__":
    main()
