"""Cart rules: lines (1..999 each, at most 99), and the cart view priced with the catalog, promotions and coupons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.cart import guest
from chalicelib.cart.domain import (
    GUEST_CART_DAYS,
    MAX_LINES,
    MAX_QUANTITY,
    CartOwner,
    GuestCartGone,
    QuantityLimit,
    unavailable_reason,
)
from chalicelib.cart.repository import CartRepository
from chalicelib.cart.sku_cache import SkuCache
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import iso, precise_iso, seconds_iso, utcnow
from chalicelib.coupons.domain import CouponOffer
from chalicelib.dynamo import PendingSlice, read_slices, read_together
from chalicelib.errors import InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.logistics.repository import FreightTemplates, NoFreightTemplates
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pricing import checkout as pricing
from chalicelib.pricing.checkout import CouponSource
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile import service as profile_service
from chalicelib.profile.repository import ProfileRepository
from chalicelib.retry import retrying

PromotionsAt = Callable[[datetime], list[Promotion]]


class _NoCoupons(CouponSource):
    """A guest cart's coupons: none."""

    def usable(self, user_id: str, now: datetime) -> list[CouponOffer]:
        return []

    def named(self, user_id: str, coupon_id: str, now: datetime) -> CouponOffer:
        raise NotFound("No such coupon")


NO_COUPONS = _NoCoupons()


def _public_line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku_id": line["sku_id"],
        "quantity": line["quantity"],
        "selected": line["selected"],
        "added_at": seconds_iso(line["added_at"]),
    }


# -- lines -------------------------------------------------------------------------------------------------------


def _guest_times(owner: CartOwner, now: datetime) -> tuple[int | None, int | None]:
    """(alive_at, expires_at) of a write: a guest cart must be alive now and is kept GUEST_CART_DAYS from now."""
    if not owner.guest:
        return None, None
    moment = int(now.timestamp())
    return moment, moment + GUEST_CART_DAYS * 86400


def _check_alive(owner: CartOwner, head: dict[str, Any] | None, now: datetime) -> None:
    if owner.guest and (head is None or (head.get("expires_at") or 0) <= int(now.timestamp())):
        raise GuestCartGone()


def _check_sku(sku: dict[str, Any] | None, sku_id: str) -> dict[str, Any]:
    if sku is None:
        raise NotFound("No such SKU")
    if not sku["on_sale"]:
        raise InvalidState("This product is not on sale")
    if sku["stock"] <= 0:
        raise OutOfStock("This SKU is sold out", sku_ids=[sku_id])
    return sku


def add_item(
    repo: CartRepository,
    catalog: CatalogRepository,
    owner: CartOwner,
    sku_id: str,
    quantity: int,
    skus: SkuCache | None = None,
) -> dict[str, Any]:
    """Put quantity of a SKU in the cart, added to what is there (and selected). 404 for an unknown SKU, 409 for
    one off sale or sold out, past MAX_QUANTITY of it, or for a new line past MAX_LINES. The SKU comes from `skus`
    (a few seconds old at most: the stock check is advisory, the order's transaction takes the stock) or is read
    with the line and the cart's head in one BatchGetItem, then one write (the line alone when the head lists it
    already, or a transaction of the line and the head). With the SKU cached, a user's existing line is one
    UpdateItem; a new line is the transaction alone when this container saw the cart lately without it
    (CartRepository.has_no_line; a stale guess: the put is refused and the add runs again), else that UpdateItem
    (refused: no line) and the transaction."""

    def cached_add(sku: dict[str, Any]) -> dict[str, Any] | None:
        """A user's add of a cached SKU without reading the line; None if it is a new line (not written yet)."""
        _check_sku(sku, sku_id)
        line, exists = repo.add_quantity(owner, sku_id, quantity, MAX_QUANTITY)
        if line is not None:
            return _public_line(line)
        if exists:
            raise QuantityLimit()
        return None

    def attempt() -> dict[str, Any]:
        now = utcnow()
        cached = skus.get(sku_id) if skus is not None else None
        if cached is not None and not owner.guest:
            added = None if repo.has_no_line(owner, sku_id) else cached_add(cached)
            if added is not None:
                return added
            sku, current, head = cached, None, None  # no line: a new one, its head's condition checked by the write
        elif cached is not None:
            sku, (current, head) = cached, read_together(repo.line_read(owner, sku_id), repo.head_read(owner))
        else:
            sku, current, head = read_together(
                catalog.sku_read(sku_id), repo.line_read(owner, sku_id), repo.head_read(owner)
            )
            if sku is not None and skus is not None:
                skus.put(sku_id, sku)
        _check_alive(owner, head, now)
        sku = _check_sku(sku, sku_id)
        was = current["quantity"] if current else None
        if (was or 0) + quantity > MAX_QUANTITY:
            raise QuantityLimit()
        line = {
            "sku_id": sku_id,
            "quantity": (was or 0) + quantity,
            "selected": True,
            "added_at": current["added_at"] if current else precise_iso(now),
            "title": sku["title"],
            "attributes": sku["attributes"],
        }
        alive_at, expires_at = _guest_times(owner, now)
        listed = head is not None and sku_id in head["skus"]
        repo.put_line(owner, line, was, MAX_LINES, alive_at, expires_at, listed=listed)
        return _public_line(line)

    return retrying(attempt)


def update_item(
    repo: CartRepository, owner: CartOwner, sku_id: str, quantity: int | None, selected: bool | None
) -> dict[str, Any]:
    """Set a line's quantity (1..MAX_QUANTITY) and/or whether it is selected; 404 if the cart has no such line.
    One UpdateItem (a guest cart's end is moved on first)."""
    if quantity is None and selected is None:
        raise ValidationError(
            "Give quantity and/or selected", errors=[{"field": "(body)", "message": "Give quantity, selected or both."}]
        )
    alive_at, expires_at = _guest_times(owner, utcnow())
    if alive_at is not None and expires_at is not None and not repo.touch_guest(owner.id, alive_at, expires_at):
        raise GuestCartGone()
    line = repo.update_line(owner, sku_id, quantity, selected, expires_at)
    if line is None:
        raise NotFound("No such line in the cart")
    return _public_line(line)


def remove_lines(repo: CartRepository, user_id: str, sku_ids: list[str]) -> None:
    """Remove these SKUs' lines from the user's cart; those not in it are ignored (orders call this once placed)."""
    if sku_ids:
        retrying(lambda: repo.remove_lines(CartOwner.user(user_id), sku_ids, None, None))


def empty_cart(repo: CartRepository, user_id: str) -> None:
    """Remove every line (the account is being deleted)."""
    lines, _ = repo.cart(CartOwner.user(user_id))
    remove_lines(repo, user_id, [line["sku_id"] for line in lines])


def remove_item(repo: CartRepository, owner: CartOwner, sku_id: str) -> None:
    """Remove one line; a line that is not there is a no-op. One transaction (the line and the head)."""

    def attempt() -> None:
        alive_at, expires_at = _guest_times(owner, utcnow())
        repo.remove_lines(owner, [sku_id], alive_at, expires_at)

    retrying(attempt)


def move_to_favorites(repo: CartRepository, profile: ProfileRepository, user_id: str, sku_id: str) -> dict[str, Any]:
    """Favorite the line's product, then take the line out of the cart (404 if there is no such line or product)."""
    owner = CartOwner.user(user_id)
    if repo.line(owner, sku_id) is None:
        raise NotFound("No such line in the cart")
    product_id = product_id_of_sku(sku_id)
    favorite = profile_service.add_favorite(profile, user_id, product_id)
    remove_item(repo, owner, sku_id)
    return {"sku_id": sku_id, "product_id": product_id, "favorited_at": favorite["favorited_at"],
            "newly_favorited": favorite["newly_added"]}  # fmt: skip


def selected_lines(repo: CartRepository, user_id: str) -> list[tuple[str, int]]:
    """(sku_id, quantity) of the selected lines, oldest first: what an order `from_cart` buys."""
    lines, _ = repo.cart(CartOwner.user(user_id))
    return selected_of(lines)


def selected_of(lines: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(sku_id, quantity) of the selected ones of these cart lines, oldest first."""
    ordered = sorted(lines, key=lambda line: (line["added_at"], line["sku_id"]))
    return [(line["sku_id"], line["quantity"]) for line in ordered if line["selected"]]


# -- guest carts -------------------------------------------------------------------------------------------------


def start_guest_cart(repo: CartRepository) -> dict[str, Any]:
    """A new, empty guest cart and its signed token; the cart is kept GUEST_CART_DAYS from its last change."""
    now = utcnow()
    guest_id, token = guest.new_guest_cart()
    expires = now + timedelta(days=GUEST_CART_DAYS)
    repo.start_guest(guest_id, int(expires.timestamp()))
    return {"guest_cart_token": token, "expires_at": iso(expires)}


def guest_owner(token: str | None) -> CartOwner:
    """The guest cart a token names (401 for a bad, forged or foreign token; whether the cart is alive is checked
    where it is read or written)."""
    guest_id = guest.guest_id_of(token)
    if guest_id is None:
        raise GuestCartGone()
    return CartOwner(guest_id, guest=True)


def merge_guest_cart(repo: CartRepository, user_id: str, token: str) -> list[dict[str, Any]]:
    """Add the guest cart's lines to the user's (quantities add up to MAX_QUANTITY a line, new lines while the cart
    has fewer than MAX_LINES) and delete the guest cart; what did not fit, with why. 401 for a bad token or an
    expired cart, 404 for a cart merged already."""
    owner = guest_owner(token)

    def attempt() -> list[dict[str, Any]]:
        guest_lines, guest_head = repo.cart(owner)
        if guest_head is None:
            raise NotFound("No such guest cart: it was merged already")
        _check_alive(owner, guest_head, utcnow())
        user_lines, _ = repo.cart(CartOwner.user(user_id))
        mine = {line["sku_id"]: line for line in user_lines}
        moves: list[tuple[dict[str, Any], int | None]] = []
        not_merged: list[dict[str, Any]] = []
        count = len(mine)
        for line in sorted(guest_lines, key=lambda line: (line["added_at"], line["sku_id"])):
            sku_id, quantity = line["sku_id"], line["quantity"]
            if sku_id in mine:
                taken = min(MAX_QUANTITY - mine[sku_id]["quantity"], quantity)
                if taken > 0:
                    moves.append(({**mine[sku_id], "quantity": mine[sku_id]["quantity"] + taken, "selected": True},
                                  mine[sku_id]["quantity"]))  # fmt: skip
                if taken < quantity:
                    not_merged.append({"sku_id": sku_id, "quantity": quantity - taken, "reason": "quantity_limit"})
            elif count < MAX_LINES:
                moves.append((line, None))
                count += 1
            else:
                not_merged.append({"sku_id": sku_id, "quantity": quantity, "reason": "cart_full"})
        gone = [line["sku_id"] for line in guest_lines]
        try:
            repo.merge(owner.id, user_id, moves, gone, count - len(mine), MAX_LINES)
        except GuestCartGone as error:
            raise NotFound("No such guest cart: it was merged already") from error
        return not_merged

    return retrying(attempt)


# -- the cart view -----------------------------------------------------------------------------------------------


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
    owner: CartOwner,
    promotions_at: PromotionsAt,
    coupons: CouponSource,
    membership: MembershipRepository | None = None,
    freight: FreightTemplates | None = None,
    address_id: str | None = None,
) -> dict[str, Any]:
    """The cart at today's prices (a member's at their member prices), newest line first. Totals count the lines
    both selected and available, priced by the one pricing path of the preview and orders
    (chalicelib.pricing.checkout) with the best coupon and the address named (404 if not mine), else the default one
    (none: no shipping yet), so payable_fen is what the preview of `from_cart` shows."""
    now = utcnow()
    growth: int | None = None
    if owner.guest:
        (lines, head), offers, book = *read_slices(repo.cart_slice(owner)), [], None
    else:  # the lines, usable coupons, address book and member's growth: neighbours in the user's partition, one Query
        slices: list[PendingSlice[Any]] = [
            repo.cart_slice(owner),
            coupons.usable_slice(owner.id, now),
            profile.address_book_slice(owner.id),
        ]
        if membership is not None:
            slices.append(membership.growth_slice(owner.id))
        (lines, head), offers, book, *rest = read_slices(*slices)
        growth = rest[0] if rest else None
    _check_alive(owner, head, now)
    lines.sort(key=lambda line: (line["added_at"], line["sku_id"]), reverse=True)
    skus = catalog.skus_by_ids([line["sku_id"] for line in lines]) if lines else {}
    promotions = promotions_at(now)
    quantities = {line["sku_id"]: line["quantity"] for line in lines}
    listed = [s for s in skus.values() if s["sku_id"] in quantities]
    member = pricing.member_rate(membership, growth)
    priced = {p.sku_id: p for p in pricing.priced_lines(catalog, listed, quantities, promotions, now, member)}
    items = []
    payable_lines = []
    for line in lines:
        sku = skus.get(line["sku_id"])
        reason = unavailable_reason(sku, line["quantity"])
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
                "price_fen": (priced_line.day_price_fen or priced_line.unit_price_fen) if priced_line else None,
                "member_price_fen": priced_line.member_price_fen if priced_line else None,
                "list_price_fen": priced_line.list_price_fen if priced_line else None,
                "promotion_id": priced_line.promotion_id if priced_line else None,
                "quantity": line["quantity"],
                "selected": line["selected"],
                "available": reason is None,
                "unavailable_reason": reason,
                "stock": int(sku["stock"]) if sku else 0,
                "line_total_fen": priced_line.total_fen if priced_line else None,
                "added_at": seconds_iso(line["added_at"]),
            }
        )
    payable_lines.reverse()  # oldest first, as an order `from_cart` lists them
    ships_to = None if owner.guest else (address_id or (book.default_id if book is not None else None))
    address = None
    if address_id is not None and not owner.guest:
        address = profile_service.get_address(profile, owner.id, address_id)
    elif ships_to is not None and any(line.freight_template_id for line in payable_lines):  # freight needs a province
        address = profile.address(owner.id, ships_to)
    to = pricing.destination(freight or NoFreightTemplates(), payable_lines, address) if address else None
    known = NO_COUPONS if owner.guest else pricing.KnownCoupons(offers, coupons)
    checkout = pricing.price(payable_lines, promotions, known, owner.id, ships=ships_to is not None, to=to, now=now)
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
            "member_discount_fen": result.member_discount_fen,
            "shipping_fen": result.shipping_fen,
            "selected_quantity": sum(line.quantity for line in payable_lines),
            "applied_promotions": list(result.applied_promotions),
        },
        "coupons": {
            "applicable": [_offer_view(v.offer, v.discount_fen) for v in checkout.applicable],
            "best": _offer_view(best.offer, best.discount_fen) if best else None,
        },
    }
