"""Calls per cart request, counted by a botocore hook on the app's own clients (every pynamodb model's, the shared
transaction connection's, the hot paths' lean client, SQS's): a change that adds a call to a hot path fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.validate import ParamValidator
from pynamodb.models import Model

from chalicelib import dynamo
from chalicelib.auth import principal_cache
from chalicelib.aws import client as aws_client
from chalicelib.aws import lean_client
from chalicelib.bootstrap import container
from chalicelib.cart import service as cart_service
from chalicelib.cart.domain import CartOwner
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.promotions.service import promotion_cache
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient


class Calls:
    """The AWS operations the app's clients make while counting."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []
        self.clients: list[Any] = []
        self.account_checks = 0

    def __call__(self, model: Any, params: Any = None, **_: Any) -> None:
        key = (params or {}).get("Key") or {}
        if model.name == "GetItem" and key.get("sk") == {"S": "PROFILE"}:
            self.account_checks += 1
            return  # the check that the caller's account is live: the authorizer's (cached by API Gateway)
        self.made.append((model.service_model.service_name, model.name))

    def dynamodb(self) -> list[str]:
        return [name for service, name in self.made if service == "dynamodb"]

    def attach(self) -> None:
        found: dict[int, Any] = {}
        stack: list[type[Model]] = [Model]
        while stack:
            model = stack.pop()
            stack.extend(model.__subclasses__())
            if hasattr(getattr(model, "Meta", None), "table_name"):
                found[id(model._get_connection().connection.client)] = model._get_connection().connection.client
        found[id(dynamo.connection().client)] = dynamo.connection().client
        found[id(lean_client("dynamodb"))] = lean_client("dynamodb")  # the hot paths' reads and the cart's writes
        for service in ("sqs", "stepfunctions"):
            found[id(aws_client(service))] = aws_client(service)
        self.clients = list(found.values())
        for each in self.clients:
            each.meta.events.register("before-parameter-build", self, unique_id="cart-call-count")

    def detach(self) -> None:
        for each in self.clients:
            each.meta.events.unregister("before-parameter-build", unique_id="cart-call-count")


@pytest.fixture
def calls() -> Iterator[Calls]:
    counting = Calls()
    yield counting
    counting.detach()


@pytest.fixture
def skus(client: ShopClient, admin_token: str) -> list[str]:
    promotion_cache.forget()
    create_catalog(client, admin_token)
    products = [create_product(client, admin_token, f"华为 Mate {n}") for n in (60, 70, 80)]
    return [product["skus"][0]["sku_id"] for product in products]


def me(client: ShopClient, token: str) -> str:
    user_id: str = client.call("GET", "/me", token=token)[1]["user_id"]
    return user_id


def cached_then_removed(client: ShopClient, token: str, sku_id: str) -> None:
    """Add a line of the SKU (which reads it into the add cache) and remove it again."""
    client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=token)
    client.call("DELETE", f"/cart/items/{sku_id}", token=token)


def counted(
    calls: Calls, client: ShopClient, method: str, path: str, body: Any = None, token: str | None = None, **headers: Any
) -> Any:
    calls.detach()
    calls.made.clear()
    calls.account_checks = 0
    calls.attach()
    status, answer, _ = client.call(method, path, body, token=token, **headers)
    calls.detach()
    assert status < 300, answer
    return answer


def test_adding_to_the_cart_reads_the_sku_once_and_writes_once(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls, sku_cache_seconds: Any
) -> None:
    # GIVEN a cart with one line (clients and caches warmed by it), and no SKU kept between adds
    sku_cache_seconds(0)
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)

    # WHEN a new line is added, and then more of an existing one
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[1], "quantity": 1}, token=customer_token)
    new_line = calls.dynamodb()
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 2}, token=customer_token)
    existing_line = calls.dynamodb()

    # THEN each is one BatchGetItem (the SKU, the line and the head) and one write: a transaction of the new line and
    # the head, the existing line alone (the head lists its SKU already)
    assert new_line == ["BatchGetItem", "TransactWriteItems"]
    assert existing_line == ["BatchGetItem", "UpdateItem"]


def test_a_second_add_of_a_sku_within_its_cache_time_is_one_call_and_a_new_line_one_when_seen_missing(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls, sku_cache_seconds: Any
) -> None:
    # GIVEN SKUs kept a minute, and a cart with a line of the first (its SKU read by that add), the second removed
    sku_cache_seconds(60)
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)
    client.call("POST", "/cart/items", {"sku_id": skus[1], "quantity": 1}, token=customer_token)
    client.call("DELETE", f"/cart/items/{skus[1]}", token=customer_token)

    # WHEN more of the line is added, and the second SKU (read a moment ago) comes back as a new line
    existing = counted(calls, client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 2}, token=customer_token)
    existing_line = calls.dynamodb()
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[1], "quantity": 1}, token=customer_token)
    new_line = calls.dynamodb()

    # THEN the existing line is one UpdateItem (no read), the new line (this container saw the cart without it) the
    # transaction of the line and the head alone
    assert (existing["quantity"], existing_line) == (3, ["UpdateItem"])
    assert new_line == ["TransactWriteItems"]
    assert sorted((i["sku_id"], i["quantity"]) for i in client.call("GET", "/cart", token=customer_token)[1]["items"]) \
        == sorted([(skus[0], 3), (skus[1], 1)])  # fmt: skip


def test_a_new_line_of_a_cart_this_container_has_not_seen_is_a_refused_update_then_the_transaction(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls, sku_cache_seconds: Any
) -> None:
    # GIVEN a cached SKU, and a cart this container knows nothing of (another container served its requests)
    sku_cache_seconds(60)
    cached_then_removed(client, customer_token, skus[0])
    container().cart.seen.forget(me(client, customer_token))

    # WHEN the SKU is added as a new line
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)

    # THEN more of an existing line is tried first (refused: no line), then the transaction
    assert calls.dynamodb() == ["UpdateItem", "TransactWriteItems"]


def test_a_line_added_elsewhere_after_this_container_saw_the_cart_without_it_is_added_to_not_doubled(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls, sku_cache_seconds: Any
) -> None:
    # GIVEN a cart this container saw empty, and a line of a cached SKU added since by another container
    sku_cache_seconds(60)
    cached_then_removed(client, customer_token, skus[0])
    elsewhere = DynamoCartRepository()
    cart_service.add_item(elsewhere, container().catalog, CartOwner.user(me(client, customer_token)), skus[0], 2)

    # WHEN this container adds more of it
    added = counted(calls, client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 3}, token=customer_token)

    # THEN its guess (a new line) is refused and the add lands on the line: one line of 5
    assert calls.dynamodb() == ["TransactWriteItems", "UpdateItem"]
    assert added["quantity"] == 5
    assert [(i["sku_id"], i["quantity"]) for i in client.call("GET", "/cart", token=customer_token)[1]["items"]] \
        == [(skus[0], 5)]  # fmt: skip


def test_with_the_cache_off_every_add_reads_the_sku_again(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls, sku_cache_seconds: Any
) -> None:
    # GIVEN CART_SKU_CACHE_SECONDS=0 and a line added once
    sku_cache_seconds(0)
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)

    # WHEN more of it is added at once
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)

    # THEN the SKU is read again with the line and the head
    assert calls.dynamodb() == ["BatchGetItem", "UpdateItem"]


def test_updating_and_removing_a_line_are_one_call_each(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls
) -> None:
    # GIVEN a cart with a line
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)

    # WHEN its quantity changes, then it is removed
    updated = counted(calls, client, "PATCH", f"/cart/items/{skus[0]}", {"quantity": 3}, token=customer_token)
    update_calls = calls.dynamodb()
    counted(calls, client, "DELETE", f"/cart/items/{skus[0]}", token=customer_token)
    remove_calls = calls.dynamodb()

    # THEN the update is one UpdateItem answering the line, the removal one transaction
    assert updated["quantity"] == 3
    assert update_calls == ["UpdateItem"]
    assert remove_calls == ["TransactWriteItems"]


def test_viewing_the_cart_reads_the_lines_once_and_the_prices_once(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls
) -> None:
    # GIVEN a cart of three lines, viewed once (caches of categories and promotions warm)
    for sku_id in skus:
        client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=customer_token)
    client.call("GET", "/cart", token=customer_token)

    # WHEN it is viewed
    body = counted(calls, client, "GET", "/cart", token=customer_token)

    # THEN the lines come from one Query and the prices and stock from one BatchGetItem; the rest is at most the
    # user's coupons and address book
    assert len(body["items"]) == 3
    made = calls.dynamodb()
    assert made.count("BatchGetItem") == 1
    assert len(made) <= VIEW_CALLS, made


def test_a_guest_cart_is_read_and_written_in_as_few_calls(client: ShopClient, skus: list[str], calls: Calls) -> None:
    # GIVEN a guest cart with a line
    token = client.call("POST", "/cart/guest")[1]["guest_cart_token"]
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, **{"X-Guest-Cart": token})
    client.call("GET", "/cart", **{"X-Guest-Cart": token})

    # WHEN a line is added, the cart viewed and the line removed
    counted(calls, client, "POST", "/cart/items", {"sku_id": skus[1], "quantity": 1}, **{"X-Guest-Cart": token})
    add_calls = calls.dynamodb()
    counted(calls, client, "GET", "/cart", **{"X-Guest-Cart": token})
    view_calls = calls.dynamodb()
    counted(calls, client, "DELETE", f"/cart/items/{skus[1]}", **{"X-Guest-Cart": token})
    remove_calls = calls.dynamodb()

    # THEN: the SKU, line and head in one read and one write; a Query and a BatchGetItem; one transaction
    assert add_calls == ["BatchGetItem", "TransactWriteItems"]
    assert view_calls == ["Query", "BatchGetItem"]
    assert remove_calls == ["TransactWriteItems"]


VIEW_CALLS = 2  # one Query: lines, head, usable coupons, address book; one BatchGetItem: the SKUs


# Reads before the order's transaction: ONE Query of the user's partition (the cart, the usable coupons, the address
# book) and ONE BatchGetItem (the SKUs, the address, the points balance).
ORDER_READS = ["Query", "BatchGetItem"]


def test_placing_an_order_from_the_cart_reads_the_cart_once(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls
) -> None:
    # GIVEN a cart of two lines and an address
    address = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
               "district": "南山区", "detail": "科技园 1 号"}  # fmt: skip
    address_id = client.call("POST", "/me/addresses", address, token=customer_token)[1]["address_id"]
    for sku_id in skus[:2]:
        client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=customer_token)
    client.call("GET", "/cart", token=customer_token)  # the caches of categories and promotions warm
    preview = {"address_id": address_id, "from_cart": True}
    client.call("POST", "/orders/preview", preview, token=customer_token)  # and the points rules' (30 s per container)

    # WHEN the cart is ordered
    body = {"address_id": address_id, "from_cart": True}
    order = counted(calls, client, "POST", "/orders", body, token=customer_token, **{"Idempotency-Key": "k1"})

    # THEN the cart is read once with the rest of the user's partition, the SKUs, address and points in one batch,
    # the order placed in one transaction, and the lines removed in one more
    made = calls.dynamodb()
    assert len(order["items"]) == 2
    assert made == [*ORDER_READS, "TransactWriteItems", "TransactWriteItems"], made
    assert client.call("GET", "/cart", token=customer_token)[1]["items"] == []


def test_placing_an_order_of_named_items_reads_twice_before_its_transaction(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls
) -> None:
    # GIVEN an address (caches of categories and promotions warm from a preview)
    address = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
               "district": "南山区", "detail": "科技园 1 号"}  # fmt: skip
    address_id = client.call("POST", "/me/addresses", address, token=customer_token)[1]["address_id"]
    items = [{"sku_id": sku_id, "quantity": 1} for sku_id in skus[:2]]
    client.call("POST", "/orders/preview", {"address_id": address_id, "items": items}, token=customer_token)

    # WHEN those items are ordered
    body = {"address_id": address_id, "items": items}
    order = counted(calls, client, "POST", "/orders", body, token=customer_token, **{"Idempotency-Key": "k2"})

    # THEN one Query, one BatchGetItem and the order's one transaction
    assert len(order["items"]) == 2
    assert calls.dynamodb() == [*ORDER_READS, "TransactWriteItems"]


def test_a_signed_in_cart_request_checks_the_account_once_in_a_few_seconds(
    client: ShopClient, customer_token: str, skus: list[str], calls: Calls
) -> None:
    # GIVEN a signed-in customer whose token no cart request has checked yet
    principal_cache.forget()

    # WHEN they view the cart twice in a row
    counted(calls, client, "GET", "/cart", token=customer_token)
    first = calls.account_checks
    counted(calls, client, "GET", "/cart", token=customer_token)

    # THEN the account is read for the first only (the answer is kept a few seconds)
    assert (first, calls.account_checks) == (1, 0)


def test_the_requests_of_the_lean_client_are_valid_though_it_skips_botocores_check(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    # GIVEN botocore's own parameter check on every request the hot paths' lean client sends (it skips the check)
    problems: list[str] = []

    def check(model: Any, params: Any = None, **_: Any) -> None:
        report = ParamValidator().validate(params, model.input_shape)
        if report.has_errors():
            problems.append(f"{model.name}: {report.generate_report()}")

    lean = lean_client("dynamodb")
    lean.meta.events.register("before-parameter-build.dynamodb", check, unique_id="lean-check")
    try:
        # WHEN a customer and a guest add lines, add more, view, change and remove them, and the customer orders
        guest = {"X-Guest-Cart": client.call("POST", "/cart/guest")[1]["guest_cart_token"]}
        for who in ({"token": customer_token}, guest):
            for sku_id in skus[:2]:
                client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, **who)
            client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 2}, **who)
            client.call("GET", "/cart", **who)
            client.call("PATCH", f"/cart/items/{skus[0]}", {"quantity": 5, "selected": False}, **who)
            client.call("DELETE", f"/cart/items/{skus[1]}", **who)
        address = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
                   "district": "南山区", "detail": "科技园 1 号"}  # fmt: skip
        address_id = client.call("POST", "/me/addresses", address, token=customer_token)[1]["address_id"]
        client.call("PATCH", f"/cart/items/{skus[0]}", {"selected": True}, token=customer_token)
        order = {"address_id": address_id, "from_cart": True}
        status, _, _ = client.call("POST", "/orders", order, token=customer_token, **{"Idempotency-Key": "lean"})
    finally:
        lean.meta.events.unregister("before-parameter-build.dynamodb", unique_id="lean-check")

    # THEN every request passed the check botocore would have made, and the order went through
    assert problems == []
    assert status == 201
