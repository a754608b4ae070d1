"""The admin's order search on moto: `GET /admin/orders` by order number, buyer (user id or phone), days placed and
status, combined and paged, through the sharded and keys-only indexes of the orders table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.clock import shanghai_day, utcnow
from chalicelib.config import get_settings
from tests.functional.conftest import ShopClient, register_and_login, register_with_phone
from tests.functional.test_orders import ADDRESS, place, shopper, user_id_of

__all__ = ["shopper"]  # the fixture: a catalog with a SKU of 10 in stock

ALICE_PHONE = "13912345678"


def login(client: ShopClient, username: str) -> str:
    status, body, _ = client.call("POST", "/auth/login", {"username": username, "password": "correct horse 1"})
    assert status == 200, body
    return str(body["access_token"])


def buyer(client: ShopClient, token: str, sku_id: str) -> dict[str, Any]:
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, address
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id, "user_id": user_id_of(token)}


@pytest.fixture
def orders(client: ShopClient, admin_token: str, shopper: dict[str, Any]) -> dict[str, Any]:
    """Alice (with a phone) placed two orders and cancelled the first; Bob placed one."""
    status, body = register_with_phone(client, "alice_p", ALICE_PHONE)
    assert status == 201, body
    alice = buyer(client, login(client, "alice_p"), shopper["sku_id"])
    bob = buyer(client, register_and_login(client, "bob"), shopper["sku_id"])
    placed = {}
    for name, who, key in (("alice_1", alice, "a-1"), ("alice_2", alice, "a-2"), ("bob_1", bob, "b-1")):
        status, order = place(client, who, key=key, items=[{"sku_id": shopper["sku_id"], "quantity": 1}])
        assert status == 201, order
        placed[name] = order
    status, body, _ = client.call("POST", f"/orders/{placed['alice_1']['order_id']}/cancel", token=alice["token"])
    assert status == 200, body
    return {"alice": alice, "bob": bob, **placed}


def admin_orders(client: ShopClient, admin_token: str, query: dict[str, Any]) -> tuple[int, Any]:
    status, body, _ = client.call("GET", f"/admin/orders?{urlencode(query)}", token=admin_token)
    return status, body


def search(client: ShopClient, admin_token: str, **query: Any) -> list[str]:
    status, body = admin_orders(client, admin_token, query)
    assert status == 200, body
    return [order["order_id"] for order in body["items"]]


def ids(orders: dict[str, Any], *names: str) -> list[str]:
    return [orders[name]["order_id"] for name in names]


def test_the_admin_finds_orders_by_number_buyer_phone_days_and_status_combined(
    client: ShopClient, admin_token: str, orders: dict[str, Any]
) -> None:
    # GIVEN three orders of two buyers, one cancelled
    today = shanghai_day(utcnow())
    yesterday = shanghai_day(utcnow() - timedelta(days=1))
    # WHEN the admin searches THEN each filter and each combination finds exactly its orders, newest first
    assert search(client, admin_token) == ids(orders, "bob_1", "alice_2", "alice_1")
    assert search(client, admin_token, order_no=orders["bob_1"]["order_no"]) == ids(orders, "bob_1")
    assert search(client, admin_token, order_no=orders["bob_1"]["order_no"], user_id=orders["alice"]["user_id"]) == []
    assert search(client, admin_token, user_id=orders["alice"]["user_id"]) == ids(orders, "alice_2", "alice_1")
    assert search(client, admin_token, phone=ALICE_PHONE) == ids(orders, "alice_2", "alice_1")
    assert search(client, admin_token, phone=f"+86{ALICE_PHONE}", status="CANCELLED") == ids(orders, "alice_1")
    assert search(client, admin_token, phone="13700000000") == []
    assert search(client, admin_token, status="PENDING_PAYMENT") == ids(orders, "bob_1", "alice_2")
    assert search(client, admin_token, status="CANCELLED", **{"from": today, "to": today}) == ids(orders, "alice_1")
    assert search(client, admin_token, **{"from": today}) == ids(orders, "bob_1", "alice_2", "alice_1")
    assert search(client, admin_token, to=yesterday) == []
    assert search(client, admin_token, user_id=orders["bob"]["user_id"], to=yesterday) == []


def test_the_admin_pages_through_a_search_and_the_last_page_has_no_cursor(
    client: ShopClient, admin_token: str, orders: dict[str, Any]
) -> None:
    # GIVEN three orders WHEN the admin reads them one per page (all, and one buyer's)
    for query in ({}, {"user_id": orders["alice"]["user_id"]}):
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            page_query = {"page_size": 1, **query, **({"cursor": cursor} if cursor else {})}
            status, body = admin_orders(client, admin_token, page_query)
            assert status == 200, body
            seen += [order["order_id"] for order in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        # THEN each order comes once, newest first, and the last page says there is no more
        expected = ["bob_1", "alice_2", "alice_1"] if not query else ["alice_2", "alice_1"]
        assert seen == ids(orders, *expected)
        assert cursor is None


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01"},
        {"to": "2026-1-1"},
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"phone": "１３９１２３４５６７８"},
        {"order_no": "abc"},
        {"status": "LOST"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
    ],
)
def test_a_malformed_search_is_a_validation_error(client: ShopClient, admin_token: str, query: dict[str, str]) -> None:
    # WHEN the admin searches with a bad date, an inverted range, a non-ASCII phone, a bad number or status
    status, body = admin_orders(client, admin_token, query)
    # THEN 400 with the contract's error body
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"


def test_a_cursor_of_one_search_is_refused_by_another(
    client: ShopClient, admin_token: str, orders: dict[str, Any]
) -> None:
    # GIVEN a cursor of the list of every order
    status, body = admin_orders(client, admin_token, {"page_size": 1})
    assert status == 200 and body["next_cursor"], body
    # WHEN it is sent with another filter THEN 400
    other = {"page_size": 1, "status": "CANCELLED", "cursor": body["next_cursor"]}
    status, body = admin_orders(client, admin_token, other)
    assert status == 400, body


def test_the_backfill_gives_orders_and_refunds_stored_in_the_old_shape_their_index_keys_once(
    client: ShopClient, admin_token: str, orders: dict[str, Any]
) -> None:
    from infra.migrations import orders_index_keys

    # GIVEN Bob's order and a pending refund as a release before the sharded indexes stored them
    dynamodb = boto3.client("dynamodb")
    table = get_settings().orders_table
    order_key = {"pk": {"S": f"ORDER#{orders['bob_1']['order_id']}"}, "sk": {"S": "ORDER"}}
    dynamodb.update_item(
        TableName=table, Key=order_key, UpdateExpression="SET listing = :l REMOVE created_shard",
        ExpressionAttributeValues={":l": {"S": "ORDERS"}},
    )  # fmt: skip
    refund = {
        "pk": {"S": "REFUND#rf_old"}, "sk": {"S": "REFUND"}, "refund_id": {"S": "rf_old"},
        "order_id": {"S": orders["alice_2"]["order_id"]}, "owner_id": {"S": orders["alice"]["user_id"]},
        "type": {"S": "refund_only"}, "reason": {"S": ""}, "status": {"S": "REFUND#PENDING"},
        "from_status": {"S": "PAID"}, "amount_fen": {"N": "100"}, "listing": {"S": "REFUNDS"},
        "created_key": {"S": "2026-01-01T00:00:00Z#rf_old"}, "requested_at": {"S": "2026-01-01T00:00:00Z"},
    }  # fmt: skip
    dynamodb.put_item(TableName=table, Item=refund)
    assert orders["bob_1"]["order_id"] not in search(client, admin_token)
    # WHEN the backfill runs twice
    first = orders_index_keys.run()
    second = orders_index_keys.run()
    # THEN the first gives both their keys, the second changes nothing, and the admin finds them again
    assert (first["orders_changed"], first["refunds_changed"]) == (1, 1)
    assert (second["orders_changed"], second["refunds_changed"]) == (0, 0)
    assert search(client, admin_token) == ids(orders, "bob_1", "alice_2", "alice_1")
    status, queue, _ = client.call("GET", "/admin/refunds?status=PENDING", token=admin_token)
    assert status == 200 and [r["refund_id"] for r in queue["items"]] == ["rf_old"], queue
    stored = dynamodb.get_item(TableName=table, Key=order_key)["Item"]
    assert "listing" not in stored
