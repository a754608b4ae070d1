"""What a cart is and its limits, independent of storage."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.errors import Conflict

MAX_LINES = 99  # an order of the whole cart fits one TransactWriteItems (99 SKUs and the order)
MAX_QUANTITY = 999


class CartFull(Conflict):
    """The cart has MAX_LINES lines already."""

    default_message = f"A cart holds at most {MAX_LINES} different SKUs: remove one first"


class QuantityLimit(Conflict):
    """The line would pass MAX_QUANTITY."""

    default_message = f"At most {MAX_QUANTITY} of one SKU in the cart"


class ChangedMeanwhile(Conflict):
    """What a write was conditional on changed since it was read (a concurrent edit): read again and retry."""

    default_message = "The cart changed meanwhile, retry"


def added_key(moment: datetime) -> str:
    """A sortable, microsecond-precise UTC stamp: orders lines added within the same second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
