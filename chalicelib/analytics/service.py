"""Analytics rules: cleaning and counting a batch of events exactly once, and the admin summary and CSV reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pydantic

from chalicelib.analytics import rollup
from chalicelib.analytics.lake import Lake, object_key
from chalicelib.analytics.lake_reports import LONG_RANGE_DAYS
from chalicelib.analytics.repository import AnalyticsRepository
from chalicelib.analytics.rollup import (
    BUSINESS_TZ_NAME,
    CATEGORY_DAY_PK,
    DAY_PK,
    PRODUCT_COUNTERS,
    PRODUCT_DAY_PK,
    Increment,
    aov_fen,
    business_day,
    days_between,
    merge,
)
from chalicelib.analytics.schemas import (
    EVENT_ADAPTER,
    MAX_RANGE_DAYS,
    AnalyticsEvent,
    CartItemAdded,
    EventBase,
    FavoriteAdded,
    OrderPaid,
    OrderPlaced,
    ProductViewed,
    RangeQuery,
    ReviewPosted,
)
from chalicelib.analytics.warehouse import Warehouse
from chalicelib.clock import epoch_seconds
from chalicelib.errors import ValidationError
from chalicelib.observability import logger

DEDUPE_DAYS = 30  # longer than the queue (4 days) and its DLQ (14 days) keep a message, so a redrive is recognised
MAX_TRANSACTION_ITEMS = 100
TOP_PRODUCTS = 10
ProductEvent = ProductViewed | FavoriteAdded | CartItemAdded | ReviewPosted
CategoriesOf = Callable[[list[str]], dict[str, str]]  # product ids -> their category ids (unknown ones left out)


@dataclass
class CountingUnit:
    """Increments written atomically with one seen-marker: an event, or a part of an event too big for one
    transaction (an order of many products and categories), whose marker is then <event_id>/<part>."""

    marker: str
    event_type: str
    increments: list[Increment]


@dataclass
class BatchOutcome:
    received: int = 0
    malformed: int = 0
    duplicates: int = 0
    counted: int = 0
    lake_objects: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def parse_events(bodies: Iterable[str]) -> tuple[list[AnalyticsEvent], int]:
    """The well-formed events of a batch and how many bodies were dropped as malformed."""
    events: list[AnalyticsEvent] = []
    malformed = 0
    for body in bodies:
        try:
            events.append(EVENT_ADAPTER.validate_json(body))
        except (pydantic.ValidationError, ValueError) as error:
            malformed += 1
            logger.warning(
                "dropping a malformed analytics event", extra={"body": body[:300], "error": str(error)[:300]}
            )
    return events, malformed


def counting_units(event: EventBase) -> list[CountingUnit]:
    increments = merge(rollup.increments_of(event))
    room = MAX_TRANSACTION_ITEMS - 1
    parts = [increments[start : start + room] for start in range(0, len(increments), room)] or [[]]
    return [
        CountingUnit(event.event_id if index == 0 else f"{event.event_id}/{index + 1}", _type_of(event), part)
        for index, part in enumerate(parts)
    ]


def _type_of(event: EventBase) -> str:
    return str(getattr(event, "type", type(event).__name__))


def fill_categories(events: list[AnalyticsEvent], categories_of: CategoriesOf | None) -> None:
    """Events name products; the catalog knows their categories (so emitters need not look them up)."""
    if categories_of is None:
        return
    missing: set[str] = set()
    for event in events:
        if isinstance(event, OrderPlaced | OrderPaid):
            missing.update(line.product_id for line in event.lines if line.category_id is None)
        elif isinstance(event, ProductEvent) and event.category_id is None:
            missing.add(event.product_id)
    if not missing:
        return
    known = categories_of(sorted(missing))
    for event in events:
        if isinstance(event, OrderPlaced | OrderPaid):
            for line in event.lines:
                line.category_id = line.category_id or known.get(line.product_id)
        elif isinstance(event, ProductEvent) and event.category_id is None:
            event.category_id = known.get(event.product_id)


def record_batch(
    repo: AnalyticsRepository, lake: Lake, bodies: list[str], categories_of: CategoriesOf | None = None
) -> BatchOutcome:
    """Validate, de-duplicate, keep in the lake and count a batch of event messages.

    Order of work (docs/analytics.md, "exactly once"): events already counted are dropped first; the rest go to the
    lake (one object per business day, named after its events), then each day's buyers are marked, then counters
    and seen-markers are written together in transactions. A crash anywhere makes the redelivered batch redo only
    what was not committed: the counters are exact, the lake is at-least-once (readers de-duplicate by event_id).
    """
    outcome = BatchOutcome(received=len(bodies))
    events, outcome.malformed = parse_events(bodies)
    unique = list({event.event_id: event for event in reversed(events)}.values())[::-1]
    outcome.duplicates = len(events) - len(unique)
    fill_categories(unique, categories_of)  # before splitting: categories add increments, so maybe parts
    units = {event.event_id: counting_units(event) for event in unique}
    already = repo.seen([unit.marker for parts in units.values() for unit in parts])
    fresh = [event for event in unique if any(unit.marker not in already for unit in units[event.event_id])]
    outcome.duplicates += len(unique) - len(fresh)
    outcome.lake_objects = _keep_in_lake(lake, fresh)
    for event in fresh:
        if (buyer := rollup.buyer_day_of(event)) is not None:
            repo.add_buyer(*buyer)
    pending = [unit for event in fresh for unit in units[event.event_id] if unit.marker not in already]
    written = _count(repo, pending)
    counted = {event.event_id for event in fresh if any(unit.marker in written for unit in units[event.event_id])}
    outcome.counted = len(counted)
    outcome.duplicates += len(fresh) - len(counted)
    return outcome


def _keep_in_lake(lake: Lake, events: list[AnalyticsEvent]) -> int:
    by_day: dict[str, list[AnalyticsEvent]] = {}
    for event in events:
        by_day.setdefault(business_day(event.occurred_at), []).append(event)
    for day, day_events in sorted(by_day.items()):
        key = object_key(day, [event.event_id for event in day_events])
        lake.put(key, [event.model_dump(mode="json", exclude_none=True) for event in day_events])
    return len(by_day)


def _count(repo: AnalyticsRepository, units: list[CountingUnit]) -> set[str]:
    """Write the units in as few transactions as fit (markers + distinct items <= 100); the markers written."""
    written: set[str] = set()
    chunk: list[CountingUnit] = []
    keys: set[tuple[str, str]] = set()
    for unit in units:
        unit_keys = {increment.key for increment in unit.increments}
        if chunk and len(chunk) + 1 + len(keys | unit_keys) > MAX_TRANSACTION_ITEMS:
            written |= _commit(repo, chunk)
            chunk, keys = [], set()
        chunk.append(unit)
        keys |= unit_keys
    if chunk:
        written |= _commit(repo, chunk)
    return written


def _commit(repo: AnalyticsRepository, chunk: list[CountingUnit]) -> set[str]:
    """One transaction; a marker another consumer wrote meanwhile cancels it, so retry without that unit."""
    expires_at = epoch_seconds() + DEDUPE_DAYS * 86400
    while chunk:
        markers = [(unit.marker, unit.event_type) for unit in chunk]
        refused = repo.record(markers, merge(i for unit in chunk for i in unit.increments), expires_at)
        if not refused:
            return {unit.marker for unit in chunk}
        chunk = [unit for unit in chunk if unit.marker not in refused]
    return set()


# ---------------------------------------------------------------- reports


def check_range(query: RangeQuery) -> tuple[date, date]:
    if query.from_ > query.to:
        raise ValidationError("from is after to", errors=[{"field": "from", "message": "Must not be after to."}])
    if (query.to - query.from_).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(
            f"A range is at most {MAX_RANGE_DAYS} days",
            errors=[{"field": "to", "message": f"At most {MAX_RANGE_DAYS} days after from."}],
        )
    return query.from_, query.to


def _n(row: dict[str, Any], name: str) -> int:
    return int(row.get(name) or 0)


def _daily(day: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": day,
        "gmv_fen": _n(row, "gmv_fen"),
        "orders": _n(row, "orders"),
        "paid_orders": _n(row, "paid_orders"),
        "buyers": _n(row, "buyers"),
        "aov_fen": aov_fen(_n(row, "gmv_fen"), _n(row, "paid_orders")),
        "views": _n(row, "views"),
        "cart_adds": _n(row, "cart_adds"),
        "payments": _n(row, "paid_orders"),
        "refunds": _n(row, "refunds"),
        "refunded_fen": _n(row, "refunded_fen"),
    }


def product_figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-product totals of the range, best sellers first (gmv, then units, then views, then id)."""
    products: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: str(r["sk"])):  # oldest day first, so the newest title wins
        product_id = str(row.get("product_id") or str(row["sk"]).split("#", 1)[1])
        figures = products.setdefault(
            product_id,
            {"product_id": product_id, "title": None, "category_id": None, **dict.fromkeys(PRODUCT_COUNTERS, 0)},
        )
        for name in PRODUCT_COUNTERS:
            figures[name] += _n(row, name)
        figures["title"] = row.get("title") or figures["title"]
        figures["category_id"] = row.get("category_id") or figures["category_id"]
    ranked = sorted(products.values(), key=lambda p: (-p["gmv_fen"], -p["paid_units"], -p["views"], p["product_id"]))
    return [
        {
            "product_id": p["product_id"],
            "title": p["title"],
            "category_id": p["category_id"],
            "gmv_fen": p["gmv_fen"],
            "units": p["paid_units"],
            "paid_orders": p["paid_orders"],
            "orders": p["orders"],
            "views": p["views"],
            "cart_adds": p["cart_adds"],
            "favorites": p["favorites"],
        }
        for p in ranked
    ]


def category_shares(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    categories: dict[str, dict[str, int]] = {}
    for row in rows:
        category_id = str(row.get("category_id") or str(row["sk"]).split("#", 1)[1])
        figures = categories.setdefault(category_id, {"gmv_fen": 0, "units": 0})
        figures["gmv_fen"] += _n(row, "gmv_fen")
        figures["units"] += _n(row, "paid_units")
    total = sum(figures["gmv_fen"] for figures in categories.values())
    shares = [
        {"category_id": category_id, **figures, "share": round(figures["gmv_fen"] / total, 4) if total else 0.0}
        for category_id, figures in categories.items()
        if figures["gmv_fen"] > 0
    ]
    return sorted(shares, key=lambda s: (-s["gmv_fen"], s["category_id"]))


class Figures(Protocol):
    """What the reports read: the roll-ups (DynamoDB), or the same rows computed from the lake."""

    def rollups(self, pk: str, first: str, last: str) -> list[dict[str, Any]]: ...
    def buyer_count(self, first: str, last: str) -> int: ...


def figures_for(
    repo: AnalyticsRepository, warehouse: Warehouse | None, first: date, last: date, top: int | None
) -> Figures:
    """Ranges longer than LONG_RANGE_DAYS are read from the columnar lake (SQL), shorter ones from the roll-ups."""
    if warehouse is not None and (last - first).days + 1 > LONG_RANGE_DAYS:
        from chalicelib.analytics.lake_reports import LakeFigures

        return LakeFigures(warehouse, first.isoformat(), last.isoformat(), top)
    return repo


def summary(repo: AnalyticsRepository, query: RangeQuery, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """The range's figures: from the roll-ups, four Queries (days, products, categories, buyer markers); beyond
    LONG_RANGE_DAYS, four SQL statements over the lake, run together."""
    first, last = check_range(query)
    return summary_of(figures_for(repo, warehouse, first, last, TOP_PRODUCTS), first, last)


def summary_of(figures: Figures, first: date, last: date) -> dict[str, Any]:
    repo = figures
    first_s, last_s = first.isoformat(), last.isoformat()
    by_day = {str(row["sk"]): row for row in repo.rollups(DAY_PK, first_s, last_s)}
    daily = [_daily(day, by_day.get(day, {})) for day in days_between(first, last)]
    gmv = sum(day["gmv_fen"] for day in daily)
    paid = sum(day["paid_orders"] for day in daily)
    refunded = sum(day["refunded_fen"] for day in daily)
    orders = sum(day["orders"] for day in daily)

    def total(name: str) -> int:
        return sum(_n(row, name) for row in by_day.values())

    return {
        "from": first_s,
        "to": last_s,
        "timezone": BUSINESS_TZ_NAME,
        "gmv_fen": gmv,
        "orders": orders,
        "paid_orders": paid,
        "buyers": repo.buyer_count(first_s, last_s),
        "aov_fen": aov_fen(gmv, paid),
        "refunds": sum(day["refunds"] for day in daily),
        "refunded_fen": refunded,
        "net_gmv_fen": gmv - refunded,
        "daily": daily,
        "top_products": product_figures(repo.rollups(PRODUCT_DAY_PK, first_s, last_s))[:TOP_PRODUCTS],
        "funnel": {"views": total("views"), "cart_adds": total("cart_adds"), "orders": orders, "payments": paid},
        "share_by_category": category_shares(repo.rollups(CATEGORY_DAY_PK, first_s, last_s)),
        "behaviour": {
            "searches": total("searches"),
            "favorites": total("favorites"),
            "receipts": total("receipts"),
            "reviews": total("reviews"),
        },
    }


DAILY_COLUMNS = ("date", "orders", "paid_orders", "gmv_fen", "buyers", "aov_fen", "views", "cart_adds", "payments",
                 "refunds", "refunded_fen")  # fmt: skip
PRODUCT_COLUMNS = ("product_id", "title", "category_id", "gmv_fen", "units", "paid_orders", "orders", "views",
                   "cart_adds", "favorites")  # fmt: skip


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def export_csv(
    repo: AnalyticsRepository, query: RangeQuery, report: str, warehouse: Warehouse | None = None
) -> tuple[str, str]:
    """(filename, CSV text): the daily series, or every product of the range best sellers first."""
    first, last = check_range(query)
    source = figures_for(repo, warehouse, first, last, None)
    columns: tuple[str, ...]
    if report == "products":
        rows = product_figures(source.rollups(PRODUCT_DAY_PK, first.isoformat(), last.isoformat()))
        columns = PRODUCT_COLUMNS
    else:
        by_day = {str(r["sk"]): r for r in source.rollups(DAY_PK, first.isoformat(), last.isoformat())}
        rows = [_daily(day, by_day.get(day, {})) for day in days_between(first, last)]
        columns = DAILY_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in columns])
    return f"analytics-{report}-{first.isoformat()}-{last.isoformat()}.csv", out.getvalue()
