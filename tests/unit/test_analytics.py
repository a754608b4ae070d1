"""Unit tests of analytics on in-memory fakes: roll-up arithmetic, business days, de-duplication, crashes, reports."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest

from chalicelib.analytics import service
from chalicelib.analytics.lake import events_of_days, read_recent_events
from chalicelib.analytics.rollup import (
    DAY_PK,
    Increment,
    aov_fen,
    business_day,
)
from chalicelib.analytics.schemas import RangeQuery
from chalicelib.errors import ValidationError


class FakeAnalyticsRepository:
    """The AnalyticsRepository over dicts, with the transaction's all-or-nothing rule."""

    def __init__(self) -> None:
        self.markers: dict[str, int] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.buyer_markers: set[tuple[str, str]] = set()
        self.transactions = 0
        self.crash_on_transaction: int | None = None  # fail the n-th record() call (1-based) once
        self.marked_meanwhile: set[str] = set()  # markers another consumer writes just before our next record()

    def seen(self, markers: list[str]) -> set[str]:
        return {marker for marker in markers if marker in self.markers}

    def record(self, markers: list[tuple[str, str]], increments: list[Increment], expires_at: int) -> set[str]:
        self.transactions += 1
        if self.crash_on_transaction == self.transactions:
            self.crash_on_transaction = None
            raise RuntimeError("the Lambda died")
        for marker in self.marked_meanwhile:
            self.markers[marker] = expires_at
        self.marked_meanwhile = set()
        assert len(markers) + len(increments) <= 100
        assert len({i.key for i in increments}) == len(increments)
        refused = {marker for marker, _ in markers if marker in self.markers}
        if refused:
            return refused
        for marker, _ in markers:
            self.markers[marker] = expires_at
        for increment in increments:
            item = self.items.setdefault(increment.key, {"sk": increment.sk})
            for name, value in increment.counters.items():
                item[name] = item.get(name, 0) + value
            item.update(increment.labels)
        return set()

    def add_buyer(self, day: str, user_id: str) -> bool:
        if (day, user_id) in self.buyer_markers:
            return False
        self.buyer_markers.add((day, user_id))
        item = self.items.setdefault((DAY_PK, day), {"sk": day})
        item["buyers"] = item.get("buyers", 0) + 1
        return True

    def rollups(self, pk: str, first: str, last: str) -> list[dict[str, Any]]:
        end = last if pk == DAY_PK else f"{last}#~"
        return [dict(item) for (p, sk), item in sorted(self.items.items()) if p == pk and first <= sk <= end]

    def buyers(self, first: str, last: str) -> set[str]:
        return {user for day, user in self.buyer_markers if first <= day <= last}

    def buyer_count(self, first: str, last: str) -> int:
        return len(self.buyers(first, last))


class FakeLake:
    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.puts = 0

    def put(self, key: str, lines: list[dict[str, Any]]) -> None:
        self.puts += 1
        self.objects[key] = [json.loads(json.dumps(line)) for line in lines]

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    def lines(self, key: str) -> list[dict[str, Any]]:
        return list(self.objects[key])

    def all_event_ids(self) -> list[str]:
        return sorted(line["event_id"] for lines in self.objects.values() for line in lines)


CATEGORIES = {"p1": "phones", "p2": "phones", "p3": "laptops"}


def categories_of(product_ids: list[str]) -> dict[str, str]:
    return {pid: CATEGORIES[pid] for pid in product_ids if pid in CATEGORIES}


def body(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def view(n: int, product_id: str, at: str, user_id: str | None = None) -> str:
    return body(type="product_viewed", event_id=f"product_viewed:m{n}", occurred_at=at, product_id=product_id,
                user_id=user_id)  # fmt: skip


def cart_add(n: int, product_id: str, quantity: int, at: str) -> str:
    return body(type="cart_item_added", event_id=f"ev_cart{n}", occurred_at=at, user_id="u_a", product_id=product_id,
                sku_id=f"{product_id}-01", quantity=quantity)  # fmt: skip


def order(kind: str, order_id: str, user_id: str, at: str, lines: list[tuple[str, int, int]]) -> str:
    """lines: (product_id, quantity, payable_fen); the order's amount is their sum plus 1000 fen shipping."""
    return body(
        type=kind,
        event_id=f"{kind}:{order_id}",
        occurred_at=at,
        user_id=user_id,
        order_id=order_id,
        amount_fen=sum(fen for _, _, fen in lines) + 1000,
        lines=[
            {"product_id": p, "sku_id": f"{p}-01", "quantity": q, "payable_fen": fen, "title": f"title {p}"}
            for p, q, fen in lines
        ],
    )


def shop_day() -> list[str]:
    """Two business days (Asia/Shanghai) of a small shop, with 2026-11-24T16:30Z already on the 25th."""
    return [
        view(1, "p1", "2026-11-24T01:00:00Z", "u_a"),
        view(2, "p1", "2026-11-24T02:00:00Z"),
        view(3, "p3", "2026-11-24T03:00:00Z", "u_b"),
        cart_add(1, "p1", 2, "2026-11-24T04:00:00Z"),
        order("order_placed", "o1", "u_a", "2026-11-24T05:00:00Z", [("p1", 2, 10000), ("p3", 1, 5000)]),
        order("order_paid", "o1", "u_a", "2026-11-24T05:01:00Z", [("p1", 2, 10000), ("p3", 1, 5000)]),
        order("order_placed", "o2", "u_b", "2026-11-24T06:00:00Z", [("p2", 1, 3000)]),  # never paid
        order("order_placed", "o3", "u_a", "2026-11-24T15:59:59Z", [("p2", 1, 2001)]),  # 23:59:59 in Shanghai
        order("order_paid", "o3", "u_a", "2026-11-24T16:30:00Z", [("p2", 1, 2001)]),  # 00:30 on the 25th
        order("order_placed", "o4", "u_c", "2026-11-25T01:00:00Z", [("p1", 1, 5000)]),
        order("order_paid", "o4", "u_c", "2026-11-25T01:05:00Z", [("p1", 1, 5000)]),
        body(
            type="order_refunded",
            event_id="order_refunded:r1",
            occurred_at="2026-11-25T02:00:00Z",
            user_id="u_a",
            order_id="o1",
            refund_id="r1",
            amount_fen=5000,
        ),
        body(type="search_performed", event_id="ev_s1", occurred_at="2026-11-24T01:00:00Z", keyword="手机"),
        body(
            type="favorite_added", event_id="ev_f1", occurred_at="2026-11-24T01:00:00Z", user_id="u_a", product_id="p1"
        ),
        body(
            type="review_posted",
            event_id="review_posted:o1:p1-01",
            occurred_at="2026-11-25T03:00:00Z",
            user_id="u_a",
            order_id="o1",
            product_id="p1",
            sku_id="p1-01",
            rating=5,
        ),
        body(type="order_received", event_id="order_received:o1", occurred_at="2026-11-25T02:30:00Z", order_id="o1"),
    ]


def consume(repo: FakeAnalyticsRepository, lake: FakeLake, bodies: list[str]) -> dict[str, int]:
    return service.record_batch(repo, lake, bodies, categories_of).as_dict()


def summary_of(repo: FakeAnalyticsRepository, first: str = "2026-11-24", last: str = "2026-11-25") -> dict[str, Any]:
    return service.summary(repo, RangeQuery.model_validate({"from": first, "to": last}))


def test_a_moment_counts_on_its_asia_shanghai_calendar_day() -> None:
    from datetime import UTC, datetime

    assert business_day(datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC)) == "2026-11-24"
    assert business_day(datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC)) == "2026-11-25"


def test_aov_is_gmv_over_paid_orders_rounded_half_up_to_whole_fen() -> None:
    assert aov_fen(0, 0) == 0
    assert aov_fen(10, 4) == 3  # 2.5 -> 3
    assert aov_fen(10, 3) == 3  # 3.33 -> 3
    assert aov_fen(11, 3) == 4  # 3.67 -> 4


def test_given_two_days_of_events_when_consumed_then_every_summary_figure_is_exact() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()

    outcome = consume(repo, lake, shop_day())
    figures = summary_of(repo)

    assert outcome == {"received": 16, "malformed": 0, "duplicates": 0, "counted": 16, "lake_objects": 2}
    assert figures["gmv_fen"] == 16000 + 3001 + 6000  # o1, o3 and o4 paid, each with 1000 fen shipping
    assert (figures["orders"], figures["paid_orders"], figures["buyers"]) == (4, 3, 2)  # u_a paid on both days
    assert figures["aov_fen"] == 8334  # 25001 / 3 = 8333.67
    assert (figures["refunds"], figures["refunded_fen"], figures["net_gmv_fen"]) == (1, 5000, 20001)
    assert figures["funnel"] == {"views": 3, "cart_adds": 1, "orders": 4, "payments": 3}
    assert figures["behaviour"] == {"searches": 1, "favorites": 1, "receipts": 1, "reviews": 1}
    assert [(d["date"], d["orders"], d["paid_orders"], d["gmv_fen"], d["buyers"]) for d in figures["daily"]] == [
        ("2026-11-24", 3, 1, 16000, 1),
        ("2026-11-25", 1, 2, 9001, 2),
    ]
    top = {p["product_id"]: p for p in figures["top_products"]}
    assert [p["product_id"] for p in figures["top_products"]] == ["p1", "p3", "p2"]
    assert (top["p1"]["gmv_fen"], top["p1"]["units"], top["p1"]["paid_orders"], top["p1"]["orders"]) == (15000, 3, 2, 2)
    assert (top["p1"]["views"], top["p1"]["cart_adds"], top["p1"]["favorites"], top["p1"]["title"]) == (
        2,
        1,
        1,
        "title p1",
    )
    assert top["p2"]["orders"] == 2 and top["p2"]["gmv_fen"] == 2001
    assert figures["share_by_category"] == [
        {"category_id": "phones", "gmv_fen": 17001, "units": 4, "share": 0.7727},
        {"category_id": "laptops", "gmv_fen": 5000, "units": 1, "share": 0.2273},
    ]


def test_a_range_without_events_has_a_zero_for_every_day() -> None:
    figures = summary_of(FakeAnalyticsRepository(), "2026-02-27", "2026-03-01")

    assert [d["date"] for d in figures["daily"]] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert figures["gmv_fen"] == figures["aov_fen"] == figures["buyers"] == 0
    assert figures["top_products"] == [] and figures["share_by_category"] == []


def test_a_redelivered_batch_and_duplicates_within_a_batch_are_counted_once() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    events = shop_day()

    first = consume(repo, lake, [*events, events[5], events[0]])
    again = consume(repo, lake, events)

    assert first["counted"] == 16 and first["duplicates"] == 2
    assert again == {"received": 16, "malformed": 0, "duplicates": 16, "counted": 0, "lake_objects": 0}
    assert summary_of(repo)["gmv_fen"] == 25001
    assert summary_of(repo)["funnel"]["views"] == 3
    assert lake.all_event_ids() == sorted(json.loads(e)["event_id"] for e in events)


def test_malformed_events_are_dropped_and_counted_without_spoiling_the_batch() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    bad = [
        "not json",
        body(type="order_paid", order_id="o9"),  # no event_id, amount, time
        body(type="teleported", event_id="ev_x", occurred_at="2026-11-24T01:00:00Z"),
        view(9, "p1", "2026-11-24T01:00:00"),  # naive time
        body(
            type="order_paid",
            event_id="order_paid:o8",
            occurred_at="2026-11-24T01:00:00Z",
            order_id="o8",
            amount_fen=-5,
        ),
        cart_add(9, "p1", 0, "2026-11-24T01:00:00Z"),
    ]

    outcome = consume(repo, lake, [view(1, "p1", "2026-11-24T01:00:00Z"), *bad])

    assert outcome == {"received": 7, "malformed": 6, "duplicates": 0, "counted": 1, "lake_objects": 1}
    assert summary_of(repo)["funnel"] == {"views": 1, "cart_adds": 0, "orders": 0, "payments": 0}


def test_a_crash_after_the_lake_write_and_before_the_roll_up_loses_and_doubles_nothing() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    repo.crash_on_transaction = 1

    with pytest.raises(RuntimeError):
        consume(repo, lake, shop_day())
    consume(repo, lake, shop_day())  # SQS delivers the batch again

    assert summary_of(repo)["gmv_fen"] == 25001 and summary_of(repo)["buyers"] == 2
    assert len(lake.objects) == 2  # the same objects written again, not new ones
    assert len(lake.all_event_ids()) == 16


def test_a_crash_between_two_transactions_of_a_batch_counts_the_rest_once_on_redelivery() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    many_views = [view(100 + n, f"p{n}", "2026-11-24T01:00:00Z") for n in range(60)]  # 60 * 2 items: two transactions
    repo.crash_on_transaction = 2

    with pytest.raises(RuntimeError):
        consume(repo, lake, many_views + shop_day())
    consume(repo, lake, many_views + shop_day())

    figures = summary_of(repo)
    assert figures["funnel"]["views"] == 63
    assert figures["gmv_fen"] == 25001 and figures["paid_orders"] == 3 and figures["buyers"] == 2


def test_an_event_another_consumer_counted_meanwhile_is_left_out_and_the_rest_is_counted() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    repo.marked_meanwhile = {"order_paid:o1"}

    outcome = consume(repo, lake, shop_day())

    assert outcome["counted"] == 15 and outcome["duplicates"] == 1
    assert summary_of(repo)["paid_orders"] == 2  # the other consumer's transaction holds o1's counters


def test_an_order_too_big_for_one_transaction_is_counted_in_parts_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    lines = [(f"x{n}", 1, 100) for n in range(99)]
    monkeypatch.setattr(  # 1 day + 99 products + 99 categories: more than a transaction takes
        "tests.unit.test_analytics.CATEGORIES", {**CATEGORIES, **{f"x{n}": f"c{n}" for n in range(99)}}
    )
    paid = order("order_paid", "o_big", "u_a", "2026-11-24T05:00:00Z", lines)
    repo.crash_on_transaction = 2

    with pytest.raises(RuntimeError):
        consume(repo, lake, [paid])
    consume(repo, lake, [paid])
    consume(repo, lake, [paid])

    figures = summary_of(repo)
    assert figures["gmv_fen"] == 9900 + 1000 and figures["paid_orders"] == 1
    assert sum(p["gmv_fen"] for p in service.product_figures(repo.rollups("PRODUCT_DAY", "2026-11-24", "2026-11-24")))\
        == 9900  # fmt: skip
    assert len(figures["share_by_category"]) == 99
    assert set(repo.markers) == {"order_paid:o_big", "order_paid:o_big/2", "order_paid:o_big/3"}


def test_views_without_a_category_get_the_catalogs_and_unknown_products_keep_none() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()

    consume(repo, lake, [view(1, "p3", "2026-11-24T01:00:00Z"), view(2, "p_gone", "2026-11-24T01:00:00Z")])

    lines = {line["product_id"]: line for key in lake.objects for line in lake.lines(key)}
    assert lines["p3"]["category_id"] == "laptops" and "category_id" not in lines["p_gone"]
    assert repo.rollups("CATEGORY_DAY", "2026-11-24", "2026-11-24") == [
        {"sk": "2026-11-24#laptops", "category_id": "laptops", "views": 1}
    ]


@pytest.mark.parametrize(
    ("first", "last"), [("2026-11-25", "2026-11-24"), ("2025-01-01", "2026-01-02"), ("2026-02-28", "2027-03-01")]
)
def test_a_range_backwards_or_over_366_days_is_a_validation_error(first: str, last: str) -> None:
    with pytest.raises(ValidationError):
        summary_of(FakeAnalyticsRepository(), first, last)


def test_a_range_of_exactly_366_days_is_accepted() -> None:
    assert len(summary_of(FakeAnalyticsRepository(), "2028-01-01", "2028-12-31")["daily"]) == 366


@pytest.mark.parametrize("value", ["2026-1-5", "2026-02-30", "20261105", "2026-11-05T00:00:00", "", "today"])
def test_a_date_that_is_not_a_real_yyyy_mm_dd_is_refused(value: str) -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError):
        RangeQuery.model_validate({"from": value, "to": "2026-11-05"})


def test_the_csv_has_the_daily_series_and_the_products_with_formulas_defused() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    consume(repo, lake, shop_day())
    repo.items[("PRODUCT_DAY", "2026-11-25#p2")]["title"] = "=HYPERLINK(1)"
    query = RangeQuery.model_validate({"from": "2026-11-24", "to": "2026-11-25"})

    daily_name, daily = service.export_csv(repo, query, "daily")
    products_name, products = service.export_csv(repo, query, "products")

    assert daily_name == "analytics-daily-2026-11-24-2026-11-25.csv"
    rows = list(csv.DictReader(io.StringIO(daily)))
    assert [(r["date"], r["gmv_fen"], r["orders"], r["paid_orders"], r["buyers"], r["aov_fen"]) for r in rows] == [
        ("2026-11-24", "16000", "3", "1", "1", "16000"),
        ("2026-11-25", "9001", "1", "2", "2", "4501"),  # 4500.5 rounds up
    ]
    assert products_name == "analytics-products-2026-11-24-2026-11-25.csv"
    product_rows = list(csv.DictReader(io.StringIO(products)))
    assert [r["product_id"] for r in product_rows] == ["p1", "p3", "p2"]
    assert product_rows[2]["title"] == "'=HYPERLINK(1)"


def test_recent_events_are_read_from_the_lake_by_day_each_once() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()
    consume(repo, lake, shop_day())
    lake.objects["events/dt=2026-11-25/copy.jsonl"] = lake.lines(next(k for k in lake.objects if "2026-11-25" in k))

    last_day = list(read_recent_events(1, lake, until=date(2026, 11, 25)))
    both = list(read_recent_events(2, lake, until=date(2026, 11, 25)))

    assert {e["type"] for e in last_day} >= {"order_paid", "order_refunded", "review_posted"}
    assert len(last_day) == 6 and len(both) == 16
    assert len({e["event_id"] for e in both}) == 16
    assert all(e["event_id"] in {x["event_id"] for x in events_of_days(lake, ["2026-11-24", "2026-11-25"])}
               for e in both)  # fmt: skip


def test_buyer_markers_are_one_per_user_and_day() -> None:
    repo, lake = FakeAnalyticsRepository(), FakeLake()

    consume(repo, lake, shop_day())

    assert sorted(repo.buyer_markers) == [("2026-11-24", "u_a"), ("2026-11-25", "u_a"), ("2026-11-25", "u_c")]
