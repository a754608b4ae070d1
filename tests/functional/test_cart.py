"""The cart through the HTTP API on moto: lines and their limits, availability, promotions and coupons in totals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.accounts.tokens import verify_access_token
from chalicelib.cart import service
from chalicelib.cart.domain import CartOwner
from chalicelib.cart.models import CART_LINE_PREFIX, CartLineModel, user_pk
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.clock import iso, precise_iso, utcnow
from chalicelib.promotions.service import promotion_cache
from tests.functional.catalog_data import create_catalog, create_product, product_body
from tests.functional.conftest import ShopClient, register_and_login

PRICE = 699900  # the first SKU of catalog_data's products (stock 10); the second is sold out


@pytest.fixture(autouse=True)
def no_cached_promotions() -> Iterator[None]:
    promotion_cache.forget()  # the table is emptied before each test; the container's cache must forget it too
    yield
    promotion_cache.forget()


@pytest.fixture
def skus(client: ShopClient, admin_token: str) -> list[str]:
    """The in-stock SKU of two phones and of one earphone."""
    create_catalog(client, admin_token)
    phones = [create_product(client, admin_token, f"华为 Mate {n}") for n in (60, 70)]
    earphone = create_product(client, admin_token, "华为 FreeBuds", category="c_earphone")
    return [product["skus"][0]["sku_id"] for product in [*phones, earphone]]


def user_id_of(token: str) -> str:
    claims = verify_access_token(token)
    assert claims is not None
    return claims.user_id


def add(client: ShopClient, token: str, sku_id: str, quantity: int = 1) -> tuple[int, Any]:
    status, body, _ = client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": quantity}, token=token)
    return status, body


def cart(client: ShopClient, token: str) -> dict[str, Any]:
    status, body, _ = client.call("GET", "/cart", token=token)
    assert status == 200, body
    return dict(body)


def set_stock(client: ShopClient, admin_token: str, sku_id: str, stock: int) -> None:
    status, body, _ = client.call("PATCH", f"/admin/skus/{sku_id}/stock", {"stock": stock}, token=admin_token)
    assert status == 200, body


# -- lines ---------------------------------------------------------------------------------------------------------


def test_an_empty_cart_has_no_items_and_nothing_to_pay(client: ShopClient, customer_token: str) -> None:
    body = cart(client, customer_token)

    assert body["items"] == []
    assert body["summary"] == {
        "subtotal_fen": 0, "discount_fen": 0, "payable_fen": 0, "promotion_discount_fen": 0,
        "coupon_discount_fen": 0, "member_discount_fen": 0, "shipping_fen": 0, "selected_quantity": 0,
        "applied_promotions": [],
    }  # fmt: skip
    assert body["coupons"] == {"applicable": [], "best": None}


def test_adding_a_sku_twice_merges_into_one_priced_line(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    first = add(client, customer_token, skus[0], 1)
    second = add(client, customer_token, skus[0], 2)

    body = cart(client, customer_token)

    assert first[0] == 201 and first[1]["quantity"] == 1
    assert second[0] == 201 and second[1]["quantity"] == 3
    [item] = body["items"]
    assert item.items() >= {
        "sku_id": skus[0], "product_id": skus[0].rsplit("-", 1)[0], "title": "华为 Mate 60",
        "attributes": {"颜色": "雅川青"}, "price_fen": PRICE, "list_price_fen": PRICE, "promotion_id": None,
        "quantity": 3, "selected": True, "available": True, "unavailable_reason": None, "stock": 10,
        "line_total_fen": 3 * PRICE,
    }.items()  # fmt: skip
    assert body["summary"]["subtotal_fen"] == body["summary"]["payable_fen"] == 3 * PRICE


def test_quantities_stay_between_1_and_999(client: ShopClient, customer_token: str, skus: list[str]) -> None:
    assert add(client, customer_token, skus[0], 0)[0] == 400
    assert add(client, customer_token, skus[0], 1000)[0] == 400
    assert add(client, customer_token, skus[0], 500)[0] == 201

    over, body = add(client, customer_token, skus[0], 500)
    patch_over = client.call("PATCH", f"/cart/items/{skus[0]}", {"quantity": 1000}, token=customer_token)
    patch_zero = client.call("PATCH", f"/cart/items/{skus[0]}", {"quantity": 0}, token=customer_token)
    patch_max = client.call("PATCH", f"/cart/items/{skus[0]}", {"quantity": 999}, token=customer_token)

    assert (over, body["code"]) == (409, "CONFLICT")
    assert (patch_over[0], patch_zero[0]) == (400, 400)
    assert (patch_max[0], patch_max[1]["quantity"]) == (200, 999)
    assert [item["quantity"] for item in cart(client, customer_token)["items"]] == [999]


def test_unknown_skus_are_not_found_and_sold_out_ones_are_refused(
    client: ShopClient, customer_token: str, admin_token: str, skus: list[str]
) -> None:
    sold_out = skus[0].rsplit("-", 1)[0] + "-02"

    unknown = add(client, customer_token, "p_nothing-01")
    refused = add(client, customer_token, sold_out)

    assert (unknown[0], unknown[1]["code"]) == (404, "NOT_FOUND")
    assert (refused[0], refused[1]["code"]) == (409, "OUT_OF_STOCK")
    assert cart(client, customer_token)["items"] == []


def test_a_sku_taken_off_sale_is_refused_by_add_once_the_sku_cache_time_has_passed(
    client: ShopClient, customer_token: str, admin_token: str, skus: list[str], sku_cache_seconds: Any
) -> None:
    # GIVEN SKUs kept 1 second per container, and a line of a phone (its SKU just read)
    sku_cache_seconds(1)
    assert add(client, customer_token, skus[0])[0] == 201
    product_id = skus[0].rsplit("-", 1)[0]

    # WHEN staff takes the phone off sale, and the customer adds it again after that second
    off_sale = {**product_body("华为 Mate 60"), "on_sale": False}
    off_sale["skus"] = [{**off_sale["skus"][0], "sku_id": skus[0]}]  # the same SKU (the sold-out one goes)
    assert client.call("PUT", f"/admin/products/{product_id}", off_sale, token=admin_token)[0] == 200
    time.sleep(1.05)
    status, body = add(client, customer_token, skus[0])

    # THEN the add is refused as off sale, the line keeps its quantity, and the view shows it unavailable
    assert (status, body["code"]) == (409, "INVALID_STATE")
    assert [(i["quantity"], i["unavailable_reason"]) for i in cart(client, customer_token)["items"]] == [
        (1, "off_sale")
    ]


def test_a_cart_holds_at_most_99_lines_and_full_lines_still_merge(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    user_id = user_id_of(customer_token)
    repo = DynamoCartRepository()
    for n in range(97):
        line = {"sku_id": f"p_filler-{n:02d}", "quantity": 1, "selected": False, "added_at": precise_iso(utcnow()),
                "title": "填充", "attributes": {}}  # fmt: skip
        repo.put_line(CartOwner.user(user_id), line, None, 99, None, None)

    assert add(client, customer_token, skus[0])[0] == 201  # the 98th
    assert add(client, customer_token, skus[1])[0] == 201  # the 99th
    full, body = add(client, customer_token, skus[2])
    merged = add(client, customer_token, skus[0], 4)

    assert (full, body["code"]) == (409, "CONFLICT")
    assert merged[0] == 201 and merged[1]["quantity"] == 5
    assert client.call("DELETE", f"/cart/items/{skus[1]}", token=customer_token)[0] == 204
    assert add(client, customer_token, skus[2])[0] == 201  # a place was freed
    assert len(cart(client, customer_token)["items"]) == 99


def test_patch_changes_quantity_and_selection_and_totals_count_selected_lines(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    add(client, customer_token, skus[0])
    add(client, customer_token, skus[1])

    status, body, _ = client.call("PATCH", f"/cart/items/{skus[1]}", {"selected": False}, token=customer_token)
    empty = client.call("PATCH", f"/cart/items/{skus[0]}", {}, token=customer_token)
    missing = client.call("PATCH", f"/cart/items/{skus[2]}", {"quantity": 2}, token=customer_token)
    not_a_bool = client.call("PATCH", f"/cart/items/{skus[0]}", {"selected": "no"}, token=customer_token)

    assert (status, body["selected"]) == (200, False)
    assert (empty[0], missing[0], not_a_bool[0]) == (400, 404, 400)
    view = cart(client, customer_token)
    assert [(i["sku_id"], i["selected"]) for i in view["items"]] == [(skus[1], False), (skus[0], True)]  # newest first
    assert (view["summary"]["subtotal_fen"], view["summary"]["selected_quantity"]) == (PRICE, 1)


def test_deleting_a_line_answers_204_whether_or_not_it_was_there(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    add(client, customer_token, skus[0])

    first = client.call("DELETE", f"/cart/items/{skus[0]}", token=customer_token)
    again = client.call("DELETE", f"/cart/items/{skus[0]}", token=customer_token)

    assert (first[0], again[0]) == (204, 204)
    assert cart(client, customer_token)["items"] == []


def test_deleted_sold_out_and_short_skus_show_unavailable_and_leave_the_totals(
    client: ShopClient, customer_token: str, admin_token: str, skus: list[str]
) -> None:
    for sku_id in skus:
        add(client, customer_token, sku_id, 3)
    product_id = skus[0].rsplit("-", 1)[0]
    body = product_body("华为 Mate 60")
    body["skus"] = [{"attributes": {"颜色": "雅丹黑"}, "price_fen": 689900, "stock": 5}]  # the first SKU goes
    assert client.call("PUT", f"/admin/products/{product_id}", body, token=admin_token)[0] == 200
    set_stock(client, admin_token, skus[1], 0)
    set_stock(client, admin_token, skus[2], 2)

    view = cart(client, customer_token)

    by_sku = {item["sku_id"]: item for item in view["items"]}
    assert by_sku[skus[0]].items() >= {"available": False, "unavailable_reason": "gone", "title": "华为 Mate 60",
                                    "price_fen": None, "stock": 0}.items()  # fmt: skip
    assert (by_sku[skus[1]]["available"], by_sku[skus[1]]["unavailable_reason"]) == (False, "sold_out")
    assert (by_sku[skus[2]]["available"], by_sku[skus[2]]["unavailable_reason"]) == (False, "not_enough_stock")
    assert view["summary"]["subtotal_fen"] == view["summary"]["payable_fen"] == 0


def test_move_to_favorites_favorites_the_product_and_takes_the_line_out(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    add(client, customer_token, skus[0])

    status, body, _ = client.call("POST", f"/cart/items/{skus[0]}/move-to-favorites", token=customer_token)
    again = client.call("POST", f"/cart/items/{skus[0]}/move-to-favorites", token=customer_token)

    assert status == 200 and body["product_id"] == skus[0].rsplit("-", 1)[0]
    assert again[0] == 404
    assert cart(client, customer_token)["items"] == []
    favorites = client.call("GET", "/me/favorites", token=customer_token)[1]["items"]
    assert [f["product_id"] for f in favorites] == [body["product_id"]]


def test_orders_read_the_selected_lines_and_remove_what_they_bought(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    for quantity, sku_id in enumerate(skus, start=1):
        add(client, customer_token, sku_id, quantity)
    client.call("PATCH", f"/cart/items/{skus[1]}", {"selected": False}, token=customer_token)
    repo, user_id = DynamoCartRepository(), user_id_of(customer_token)

    selected = service.selected_lines(repo, user_id)
    service.remove_lines(repo, user_id, [sku_id for sku_id, _ in selected])

    assert selected == [(skus[0], 1), (skus[2], 3)]
    assert [item["sku_id"] for item in cart(client, customer_token)["items"]] == [skus[1]]
    assert add(client, customer_token, skus[0])[0] == 201  # the counter went down with the lines


def test_one_users_cart_is_not_anothers(client: ShopClient, customer_token: str, skus: list[str]) -> None:
    add(client, customer_token, skus[0])
    intruder = register_and_login(client, "intruder")

    patched = client.call("PATCH", f"/cart/items/{skus[0]}", {"quantity": 9}, token=intruder)
    client.call("DELETE", f"/cart/items/{skus[0]}", token=intruder)

    assert patched[0] == 404
    assert cart(client, intruder)["items"] == []
    assert [item["quantity"] for item in cart(client, customer_token)["items"]] == [1]


# -- promotions and coupons ----------------------------------------------------------------------------------------


def test_promotional_prices_and_threshold_discounts_change_the_cart(
    client: ShopClient, customer_token: str, admin_token: str, skus: list[str]
) -> None:
    add(client, customer_token, skus[0], 2)
    now = utcnow()
    window = {"starts_at": iso(now - timedelta(minutes=1)), "ends_at": iso(now + timedelta(hours=1))}
    flash = {
        "name": "限时直降",
        "kind": "flash_price",
        **window,
        "sku_prices": [{"sku_id": skus[0], "price_fen": 599900}],
    }
    tiers = {
        "name": "满5000减200",
        "kind": "threshold",
        **window,
        "tiers": [{"threshold_fen": 500000, "off_fen": 20000}, {"threshold_fen": 1000000, "off_fen": 50000}],
    }
    flash_id = client.call("POST", "/admin/promotions", flash, token=admin_token)[1]["promotion_id"]
    tiers_id = client.call("POST", "/admin/promotions", tiers, token=admin_token)[1]["promotion_id"]

    view = cart(client, customer_token)

    [item] = view["items"]
    assert (item["price_fen"], item["list_price_fen"], item["promotion_id"]) == (599900, PRICE, flash_id)
    assert view["summary"].items() >= {
        "subtotal_fen": 2 * PRICE, "promotion_discount_fen": 2 * 100000 + 50000, "discount_fen": 250000,
        "payable_fen": 2 * PRICE - 250000, "shipping_fen": 0,
    }.items()  # fmt: skip
    assert view["summary"]["applied_promotions"] == [flash_id, tiers_id]


def test_the_best_claimed_coupon_counts_in_the_totals_and_all_that_apply_are_listed(
    client: ShopClient, customer_token: str, admin_token: str, skus: list[str]
) -> None:
    add(client, customer_token, skus[0])
    templates = [
        {"name": "满100减100", "type": "amount_off", "amount_off_fen": 10000, "threshold_fen": 10000},
        {"name": "九折券", "type": "percent_off", "percent_off": 10, "max_discount_fen": 50000},
        {"name": "满一万减500", "type": "amount_off", "amount_off_fen": 50000, "threshold_fen": 1000000},
    ]
    coupon_ids = []
    for template in templates:
        status, created, _ = client.call("POST", "/admin/coupons", template | {"valid_days": 30, "total": 10},
                                         token=admin_token)  # fmt: skip
        assert status == 201, created
        status, claimed, _ = client.call("POST", f"/coupons/{created['template_id']}/claim", token=customer_token)
        assert status == 201, claimed
        coupon_ids.append(claimed["coupon_id"])

    view = cart(client, customer_token)

    assert [(c["coupon_id"], c["discount_fen"]) for c in view["coupons"]["applicable"]] == [
        (coupon_ids[1], 50000), (coupon_ids[0], 10000)]  # fmt: skip
    assert view["coupons"]["best"]["coupon_id"] == coupon_ids[1]
    assert view["summary"].items() >= {"coupon_discount_fen": 50000, "discount_fen": 50000,
                                    "payable_fen": PRICE - 50000}.items()  # fmt: skip


class RemovedMeanwhile(DynamoCartRepository):
    """The real repository, but the line is removed (line and head, as DELETE does) just before the first write."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def put_line(self, owner: CartOwner, line: dict[str, Any], was: int | None, *args: Any, **kwargs: Any) -> None:
        if not self.raced:
            self.raced = True
            self.remove_lines(owner, [line["sku_id"]], None, None)
        super().put_line(owner, line, was, *args, **kwargs)


def test_more_of_a_line_removed_meanwhile_starts_it_again_and_the_cart_counts_it(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    # GIVEN a line of 2, which another request removes between this add's read and its write
    user_id = user_id_of(customer_token)
    add(client, customer_token, skus[0], 2)
    repo = RemovedMeanwhile()

    # WHEN 3 more are added
    line = service.add_item(repo, DynamoCatalogRepository(), CartOwner.user(user_id), skus[0], 3)

    # THEN the write's condition saw the removal: the line starts again at 3, and the cart's head lists it
    lines, head = repo.cart(CartOwner.user(user_id))
    assert (repo.raced, line["quantity"]) == (True, 3)
    assert [(each["sku_id"], each["quantity"]) for each in lines] == [(skus[0], 3)]
    assert head is not None and head["skus"] == {skus[0]}


def test_more_of_a_line_its_cart_head_does_not_list_is_written_with_the_head(
    client: ShopClient, customer_token: str, skus: list[str]
) -> None:
    # GIVEN a cart of one line and a line its head does not list (one written before the head counted SKUs)
    user_id = user_id_of(customer_token)
    add(client, customer_token, skus[0])
    CartLineModel(user_pk(user_id), f"{CART_LINE_PREFIX}{skus[1]}", sku_id=skus[1], quantity=1,
                  added_at=precise_iso(utcnow()), title="旧行").save()  # fmt: skip

    # WHEN more of that line is added
    status, body = add(client, customer_token, skus[1], 2)

    # THEN the line has 3 and the head lists both lines, so the cart's line limit counts it
    _, head = DynamoCartRepository().cart(CartOwner.user(user_id))
    assert (status, body["quantity"]) == (201, 3)
    assert head is not None and head["skus"] == {skus[0], skus[1]}
