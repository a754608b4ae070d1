"""A buyer's orders as their account's deletion needs them: whether one is still in progress, and the orders kept
for the books without the buyer's personal data."""

from __future__ import annotations

from chalicelib.orders.domain import COMPLETED, OPEN_STATUSES, holds_case_units
from chalicelib.orders.service import Shop

KEPT_ADDRESS_FIELDS = ("province",)  # what the books (and the order export) keep of a deleted buyer's address
PAGE = 100


def has_orders_in_progress(shop: Shop, user_id: str) -> bool:
    """Whether the user has an order not yet final, or an after-sales case still open: one Query of at most one item
    per open status, on gsi_buyer_status; then the COMPLETED orders, a page at a time, for units an open case holds
    (a repair can be asked for once an order is completed)."""
    if any(shop.orders.orders_page("user_status", f"{user_id}#{status}", 1, None)[0] for status in OPEN_STATUSES):
        return True
    start = None
    while True:
        orders, start = shop.orders.orders_page("user_status", f"{user_id}#{COMPLETED}", PAGE, start)
        if any(holds_case_units(order) for order in orders):
            return True
        if not start:
            return False


def forget_buyer(shop: Shop, user_id: str) -> int:
    """The user deleted their account: their orders stay for the books without the receiver's name, phone, street
    address or remark (only the province stays). Idempotent; returns how many orders changed."""
    changed, start = 0, None
    while True:
        orders, start = shop.orders.orders_page("user", user_id, PAGE, start)
        for order in orders:
            address = order.address or {}
            kept = {name: address[name] for name in KEPT_ADDRESS_FIELDS if address.get(name)}
            if address != kept or order.remark:
                shop.orders.forget_buyer(order.order_id, kept)
                changed += 1
        if not start:
            return changed
