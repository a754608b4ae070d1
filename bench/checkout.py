"""Checkout: POST /orders in-process on moto: orders per second, and the AWS calls one order create makes.

Run: make bench (or .venv/bin/python bench/checkout.py [--orders N]).
Goal: one TransactWriteItems and at most two reads per order create (its execution is started from the orders
stream, off the request path). The calls are
counted with botocore `before-call` hooks on every client the order path uses. Throughput is sequential through
the Chalice test client (moto in-process is not thread safe): the app's own time plus moto's emulation, a relative
figure; tests/e2e/test_orders_e2e.py races concurrent buyers against the real local server.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
import uuid
from typing import Any

from _inprocess import prepare_environment, provisioned_app

prepare_environment()

from chalice.test import Client  # noqa: E402

from chalicelib.accounts import service as accounts_service  # noqa: E402
from chalicelib.accounts.repository import DynamoAccountsRepository  # noqa: E402
from chalicelib.aws import client as aws_client  # noqa: E402
from chalicelib.catalog.models import CatalogItem, ProductItem, SkuItem  # noqa: E402
from chalicelib.coupons.models import UserCouponModel  # noqa: E402
from chalicelib.dynamo import connection  # noqa: E402
from chalicelib.orders.models import IdempotencyModel, OrderModel  # noqa: E402
from chalicelib.profile.models import AddressModel  # noqa: E402
from chalicelib.promotions.models import PromotionModel  # noqa: E402

MODELS = (
    CatalogItem, SkuItem, ProductItem, OrderModel, IdempotencyModel, AddressModel, UserCouponModel, PromotionModel,
)  # fmt: skip
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway moto account


class CallCounter:
    """Counts DynamoDB and Step Functions API calls of the app's clients."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        clients = [model._get_connection().connection.client for model in MODELS]
        clients += [connection().client, aws_client("dynamodb"), aws_client("stepfunctions")]
        hooked: set[int] = set()
        for client in clients:
            if id(client.meta.events) not in hooked:
                client.meta.events.register("before-call.dynamodb", self._record)
                client.meta.events.register("before-call.sfn", self._record)
                hooked.add(id(client.meta.events))

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def call(client: Client, method: str, path: str, body: Any, token: str, **headers: str) -> Any:
    response = client.http.request(
        method,
        path,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}", **headers},
        body=json.dumps(body).encode(),
    )
    assert response.status_code in (200, 201), (path, response.body)
    return json.loads(response.body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    with provisioned_app() as app:
        client = Client(app, stage_name="local")
        accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", ADMIN_PASSWORD)
        admin = call(client, "POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}, "")
        admin_token = admin["access_token"]
        call(client, "POST", "/admin/categories", {"category_id": "c_root", "name": "数码"}, admin_token)
        call(client, "POST", "/admin/categories", {"category_id": "c_phone", "name": "手机", "parent_id": "c_root"},
             admin_token)  # fmt: skip
        call(client, "POST", "/admin/brands", {"brand_id": "b_bench", "name": "测试"}, admin_token)
        product = call(client, "POST", "/admin/products", {
            "title": "压测手机", "category_id": "c_phone", "brand_id": "b_bench",
            "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
            "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 199900, "stock": args.orders * 2}],
        }, admin_token)  # fmt: skip
        sku_id = product["skus"][0]["sku_id"]
        call(client, "POST", "/auth/register", {"username": "buyer", "password": "password-long"}, "")
        token = call(client, "POST", "/auth/login", {"username": "buyer", "password": "password-long"}, "")[
            "access_token"
        ]
        address = call(client, "POST", "/me/addresses", {
            "receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
            "detail": "科技园 1 号",
        }, token)  # fmt: skip
        body = {"address_id": address["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]}
        call(client, "POST", "/orders", body, token, **{"Idempotency-Key": "warm"})  # warm caches and connections
        counter = CallCounter()
        counter.take()
        started = time.perf_counter()
        for _ in range(args.orders):
            call(client, "POST", "/orders", body, token, **{"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.perf_counter() - started
        per_order = collections.Counter(counter.take())
    print(f"orders: {args.orders} in {elapsed:.2f} s = {args.orders / elapsed:.1f} orders/s (sequential, in-process)")
    print("AWS calls per order create:")
    for operation, count in sorted(per_order.items()):
        print(f"  {operation:<20} {count / args.orders:.2f}")
    reads = sum(count for op, count in per_order.items() if op in ("GetItem", "BatchGetItem", "Query")) / args.orders
    print(f"reads per order: {reads:.2f} (goal <= 2: the address and the SKUs; the key only when placing fails)")


if __name__ == "__main__":
    main()
