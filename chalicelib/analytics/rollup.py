"""The roll-up arithmetic: business days, what each event adds to which daily counter, and merging increments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from chalicelib.analytics.schemas import (
    CartItemAdded,
    EventBase,
    FavoriteAdded,
    OrderPaid,
    OrderPlaced,
    OrderReceived,
    OrderRefunded,
    ProductViewed,
    ReviewPosted,
    SearchPerformed,
)

# China has kept UTC+8 without daylight saving since 1991: a fixed offset needs no tz database on Lambda.
BUSINESS_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
BUSINESS_TZ_NAME = "Asia/Shanghai"

DAY_PK = "DAY"
PRODUCT_DAY_PK = "PRODUCT_DAY"
CATEGORY_DAY_PK = "CATEGORY_DAY"
BUYER_DAY_PK = "BUYER_DAY"

DAY_COUNTERS = (
    "views", "searches", "favorites", "cart_adds", "cart_units", "orders", "placed_fen", "paid_orders", "gmv_fen",
    "paid_units", "buyers", "receipts", "reviews", "refunds", "refunded_fen",
)  # fmt: skip
PRODUCT_COUNTERS = (
    "views", "favorites", "cart_adds", "cart_units", "orders", "ordered_units", "paid_orders", "paid_units", "gmv_fen",
    "reviews",
)  # fmt: skip
CATEGORY_COUNTERS = ("views", "cart_adds", "orders", "paid_orders", "paid_units", "gmv_fen")


def business_day(moment: datetime) -> str:
    """The Asia/Shanghai calendar day of an aware moment, YYYY-MM-DD."""
    return moment.astimezone(BUSINESS_TZ).date().isoformat()


def today() -> date:
    from chalicelib.clock import utcnow

    return utcnow().astimezone(BUSINESS_TZ).date()


def days_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


@dataclass
class Increment:
    """Counters to ADD to one roll-up item, and labels to SET on it (the newest write wins)."""

    pk: str
    sk: str
    counters: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.pk, self.sk)


def _day(day: str, **counters: int) -> Increment:
    return Increment(DAY_PK, day, dict(counters))


def _product(day: str, product_id: str, category_id: str | None, title: str | None, **counters: int) -> Increment:
    labels = {"product_id": product_id, **({"category_id": category_id} if category_id else {})}
    if title:
        labels["title"] = title
    return Increment(PRODUCT_DAY_PK, f"{day}#{product_id}", dict(counters), labels)


def _category(day: str, category_id: str | None, **counters: int) -> list[Increment]:
    if not category_id:
        return []
    return [Increment(CATEGORY_DAY_PK, f"{day}#{category_id}", dict(counters), {"category_id": category_id})]


def _order_lines(
    day: str, event: OrderPlaced | OrderPaid, per_order: str, units: str, with_money: bool
) -> list[Increment]:
    """An order's lines folded per product and per category: the order counts once for each, units and money sum."""
    products: dict[str, Increment] = {}
    categories: dict[str, Increment] = {}
    for line in event.lines:
        product = products.setdefault(
            line.product_id, _product(day, line.product_id, line.category_id, line.title, **{per_order: 1})
        )
        counters = {units: line.quantity, **({"gmv_fen": line.payable_fen} if with_money else {})}
        _add(product.counters, counters)
        if line.category_id:
            category = categories.setdefault(line.category_id, _category(day, line.category_id, **{per_order: 1})[0])
            if with_money:
                _add(category.counters, counters)
    return [*products.values(), *categories.values()]


def _add(target: dict[str, int], counters: dict[str, int]) -> None:
    for name, value in counters.items():
        target[name] = target.get(name, 0) + value


def increments_of(event: EventBase) -> list[Increment]:
    """Everything one event adds to the roll-ups of its business day (buyers are counted apart, see service)."""
    day = business_day(event.occurred_at)
    if isinstance(event, ProductViewed):
        return [
            _day(day, views=1),
            _product(day, event.product_id, event.category_id, None, views=1),
            *_category(day, event.category_id, views=1),
        ]
    if isinstance(event, SearchPerformed):
        return [_day(day, searches=1)]
    if isinstance(event, FavoriteAdded):
        return [_day(day, favorites=1), _product(day, event.product_id, event.category_id, None, favorites=1)]
    if isinstance(event, CartItemAdded):
        return [
            _day(day, cart_adds=1, cart_units=event.quantity),
            _product(day, event.product_id, event.category_id, None, cart_adds=1, cart_units=event.quantity),
            *_category(day, event.category_id, cart_adds=1),
        ]
    if isinstance(event, OrderPlaced):
        day_item = _day(day, orders=1, placed_fen=event.amount_fen)
        return [day_item, *_order_lines(day, event, "orders", "ordered_units", with_money=False)]
    if isinstance(event, OrderPaid):
        units = sum(line.quantity for line in event.lines)
        day_item = _day(day, paid_orders=1, gmv_fen=event.amount_fen, paid_units=units)
        return [day_item, *_order_lines(day, event, "paid_orders", "paid_units", with_money=True)]
    if isinstance(event, OrderReceived):
        return [_day(day, receipts=1)]
    if isinstance(event, OrderRefunded):
        return [_day(day, refunds=1, refunded_fen=event.amount_fen)]
    if isinstance(event, ReviewPosted):
        return [_day(day, reviews=1), _product(day, event.product_id, event.category_id, None, reviews=1)]
    raise TypeError(f"no roll-up for {type(event).__name__}")


def merge(increments: Iterable[Increment]) -> list[Increment]:
    """One increment per item: counters summed, labels of the later increment winning."""
    merged: dict[tuple[str, str], Increment] = {}
    for increment in increments:
        target = merged.setdefault(increment.key, Increment(increment.pk, increment.sk))
        _add(target.counters, increment.counters)
        target.labels.update(increment.labels)
    return list(merged.values())


def buyer_day_of(event: EventBase) -> tuple[str, str] | None:
    """(business day, user) for a paid order with a known buyer: the distinct-buyer marker it needs."""
    if isinstance(event, OrderPaid) and event.user_id:
        return business_day(event.occurred_at), event.user_id
    return None


def totals(rows: Iterable[dict[str, int]], names: Iterable[str]) -> dict[str, int]:
    summed: dict[str, int] = defaultdict(int)
    wanted = tuple(names)
    for row in rows:
        for name in wanted:
            summed[name] += int(row.get(name) or 0)
    return {name: summed[name] for name in wanted}


def aov_fen(gmv_fen: int, paid_orders: int) -> int:
    """Average order value in whole fen, rounded half up; 0 without paid orders."""
    if paid_orders <= 0:
        return 0
    return (2 * gmv_fen + paid_orders) // (2 * paid_orders)
