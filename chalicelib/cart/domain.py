"""What a cart is and its limits, independent of storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import Conflict, Unauthorized

MAX_LINES = 99  # an order of the whole cart fits one TransactWriteItems (99 SKUs and the order)
MAX_QUANTITY = 999


class CartFull(Conflict):
    """The cart has MAX_LINES lines already."""

    default_message = f"A cart holds at most {MAX_LINES} different SKUs: remove one first"


class QuantityLimit(Conflict):
    """The line would pass MAX_QUANTITY."""

    default_message = f"At most {MAX_QUANTITY} of one SKU in the cart"


GUEST_CART_DAYS = 30  # a guest cart is kept this long after its last change (then TTL takes it out of the table)


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: a signed-in user's (`guest` False) or a guest cart's, named by the id its signed token carries."""

    id: str
    guest: bool = False

    @classmethod
    def user(cls, user_id: str) -> CartOwner:
        return cls(user_id)


class GuestCartGone(Unauthorized):
    """The guest cart's token is bad, forged, expired, or its cart was merged or expired."""

    default_message = "This guest cart token is not valid (expired, merged or not ours): start a new guest cart"


def unavailable_reason(sku: dict[str, Any] | None, quantity: int) -> str | None:
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
