"""Reports over orders for staff: a buyer's totals, and the orders of a range of days as CSV rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.clock import SHANGHAI, iso, parse_iso
from chalicelib.errors import ValidationError
from chalicelib.orders.admin_search import ids_of, months_between
from chalicelib.orders.domain import Order
from chalicelib.orders.service import Shop

EXPORT_MAX_DAYS = 92
EXPORT_PAGE = 100
EXPORT_COLUMNS = (
    "order_id", "order_no", "created_at", "status", "kind", "user_id", "items_count", "items_fen", "discount_fen",
    "points_deduction_fen", "shipping_fen", "payable_fen", "refunded_fen", "paid_at", "province", "city",
)  # fmt: skip
REFUNDED = "REFUNDED"


def refunded_fen(shop: Shop, order: Order) -> int:
    """What went back to the buyer: the order's refunds that were paid out."""
    if not order.refund_ids:
        return 0
    return sum(r.amount_fen for r in shop.orders.refunds_by_ids(list(order.refund_ids)) if r.status == REFUNDED)


def buyer_totals(shop: Shop, user_id: str) -> tuple[int, int]:
    """(orders placed, paid minus refunded in fen) of one buyer, over their orders (gsi_user)."""
    count, paid, start = 0, 0, None
    while True:
        orders, start = shop.orders.orders_page("user", user_id, 100, start)
        for order in orders:
            count += 1
            if order.payment:
                paid += int(order.payment.get("amount_fen") or order.payable_fen) - refunded_fen(shop, order)
        if not start:
            return count, paid


def shanghai_range(first: date, last: date) -> tuple[str, str]:
    """[since, until) in UTC of the Asia/Shanghai days first..last; 400 beyond EXPORT_MAX_DAYS or reversed."""
    days = (last - first).days + 1
    if days < 1 or days > EXPORT_MAX_DAYS:
        raise ValidationError(
            f"from..to covers 1 to {EXPORT_MAX_DAYS} days",
            errors=[{"field": "to", "message": f"The range must be 1 to {EXPORT_MAX_DAYS} days, from before to."}],
        )
    since = datetime.combine(first, time(), SHANGHAI)
    return iso(since), iso(since + timedelta(days=days))


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (= + - @, a tab or a return first) starts with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def orders_between(shop: Shop, since: str, until: str, status: str | None) -> Iterator[Order]:
    """Orders created in [since, until), newest first: gsi_created month by month (its 8 shards merged), a page of
    keys at a time, the orders read by BatchGetItem and kept when in `status`."""
    for month in months_between(parse_iso(until) - timedelta(seconds=1), since):
        before = until
        while True:
            keys = shop.orders.created_keys("created", month, since, before, EXPORT_PAGE)
            for order in shop.orders.orders_by_ids(ids_of(keys)):
                if status is None or order.status == status:
                    yield order
            if len(keys) < EXPORT_PAGE:
                break
            before = keys[-1]


def export_rows(shop: Shop, first: date, last: date, status: str | None) -> Any:
    """The header, then one row per order created in the Asia/Shanghai days first..last (newest first)."""
    since, until = shanghai_range(first, last)
    yield list(EXPORT_COLUMNS)
    for order in orders_between(shop, since, until, status):
        address, amounts = order.address or {}, order.amounts
        row = {
            "order_id": order.order_id,
            "order_no": order.order_no,
            "created_at": order.created_at,
            "status": order.status,
            "kind": getattr(order, "kind", None) or "normal",
            "user_id": order.user_id,
            "items_count": sum(line.quantity for line in order.lines),
            "refunded_fen": refunded_fen(shop, order),
            "paid_at": (order.payment or {}).get("paid_at"),
            "province": address.get("province"),
            "city": address.get("city"),
        }
        for name in ("items_fen", "discount_fen", "points_deduction_fen", "shipping_fen", "payable_fen"):
            row[name] = int(amounts.get(name) or 0)
        yield [_cell(row[column]) for column in EXPORT_COLUMNS]
