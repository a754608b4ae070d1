"""A guest cart through the HTTP API on moto: a signed X-Guest-Cart token, the same limits and prices, no coupons,
merged into the account at sign-in, gone when it expires."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.cart.guest import guest_id_of
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.clock import epoch_seconds
from chalicelib.promotions.service import promotion_cache
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient

PRICE = 699900


@pytest.fixture
def skus(client: ShopClient, admin_token: str) -> list[str]:
    promotion_cache.forget()
    create_catalog(client, admin_token)
    products = [create_product(client, admin_token, f"华为 Mate {n}") for n in (60, 70)]
    return [product["skus"][0]["sku_id"] for product in products]


def start(client: ShopClient) -> str:
    status, body, _ = client.call("POST", "/cart/guest")
    assert status == 201, body
    return str(body["guest_cart_token"])


def as_guest(client: ShopClient, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, answer, _ = client.call(method, path, body, **{"X-Guest-Cart": token})
    return status, answer


def test_a_guest_cart_starts_without_sign_in_and_is_empty(client: ShopClient) -> None:
    status, body, _ = client.call("POST", "/cart/guest")

    assert status == 201
    assert set(body) == {"guest_cart_token", "expires_at"}
    assert body["expires_at"].endswith("Z")
    status, cart = as_guest(client, body["guest_cart_token"], "GET", "/cart")
    assert status == 200
    assert cart["items"] == [] and cart["coupons"] == {"applicable": [], "best": None}


def test_a_guest_adds_changes_and_removes_lines_at_the_catalog_price(client: ShopClient, skus: list[str]) -> None:
    token = start(client)

    assert as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 2})[0] == 201
    assert as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[1], "quantity": 1})[0] == 201
    status, patched = as_guest(client, token, "PATCH", f"/cart/items/{skus[1]}", {"quantity": 3})
    assert (status, patched["quantity"]) == (200, 3)
    assert as_guest(client, token, "DELETE", f"/cart/items/{skus[1]}")[0] == 204

    status, cart = as_guest(client, token, "GET", "/cart")
    assert status == 200
    assert [(i["sku_id"], i["quantity"], i["price_fen"], i["available"]) for i in cart["items"]] == [
        (skus[0], 2, PRICE, True)
    ]
    assert cart["summary"]["subtotal_fen"] == 2 * PRICE
    assert cart["coupons"] == {"applicable": [], "best": None}


def test_a_guest_cart_keeps_the_same_limits(client: ShopClient, skus: list[str]) -> None:
    token = start(client)
    as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 999})

    status, body = as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1})

    assert status == 409 and body["code"] == "CONFLICT"
    assert as_guest(client, token, "POST", "/cart/items", {"sku_id": "p_nothing-01", "quantity": 1})[0] == 404


def test_bad_forged_and_foreign_tokens_are_refused(client: ShopClient, customer_token: str, skus: list[str]) -> None:
    token = start(client)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    for bad in ("junk", forged, customer_token):
        status, body = as_guest(client, bad, "GET", "/cart")
        assert (status, body["code"]) == (401, "UNAUTHORIZED")
    assert client.call("GET", "/cart", token=token)[0] == 401  # a guest token is no access token
    assert client.call("GET", "/cart")[0] == 401  # neither
    assert as_guest(client, token, "POST", f"/cart/items/{skus[0]}/move-to-favorites")[0] == 401


def test_one_guest_cart_is_never_seen_with_another_token(client: ShopClient, skus: list[str]) -> None:
    mine, theirs = start(client), start(client)
    as_guest(client, mine, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1})

    assert as_guest(client, theirs, "GET", "/cart")[1]["items"] == []
    assert as_guest(client, theirs, "PATCH", f"/cart/items/{skus[0]}", {"quantity": 2})[0] == 404


def test_an_expired_guest_cart_is_refused(client: ShopClient, skus: list[str]) -> None:
    token = start(client)
    guest_id = guest_id_of(token)
    assert guest_id is not None
    DynamoCartRepository().touch_guest(guest_id, epoch_seconds(), epoch_seconds() - 1)  # its 30 days are over

    assert as_guest(client, token, "GET", "/cart")[0] == 401
    assert as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 1})[0] == 401


def test_merging_at_sign_in_adds_quantities_and_lists_what_did_not_fit(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    # GIVEN a signed-in cart holding 998 of one SKU, and a guest cart with 5 of it and 2 of another
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 998}, token=customer_token)
    token = start(client)
    as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[0], "quantity": 5})
    as_guest(client, token, "POST", "/cart/items", {"sku_id": skus[1], "quantity": 2})

    # WHEN the guest cart is merged
    status, body, _ = client.call("POST", "/cart/merge", {"guest_cart_token": token}, token=customer_token)

    # THEN the lines add up to the limit, what did not fit is listed, and the guest cart is gone
    assert status == 200, body
    assert {i["sku_id"]: i["quantity"] for i in body["items"]} == {skus[0]: 999, skus[1]: 2}
    assert body["not_merged"] == [{"sku_id": skus[0], "quantity": 4, "reason": "quantity_limit"}]
    assert "summary" in body and "coupons" in body
    assert as_guest(client, token, "GET", "/cart")[0] == 401
    again = client.call("POST", "/cart/merge", {"guest_cart_token": token}, token=customer_token)
    assert again[0] == 404


def test_merging_needs_a_signed_in_caller_and_a_guest_token(client: ShopClient, customer_token: str) -> None:
    token = start(client)

    assert client.call("POST", "/cart/merge", {"guest_cart_token": token})[0] == 401
    assert client.call("POST", "/cart/merge", {"guest_cart_token": "junk"}, token=customer_token)[0] == 401
    assert client.call("POST", "/cart/merge", {}, token=customer_token)[0] == 400
