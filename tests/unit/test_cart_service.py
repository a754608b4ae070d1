"""Cart rules on in-memory repositories, with concurrent writes slipped in between a read and a conditional write."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.cart import service
from chalicelib.cart.domain import MAX_LINES, CartFull, CartOwner
from chalicelib.cart.sku_cache import SkuCache
from chalicelib.clock import utcnow
from chalicelib.coupons.domain import CouponOffer
from chalicelib.dynamo import PendingRead, PendingSlice
from chalicelib.errors import ChangedMeanwhile, NotFound
from chalicelib.pricing.checkout import CouponSource
from chalicelib.pricing.promotion import Promotion, Tier
from tests.unit.fakes import FakeCatalogRepository
from tests.unit.profile_fakes import FakeProfileRepository


class FakeCartRepository:
    """The same interface and write conditions as DynamoCartRepository; each `meanwhile` entry runs before one write."""

    def __init__(self) -> None:
        self.carts: dict[CartOwner, dict[str, dict[str, Any]]] = {}
        self.meanwhile: list[Callable[[], None]] = []
        self.guessed_without: set[tuple[CartOwner, str]] = set()  # has_no_line's guesses, right or wrong
        self.writes: list[str] = []

    def _race(self) -> None:
        if self.meanwhile:
            self.meanwhile.pop(0)()

    def lines(self, owner: CartOwner) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.carts.get(owner, {}).values()))

    def cart(self, owner: CartOwner) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        lines = self.lines(owner)
        return lines, ({"skus": {line["sku_id"] for line in lines}, "expires_at": None} if lines else None)

    def cart_slice(self, owner: CartOwner) -> PendingSlice[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        return PendingSlice(None, owner.id, "", "", lambda _: self.cart(owner))

    def line(self, owner: CartOwner, sku_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.carts.get(owner, {}).get(sku_id))

    def line_read(self, owner: CartOwner, sku_id: str) -> PendingRead[dict[str, Any] | None]:
        return PendingRead(None, None, lambda _: self.line(owner, sku_id))

    def head_read(self, owner: CartOwner) -> PendingRead[dict[str, Any] | None]:
        return PendingRead(None, None, lambda _: self.cart(owner)[1])

    def put_line(
        self,
        owner: CartOwner,
        line: dict[str, Any],
        was: int | None,
        max_lines: int,
        alive_at: int | None,
        expires_at: int | None,
        listed: bool = False,
    ) -> None:
        self._race()
        self.writes.append("put_line")
        cart = self.carts.setdefault(owner, {})
        current = cart.get(line["sku_id"])
        if (current["quantity"] if current else None) != was:
            self.guessed_without.discard((owner, line["sku_id"]))
            raise ChangedMeanwhile()
        if current is None and len(cart) >= max_lines:
            raise CartFull()
        cart[line["sku_id"]] = copy.deepcopy(line)

    def has_no_line(self, owner: CartOwner, sku_id: str) -> bool:
        return (owner, sku_id) in self.guessed_without

    def add_quantity(
        self, owner: CartOwner, sku_id: str, quantity: int, max_quantity: int
    ) -> tuple[dict[str, Any] | None, bool]:
        self._race()
        self.writes.append("add_quantity")
        line = self.carts.get(owner, {}).get(sku_id)
        if line is None or line["quantity"] + quantity > max_quantity:
            return None, line is not None
        line.update(quantity=line["quantity"] + quantity, selected=True)
        return copy.deepcopy(line), True

    def update_line(
        self, owner: CartOwner, sku_id: str, quantity: int | None, selected: bool | None, expires_at: int | None
    ) -> dict[str, Any] | None:
        line = self.carts.get(owner, {}).get(sku_id)
        if line is None:
            return None
        line.update({k: v for k, v in (("quantity", quantity), ("selected", selected)) if v is not None})
        return copy.deepcopy(line)

    def remove_lines(self, owner: CartOwner, sku_ids: list[str], alive_at: int | None, expires_at: int | None) -> None:
        self._race()
        cart = self.carts.get(owner, {})
        for sku_id in sku_ids:
            cart.pop(sku_id, None)


U = CartOwner.user("u_1")


class SkuCatalog(FakeCatalogRepository):
    """A catalog of SKU records as skus_by_ids returns them (each with its product's card)."""

    def __init__(self) -> None:
        super().__init__()
        self.sku_records: dict[str, dict[str, Any]] = {}
        for category in (
            {"category_id": "c_digital", "name": "手机数码", "parent_id": None, "sort_order": 1},
            {"category_id": "c_phone", "name": "手机", "parent_id": "c_digital", "sort_order": 1},
            {"category_id": "c_food", "name": "食品", "parent_id": None, "sort_order": 2},
        ):
            self.category_items[category["category_id"]] = category

    def add(self, sku_id: str, price_fen: int, stock: int = 10, category_id: str = "c_phone", **card: Any) -> str:
        self.sku_records[sku_id] = {
            "sku_id": sku_id, "product_id": sku_id.rsplit("-", 1)[0], "attributes": {"颜色": "黑"},
            "price_fen": price_fen, "stock": stock, "title": f"商品 {sku_id}", "image_url": None,
            "category_id": category_id, "brand_id": "b_x", "on_sale": True, **card,
        }  # fmt: skip
        return sku_id

    def skus_by_ids(self, sku_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {s: copy.deepcopy(self.sku_records[s]) for s in sku_ids if s in self.sku_records}


@pytest.fixture(autouse=True)
def fresh_category_tree() -> None:
    from chalicelib.catalog.service import category_tree

    category_tree.forget()


class OfferList(CouponSource):
    """The user's usable coupons, as given."""

    def __init__(self, offers: list[CouponOffer]) -> None:
        self.offers = offers

    def usable(self, user_id: str, now: datetime) -> list[CouponOffer]:
        return list(self.offers)

    def named(self, user_id: str, coupon_id: str, now: datetime) -> CouponOffer:
        raise NotFound("No such coupon")


def view(
    repo: FakeCartRepository,
    catalog: SkuCatalog,
    promotions: list[Promotion] | None = None,
    offers: list[CouponOffer] | None = None,
    profile: FakeProfileRepository | None = None,
) -> dict[str, Any]:
    return service.view_cart(repo, catalog, profile or FakeProfileRepository(), U, lambda now: promotions or [],
                             OfferList(offers or []))  # fmt: skip


def test_a_new_line_that_lost_the_race_for_the_last_place_is_refused() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    for n in range(MAX_LINES - 1):
        line = {"sku_id": f"p_{n}-01", "quantity": 1, "selected": True, "added_at": "x", "title": "", "attributes": {}}
        repo.put_line(U, line, None, MAX_LINES, None, None)
    sku_id, rival = catalog.add("p_a-01", 100), catalog.add("p_b-01", 100)
    repo.meanwhile.append(lambda: service.add_item(repo, catalog, U, rival, 1))

    with pytest.raises(CartFull):
        service.add_item(repo, catalog, U, sku_id, 1)

    assert len(repo.lines(U)) == MAX_LINES and repo.line(U, rival) is not None


def test_the_same_sku_added_meanwhile_is_merged_not_lost() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    sku_id = catalog.add("p_a-01", 100)
    repo.meanwhile.append(lambda: service.add_item(repo, catalog, U, sku_id, 2))

    line = service.add_item(repo, catalog, U, sku_id, 3)

    assert line["quantity"] == 5


def test_a_cached_sku_the_cart_is_known_to_lack_is_put_as_a_new_line_in_one_write() -> None:
    # GIVEN a cached SKU and a cart seen lately without it
    repo, catalog, skus = FakeCartRepository(), SkuCatalog(), SkuCache(60)
    sku_id = catalog.add("p_a-01", 100)
    skus.put(sku_id, catalog.sku_records[sku_id])
    repo.guessed_without.add((U, sku_id))

    # WHEN it is added  THEN the new line is put at once, without trying more of a line first
    assert service.add_item(repo, catalog, U, sku_id, 2, skus)["quantity"] == 2
    assert repo.writes == ["put_line"]


def test_a_wrong_guess_that_the_cart_lacks_a_sku_still_adds_to_its_line() -> None:
    # GIVEN a cart seen without the SKU, whose line was added meanwhile elsewhere (another device)
    repo, catalog, skus = FakeCartRepository(), SkuCatalog(), SkuCache(60)
    sku_id = catalog.add("p_a-01", 100)
    skus.put(sku_id, catalog.sku_records[sku_id])
    service.add_item(repo, catalog, U, sku_id, 2, skus)
    repo.guessed_without.add((U, sku_id))
    repo.writes.clear()

    # WHEN it is added again  THEN the put is refused and the add lands on the line: nothing lost, no second line
    assert service.add_item(repo, catalog, U, sku_id, 3, skus)["quantity"] == 5
    assert repo.writes == ["put_line", "add_quantity"] and len(repo.lines(U)) == 1


def test_totals_count_selected_available_lines_with_promotions_and_the_best_coupon() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    phone = catalog.add("p_phone-01", 30000)
    snack = catalog.add("p_snack-01", 2000, category_id="c_food")
    short = catalog.add("p_short-01", 5000, stock=1)
    unselected = catalog.add("p_other-01", 9000)
    for sku_id, quantity in ((phone, 1), (snack, 2), (short, 2), (unselected, 1)):
        service.add_item(repo, catalog, U, sku_id, quantity)
    service.update_item(repo, U, unselected, None, False)
    now = utcnow()
    promotions = [
        Promotion("pr_f", "限时", "flash_price", now - timedelta(hours=1), now + timedelta(hours=1),
                  sku_prices=((phone, 28000),)),
        Promotion("pr_t", "数码满减", "threshold", now - timedelta(hours=1), now + timedelta(hours=1),
                  tiers=(Tier(20000, 2000),), scope="category", scope_ids=("c_digital",)),
    ]  # fmt: skip
    coupon = CouponOffer("cp_1", "t_1", "食品券", "amount_off", 3000, scope="category", scope_ids=("c_food",),
                         amount_off_fen=500, valid_to="2030-01-01T00:00:00Z")  # fmt: skip
    unusable = CouponOffer("cp_2", "t_2", "大额券", "amount_off", 99900, amount_off_fen=5000, valid_to="2030")

    body = view(repo, catalog, promotions, [coupon, unusable])

    by_sku = {item["sku_id"]: item for item in body["items"]}
    assert (by_sku[short]["available"], by_sku[short]["unavailable_reason"]) == (False, "not_enough_stock")
    assert (by_sku[phone]["price_fen"], by_sku[phone]["promotion_id"]) == (28000, "pr_f")
    # phone 28000 (list 30000) gets 满200减20 -> 26000; snacks 4000 take the 5 yuan coupon -> 3500; no shipping.
    assert body["summary"]["subtotal_fen"] == 30000 + 4000
    assert (body["summary"]["promotion_discount_fen"], body["summary"]["coupon_discount_fen"]) == (4000, 500)
    assert (body["summary"]["shipping_fen"], body["summary"]["payable_fen"]) == (0, 29500)
    assert [c["coupon_id"] for c in body["coupons"]["applicable"]] == ["cp_1"]
    assert body["coupons"]["best"]["discount_fen"] == 500


def test_orders_see_selected_lines_oldest_first_and_removing_ignores_lines_not_there() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    first, second = catalog.add("p_a-01", 100), catalog.add("p_b-01", 100)
    service.add_item(repo, catalog, U, first, 2)
    service.add_item(repo, catalog, U, second, 1)

    selected = service.selected_lines(repo, "u_1")
    service.remove_lines(repo, "u_1", [first, "p_gone-01"])

    assert selected == [(first, 2), (second, 1)]
    assert [line["sku_id"] for line in repo.lines(U)] == [second]


def test_off_sale_skus_cannot_be_added_and_show_why_once_in_the_cart() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    sku_id = catalog.add("p_a-01", 100)
    service.add_item(repo, catalog, U, sku_id, 1)
    catalog.sku_records[sku_id]["on_sale"] = False

    [item] = view(repo, catalog)["items"]

    assert (item["available"], item["unavailable_reason"]) == (False, "off_sale")
    with pytest.raises(Exception, match="not on sale"):
        service.add_item(repo, catalog, U, sku_id, 1)


def test_lines_show_newest_first() -> None:
    repo, catalog = FakeCartRepository(), SkuCatalog()
    ids = [catalog.add(f"p_{n}-01", 100) for n in range(3)]
    for sku_id in ids:
        service.add_item(repo, catalog, U, sku_id, 1)

    assert [item["sku_id"] for item in view(repo, catalog)["items"]] == list(reversed(ids))
    assert isinstance(datetime.fromisoformat(view(repo, catalog)["items"][0]["added_at"]), datetime)
