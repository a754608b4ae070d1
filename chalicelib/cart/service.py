"""Cart rules: lines (1..999 each, at most 99), and the cart view priced with the catalog, promotions and coupons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.cart.domain import MAX_LINES, MAX_QUANTITY
from chalicelib.cart.repository import CartRepository
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import iso, parse_iso, precise_iso, utcnow
from chalicelib.coupons.domain import CouponOffer
from chalicelib.errors import ChangedMeanwhile, InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.pricing import checkout as pricing
from chalicelib.pricing.checkout import CouponSource
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile import service as profile_service
from chalicelib.profile.repository import ProfileRepository
from chalicelib.retry import retrying

PromotionsAt = Callable[[datetime], list[Promotion]]


def _public_line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku_id": line["sku_id"],
        "quantity": line["quantity"],
        "selected": line["selected"],
        "added_at": iso(parse_iso(line["added_at"])),
    }


# -- lines -------------------------------------------------------------------------------------------------------


def add_item(
    repo: CartRepository, catalog: CatalogRepository, user_id: str, sku_id: str, quantity: int
) -> dict[str, Any]:
    """Put quantity of a SKU in the cart, added to what is there (and selected). 404 for an unknown SKU, 409 for
    one off sale or sold out, past MAX_QUANTITY of it, or for a new line past MAX_LINES."""
    sku = catalog.skus_by_ids([sku_id]).get(sku_id)
    if sku is None:
        raise NotFound("No such SKU")
    if not sku["on_sale"]:
        raise InvalidState("This product is not on sale")
    if sku["stock"] <= 0:
        raise OutOfStock("This SKU is sold out", sku_ids=[sku_id])
    card = {"title": sku["title"], "attributes": sku["attributes"]}

    def attempt() -> dict[str, Any]:
        if not repo.add_to_line(user_id, sku_id, quantity, MAX_QUANTITY, card):
            line = {"sku_id": sku_id, "quantity": quantity, "selected": True, "added_at": precise_iso(utcnow()), **card}
            repo.add_line(user_id, line, MAX_LINES)
        stored = repo.line(user_id, sku_id)
        if stored is None:
            raise ChangedMeanwhile()  # removed between our write and this read
        return _public_line(stored)

    return retrying(attempt)


def update_item(
    repo: CartRepository, user_id: str, sku_id: str, quantity: int | None, selected: bool | None
) -> dict[str, Any]:
    """Set a line's quantity (1..MAX_QUANTITY) and/or whether it is selected; 404 if the cart has no such line."""
    if quantity is None and selected is None:
        raise ValidationError(
            "Give quantity and/or selected", errors=[{"field": "(body)", "message": "Give quantity, selected or both."}]
        )
    if not repo.update_line(user_id, sku_id, quantity, selected):
        raise NotFound("No such line in the cart")
    line = repo.line(user_id, sku_id)
    if line is None:
        raise NotFound("No such line in the cart")
    return _public_line(line)


def remove_lines(repo: CartRepository, user_id: str, sku_ids: list[str]) -> None:
    """Remove these SKUs' lines from the user's cart; those not in it are ignored (orders call this once placed)."""
    wanted = set(sku_ids)

    def attempt() -> None:
        present = [line["sku_id"] for line in repo.lines(user_id) if line["sku_id"] in wanted]
        if present:
            repo.remove_lines(user_id, present)

    retrying(attempt)


def empty_cart(repo: CartRepository, user_id: str) -> None:
    """Remove every line (the account is being deleted)."""
    remove_lines(repo, user_id, [line["sku_id"] for line in repo.lines(user_id)])


def remove_item(repo: CartRepository, user_id: str, sku_id: str) -> None:
    """Remove one line; a line that is not there is a no-op."""

    def attempt() -> None:
        if repo.line(user_id, sku_id) is not None:
            repo.remove_lines(user_id, [sku_id])

    retrying(attempt)


def move_to_favorites(repo: CartRepository, profile: ProfileRepository, user_id: str, sku_id: str) -> dict[str, Any]:
    """Favorite the line's product, then take the line out of the cart (404 if there is no such line or product)."""
    if repo.line(user_id, sku_id) is None:
        raise NotFound("No such line in the cart")
    product_id = product_id_of_sku(sku_id)
    favorite = profile_service.add_favorite(profile, user_id, product_id)
    remove_item(repo, user_id, sku_id)
    return {"sku_id": sku_id, "product_id": product_id, "favorited_at": favorite["favorited_at"],
            "newly_favorited": favorite["newly_added"]}  # fmt: skip


def selected_lines(repo: CartRepository, user_id: str) -> list[tuple[str, int]]:
    """(sku_id, quantity) of the selected lines, oldest first: what an order `from_cart` buys."""
    lines = sorted(repo.lines(user_id), key=lambda line: (line["added_at"], line["sku_id"]))
    return [(line["sku_id"], line["quantity"]) for line in lines if line["selected"]]


# -- the cart view -----------------------------------------------------------------------------------------------


def _unavailable_reason(sku: dict[str, Any] | None, quantity: int) -> str | None:
    """Why a line cannot be bought now: gone, off_sale, sold_out, or not_enough_stock (stock below its quantity)."""
    if sku is None:
        return "gone"
    if not sku["on_sale"]:
        return "off_sale"
    if sku["stock"] <= 0:
        return "sold_out"
    if sku["stock"] < quantity:
        return "not_enough_stock"
    return None


def _offer_view(offer: CouponOffer, discount_fen: int) -> dict[str, Any]:
    return {
        "coupon_id": offer.coupon_id,
        "template_id": offer.template_id,
        "name": offer.name,
        "type": offer.type,
        "threshold_fen": offer.threshold_fen,
        "amount_off_fen": offer.amount_off_fen,
        "percent_off": offer.percent_off,
        "max_discount_fen": offer.max_discount_fen,
        "scope": offer.scope,
        "scope_ids": list(offer.scope_ids),
        "valid_to": offer.valid_to,
        "discount_fen": discount_fen,
    }


def view_cart(
    repo: CartRepository,
    catalog: CatalogRepository,
    profile: ProfileRepository,
    user_id: str,
    promotions_at: PromotionsAt,
    coupons: CouponSource,
) -> dict[str, Any]:
    """The cart at today's prices, newest line first. Totals count the lines both selected and available, priced
    by the one pricing path of the preview and orders (chalicelib.pricing.checkout) with the best coupon and the
    default address (none: no shipping yet), so payable_fen is what the preview of `from_cart` shows."""
    now = utcnow()
    lines = sorted(repo.lines(user_id), key=lambda line: (line["added_at"], line["sku_id"]), reverse=True)
    skus = catalog.skus_by_ids([line["sku_id"] for line in lines]) if lines else {}
    promotions = promotions_at(now)
    quantities = {line["sku_id"]: line["quantity"] for line in lines}
    listed = [s for s in skus.values() if s["sku_id"] in quantities]
    priced = {p.sku_id: p for p in pricing.priced_lines(catalog, listed, quantities, promotions, now)}
    items = []
    payable_lines = []
    for line in lines:
        sku = skus.get(line["sku_id"])
        reason = _unavailable_reason(sku, line["quantity"])
        priced_line = priced.get(line["sku_id"])
        if reason is None and line["selected"] and priced_line is not None:
            payable_lines.append(priced_line)
        items.append(
            {
                "sku_id": line["sku_id"],
                "product_id": product_id_of_sku(line["sku_id"]),
                "title": sku["title"] if sku else line["title"],
                "attributes": sku["attributes"] if sku else line["attributes"],
                "image_url": sku["image_url"] if sku else None,
                "price_fen": priced_line.unit_price_fen if priced_line else None,
                "list_price_fen": priced_line.list_price_fen if priced_line else None,
                "promotion_id": priced_line.promotion_id if priced_line else None,
                "quantity": line["quantity"],
                "selected": line["selected"],
                "available": reason is None,
                "unavailable_reason": reason,
                "stock": int(sku["stock"]) if sku else 0,
                "line_total_fen": priced_line.total_fen if priced_line else None,
                "added_at": _public_line(line)["added_at"],
            }
        )
    payable_lines.reverse()  # oldest first, as an order `from_cart` lists them
    ships = profile.address_book(user_id).default_id is not None
    checkout = pricing.price(payable_lines, promotions, coupons, user_id, ships=ships, now=now)
    result = checkout.quote
    best = next((v for v in checkout.applicable if result.coupon and v.offer.coupon_id == result.coupon.coupon_id),
                None)  # fmt: skip
    return {
        "items": items,
        "summary": {
            "subtotal_fen": result.items_fen,
            "discount_fen": result.discount_fen,
            "payable_fen": result.payable_fen,
            "promotion_discount_fen": result.promotion_discount_fen,
            "coupon_discount_fen": result.coupon_discount_fen,
            "shipping_fen": result.shipping_fen,
            "selected_quantity": sum(line.quantity for line in payable_lines),
            "applied_promotions": list(result.applied_promotions),
        },
        "coupons": {
            "applicable": [_offer_view(v.offer, v.discount_fen) for v in checkout.applicable],
            "best": _offer_view(best.offer, best.discount_fen) if best else None,
        },
    }
