"""What a cart is and its limits, independent of storage."""

from __future__ import annotations

from chalicelib.errors import Conflict

MAX_LINES = 99  # an order of the whole cart fits one TransactWriteItems (99 SKUs and the order)
MAX_QUANTITY = 999


class CartFull(Conflict):
    """The cart has MAX_LINES lines already."""

    default_message = f"A cart holds at most {MAX_LINES} different SKUs: remove one first"


class QuantityLimit(Conflict):
    """The line would pass MAX_QUANTITY."""

    default_message = f"At most {MAX_QUANTITY} of one SKU in the cart"
