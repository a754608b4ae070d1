"""The refresh's behaviour window as columns: compacted days, merged days, receipts across days, changed lists."""

from __future__ import annotations

from datetime import date

from chalicelib.analytics.lake import object_key
from chalicelib.recommend import window, written
from chalicelib.recommend.behaviour import KINDS
from chalicelib.recommend.refresh import interactions_from_events
from tests.unit.fakes import FakeLake

DAY1, DAY2 = "2026-11-24", "2026-11-25"


def event(event_id: str, kind: str, at: str, user: str | None, **fields: object) -> dict[str, object]:
    return {"event_id": event_id, "type": kind, "occurred_at": at, **({"user_id": user} if user else {}), **fields}


def line(product_id: str) -> dict[str, object]:
    return {"product_id": product_id, "sku_id": f"{product_id}-s", "quantity": 1, "payable_fen": 100, "title": "t"}


EVENTS_DAY1 = [
    event("v1", "product_viewed", "2026-11-24T01:00:00Z", "u1", product_id="p1"),
    event("v2", "product_viewed", "2026-11-24T01:00:05Z", None, product_id="p2"),
    event("f1", "favorite_added", "2026-11-24T01:01:00Z", None, product_id="p2"),  # anonymous favorite: not a fact
    event("o1", "order_placed", "2026-11-24T02:00:00Z", "u2", order_id="o-1", amount_fen=200,
          lines=[line("p1"), line("p3"), line("p1")]),
    event("s1", "search_performed", "2026-11-24T02:00:00Z", "u2", keyword="x", results=1),
    event("bad", "product_viewed", "not a time", "u1", product_id="p1"),
]  # fmt: skip
EVENTS_DAY2 = [
    event("r1", "order_received", "2026-11-25T03:00:00Z", "u2", order_id="o-1"),
    event("c1", "cart_item_added", "2026-11-25T03:00:00Z", "u3", product_id="p4", sku_id="p4-s", quantity=2),
]


def rows(w: window.Window) -> list[tuple[str, str, str, float]]:
    return sorted(
        (str(w.user_ids[u]), str(w.product_ids[p]), KINDS[k], float(a))
        for u, p, k, a in zip(w.user.tolist(), w.product.tolist(), w.kind.tolist(), w.at.tolist(), strict=True)
    )


def test_the_window_holds_the_same_interactions_as_the_event_by_event_reading_with_receipts_across_days() -> None:
    # GIVEN an order placed on one day and received the next
    w = window.merge([window.day_columns(EVENTS_DAY1), window.day_columns(EVENTS_DAY2)])
    # THEN the columns hold exactly what the event-by-event reading gives, receipts resolved to the order's lines
    interactions, skipped = interactions_from_events(EVENTS_DAY1 + EVENTS_DAY2)
    assert rows(w) == sorted((i.user_id, i.product_id, i.kind, i.at) for i in interactions)
    assert [r[:3] for r in rows(w) if r[2] == "receive"] == [("u2", "p1", "receive"), ("u2", "p3", "receive")]
    assert w.skipped == skipped == 1
    assert dict(window.bought(w)) == {"u2": frozenset({"p1", "p3"})}


def test_a_finished_day_is_compacted_once_and_read_back_from_its_compacted_object() -> None:
    # GIVEN two days of events in the lake
    lake = FakeLake()
    lake.put(object_key(DAY1, ["a"]), EVENTS_DAY1[:3])
    lake.put(object_key(DAY1, ["b"]), EVENTS_DAY1[3:] + EVENTS_DAY1[:1])  # v1 delivered twice
    lake.put(object_key(DAY2, ["c"]), EVENTS_DAY2)
    # WHEN the window is loaded twice
    first = window.load_window(lake, 2, date.fromisoformat(DAY2))
    reads = lake.line_reads
    second = window.load_window(lake, 2, date.fromisoformat(DAY2))
    # THEN the finished day was compacted once (the current day is read raw every time), each event counted once
    assert window.compact_key(DAY1) in lake.blobs and window.compact_key(DAY2) not in lake.blobs
    assert lake.line_reads - reads == 1
    assert rows(first) == rows(second)
    assert sum(1 for r in rows(first) if r[2] == "view") == 2


def test_an_event_arriving_late_for_a_finished_day_rebuilds_that_days_compacted_object() -> None:
    lake = FakeLake()
    lake.put(object_key(DAY1, ["a"]), EVENTS_DAY1)
    before = window.load_window(lake, 2, date.fromisoformat(DAY2))
    # WHEN a late batch of the finished day lands in the lake
    lake.put(object_key(DAY1, ["late"]), [event("v9", "product_viewed", "2026-11-24T05:00:00Z", "u9", product_id="p9")])
    after = window.load_window(lake, 2, date.fromisoformat(DAY2))
    # THEN it is in the window
    assert len(after) == len(before) + 1
    assert "u9" in after.user_ids.tolist()


def test_only_new_or_changed_lists_are_written_and_an_unchanged_one_again_once_a_day_old() -> None:
    lists = {("similar", "p1"): ["p2", "p3"], ("for_you", "u1"): ["p1"]}
    to_write, state = written.plan(lists, written.Written.empty(), now=1_000)
    assert sorted(to_write) == sorted(lists)
    changed = {**lists, ("for_you", "u1"): ["p3"], ("hot", "c1"): ["p1"]}
    to_write, state = written.plan(changed, state, now=2_000)
    assert sorted(to_write) == [("for_you", "u1"), ("hot", "c1")]
    to_write, _ = written.plan(changed, state, now=1_000 + written.REWRITE_AFTER_SECONDS)
    assert to_write == [("similar", "p1")]
