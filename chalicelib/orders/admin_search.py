"""The admin's order search (`GET /admin/orders`): `order_no` (exact), `user_id`, `phone` (the buyer's account),
`from` / `to` (Asia/Shanghai days, both included) and `status`, combined, newest first, paged by cursor.

No filter reads a constant or low-cardinality key: an order number is one key of `gsi_order_no`; a buyer (by id or
phone) is their own partition of `gsi_buyer` / `gsi_buyer_status`; everything else walks `gsi_created` month by
month (8 shards a month, merged newest first) and reads the orders it lists, keeping those in `status`. All the
indexes are keys only, so what they list is read from the orders themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from chalicelib.clock import SHANGHAI, iso, parse_iso, shanghai_month, utcnow
from chalicelib.orders.domain import Order
from chalicelib.orders.repository import OrdersRepository
from chalicelib.orders.schemas import AdminOrdersQuery
from chalicelib.pagination import decode_cursor, encode_cursor, page

MONTHS_BACK = 12  # without `from`, the list reaches back to the start of the month a year before this one
EXAMINED_PAGES = 20  # with `status` and no buyer, one request reads at most this many pages' worth of orders
MONTHS_PER_REQUEST = 13  # and walks at most this many months (8 small queries each) before answering
EARLIEST, LATEST = "0000", "9999"  # sort before and after every created_key


class BuyerPhones(Protocol):
    def find_user_id(self, kind: str, value: str) -> str | None:
        """The account that has this handle (kind "phone": the 11 digits)."""


@dataclass
class _Range:
    """The created_key bounds of a query: after <= key < before."""

    after: str
    before: str

    def holds(self, order: Order) -> bool:
        return self.after <= f"{order.created_at}#{order.order_id}" < self.before


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def _range(query: AdminOrdersQuery) -> _Range:
    after = iso(_day_start(query.from_)) if query.from_ else EARLIEST
    before = iso(_day_start(query.to) + timedelta(days=1)) if query.to else LATEST
    return _Range(after, before)


def months_between(top: datetime, bottom: str) -> list[str]:
    """Asia/Shanghai months from the month of `top` down to the month of `bottom` (an ISO time), newest first."""
    months, month = [], shanghai_month(top)
    floor = shanghai_month(bottom)
    while month >= floor:
        months.append(month)
        year, number = int(month[:4]), int(month[5:])
        month = f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
    return months


def _scope(query: AdminOrdersQuery) -> str:
    filters = [query.status, query.order_no, query.user_id, query.phone, query.from_, query.to]
    digest = hashlib.sha256(repr(filters).encode()).hexdigest()[:16]
    return f"admin-orders:{digest}"


def ids_of(keys: list[str]) -> list[str]:
    return [key.split("#", 1)[1] for key in keys]


def list_admin_orders(orders: OrdersRepository, phones: BuyerPhones, query: AdminOrdersQuery) -> dict[str, Any]:
    """The orders every given filter holds for, newest first."""
    scope = _scope(query)
    start = decode_cursor(query.cursor, scope)
    bounds = _range(query)
    user_id = query.user_id
    if query.phone:
        owner = phones.find_user_id("phone", query.phone.removeprefix("+86"))
        if owner is None or (user_id is not None and owner != user_id):
            return page([], None)
        user_id = owner
    if query.order_no:
        order_id = orders.order_id_by_no(query.order_no)
        found = orders.orders_by_ids([order_id]) if order_id else []
        kept = [
            order
            for order in found
            if bounds.holds(order)
            and (user_id is None or order.user_id == user_id)
            and (query.status is None or order.status == query.status)
        ]
        return page([order.view(admin=True) for order in kept], None)
    if user_id is not None:
        return _buyer_page(orders, user_id, query, bounds, start, scope)
    return _walk_months(orders, query, bounds, start, scope)


def _buyer_page(
    orders: OrdersRepository,
    user_id: str,
    query: AdminOrdersQuery,
    bounds: _Range,
    start: dict[str, Any] | None,
    scope: str,
) -> dict[str, Any]:
    """One buyer's orders: their own partition of gsi_buyer (or gsi_buyer_status, with `status`)."""
    index, hash_key = ("user_status", f"{user_id}#{query.status}") if query.status else ("user", user_id)
    before = str(start["b"]) if start else bounds.before
    keys = orders.created_keys(index, hash_key, bounds.after, before, query.page_size + 1)
    shown = keys[: query.page_size]
    cursor = encode_cursor({"b": shown[-1]}, scope) if len(keys) > query.page_size else None
    return page([order.view(admin=True) for order in orders.orders_by_ids(ids_of(shown))], cursor)


def _walk_months(
    orders: OrdersRepository, query: AdminOrdersQuery, bounds: _Range, start: dict[str, Any] | None, scope: str
) -> dict[str, Any]:
    """Every order (in `status`, if given): gsi_created month by month, newest first, until a page and one more
    order are found (so the last page has no cursor), the range ends, or the reading budget is spent."""
    now = utcnow()
    top = min(now, parse_iso(bounds.before) - timedelta(seconds=1)) if bounds.before != LATEST else now
    a_year_ago = _day_start(now.astimezone(SHANGHAI).date().replace(day=1)) - timedelta(days=330)
    floor = bounds.after if bounds.after != EARLIEST else iso(a_year_ago)
    months = months_between(top, floor)
    if start:
        months = [month for month in months if month <= str(start["m"])]
    want = query.page_size + 1
    found: list[tuple[str, Order]] = []
    examined = 0
    for walked, month in enumerate(months):
        before = str(start["b"]) if start and month == start["m"] else bounds.before
        if walked == MONTHS_PER_REQUEST:  # a long range: the page so far, and the month to go on from
            return _walked(found, query.page_size, scope, {"m": month, "b": before})
        while len(found) < want:
            if examined >= EXAMINED_PAGES * want:  # budget spent: the page so far, and where to go on from
                return _walked(found, query.page_size, scope, {"m": month, "b": before})
            keys = orders.created_keys("created", month, bounds.after, before, want)
            if not keys:
                break
            examined += len(keys)
            by_id = {order.order_id: order for order in orders.orders_by_ids(ids_of(keys))}
            for key in keys:
                order = by_id.get(key.split("#", 1)[1])
                if order is not None and (query.status is None or order.status == query.status):
                    found.append((month, order))
            before = keys[-1]
        if len(found) >= want:
            break
    return _walked(found, query.page_size, scope, None)


def _walked(found: list[tuple[str, Order]], size: int, scope: str, resume: dict[str, str] | None) -> dict[str, Any]:
    shown = found[:size]
    if len(found) > size:
        month, last = shown[-1]
        resume = {"m": month, "b": f"{last.created_at}#{last.order_id}"}
    return page([order.view(admin=True) for _, order in shown], encode_cursor(resume, scope) if resume else None)
