"""Reading stock changes off catalog stream records, and the rules a change is judged by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.inventory.domain import (
    SKU_REMOVED,
    StockChange,
    low_stock_subject,
    padded_seq,
    restock_text,
    stock_change_of,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sku_image(stock: int, threshold: int = 10, **extra: Any) -> dict[str, Any]:
    image = {
        "pk": {"S": "PRODUCT#p_1"},
        "sk": {"S": "SKU#p_1-01"},
        "kind": {"S": "sku"},
        "sku_id": {"S": "p_1-01"},
        "product_id": {"S": "p_1"},
        "title": {"S": "华为 Mate 60 Pro"},
        "stock": {"N": str(stock)},
        "low_stock_threshold": {"N": str(threshold)},
    }
    image.update(extra)
    return image


def record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, seq: str = "1100") -> dict[str, Any]:
    change: dict[str, Any] = {"ApproximateCreationDateTime": 1795507200.0, "SequenceNumber": seq}
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    return {"eventName": name, "dynamodb": change}


def change(old: int, new: int, threshold: int = 10, seq: str = "1") -> StockChange:
    return StockChange("p_1-01", "p_1", old, new, threshold, "2026-11-24T08:00:00Z", padded_seq(seq))


def test_a_modified_sku_whose_stock_moved_is_a_stock_change_with_both_levels() -> None:
    found = stock_change_of(record("MODIFY", sku_image(0), sku_image(5)))

    assert found is not None
    assert (found.sku_id, found.product_id, found.old_stock, found.new_stock) == ("p_1-01", "p_1", 0, 5)
    assert (found.low_stock_threshold, found.title, found.at) == (10, "华为 Mate 60 Pro", "2026-11-24T08:00:00Z")
    assert found.seq == "1100".rjust(40, "0")


def test_a_sku_created_under_its_threshold_is_low_stock_but_never_a_restock_and_one_with_plenty_is_no_change() -> None:
    low = stock_change_of(record("INSERT", None, sku_image(3)))
    plenty = stock_change_of(record("INSERT", None, sku_image(50)))
    empty = stock_change_of(record("INSERT", None, sku_image(0)))

    assert low is not None and low.is_low and low.falls_under_threshold and not low.is_restock
    assert plenty is None  # not listed and nobody waits for it: a catalog import sends no message per SKU
    assert empty is not None and empty.is_low and not empty.is_restock


def test_a_threshold_change_alone_is_a_stock_change_too() -> None:
    found = stock_change_of(record("MODIFY", sku_image(8, threshold=5), sku_image(8, threshold=10)))

    assert found is not None and found.is_low and not found.falls_under_threshold


@pytest.mark.parametrize(
    "stream_record",
    [
        record("MODIFY", sku_image(5), sku_image(5, price_fen={"N": "100"})),  # a price edit
        record(
            "MODIFY", {"kind": {"S": "product"}, "stock": {"N": "1"}}, {"kind": {"S": "product"}, "stock": {"N": "2"}}
        ),
        record("MODIFY", {"kind": {"S": "sku"}}, sku_image(5)),  # no stock before: not a diff we can read
        {"eventName": "MODIFY", "dynamodb": {}},
    ],
    ids=["price-edit", "product-item", "no-old-stock", "empty"],
)
def test_records_that_do_not_move_a_skus_stock_are_no_stock_change(stream_record: dict[str, Any]) -> None:
    assert stock_change_of(stream_record) is None


def test_a_removed_sku_is_a_removal_that_takes_it_off_the_low_stock_list_without_alerting() -> None:
    found = stock_change_of(record("REMOVE", sku_image(2), None))

    assert found is not None
    assert found.type == SKU_REMOVED
    assert not (found.is_low or found.is_restock or found.falls_under_threshold)


def test_sequence_numbers_of_different_lengths_compare_in_stream_order() -> None:
    assert padded_seq("999") < padded_seq("1000")


@pytest.mark.parametrize(
    ("old", "new", "restock"), [(0, 5, True), (-1, 1, True), (0, 0, False), (3, 5, False), (5, 0, False)]
)
def test_a_restock_is_stock_going_from_none_to_some(old: int, new: int, restock: bool) -> None:
    assert change(old, new).is_restock is restock


@pytest.mark.parametrize(
    ("old", "new", "falls"), [(10, 9, True), (12, 0, True), (9, 3, False), (10, 10, False), (3, 12, False)]
)
def test_falling_under_the_threshold_means_from_at_or_over_it_to_under_it(old: int, new: int, falls: bool) -> None:
    assert change(old, new, threshold=10).falls_under_threshold is falls


def test_a_message_round_trips_and_a_foreign_one_is_refused() -> None:
    original = change(0, 5, seq="1100000000017454423010")

    assert StockChange.from_message(json.loads(json.dumps(original.message()))) == original
    with pytest.raises(ValueError, match="not a stock event"):
        StockChange.from_message({**original.message(), "type": "product_viewed"})
    with pytest.raises(ValueError, match="numeric seq"):
        StockChange.from_message({**original.message(), "seq": "abc"})
    with pytest.raises(KeyError):
        StockChange.from_message({"type": "stock_changed"})


def test_the_sample_stream_event_is_a_restock_and_the_sample_message_says_the_same() -> None:
    stream_event = json.loads((EVENTS / "publish_stock_changes.json").read_text(encoding="utf-8"))
    queue_event = json.loads((EVENTS / "handle_stock_events.json").read_text(encoding="utf-8"))

    from_stream = stock_change_of(stream_event["Records"][0])
    from_queue = StockChange.from_message(json.loads(queue_event["Records"][0]["body"]))

    assert from_stream is not None and from_stream.is_restock
    assert from_stream == from_queue


def test_the_texts_and_the_alert_subject_read_well() -> None:
    text = restock_text("华为 Mate 60 Pro", {"颜色": "雅丹黑"}, 5)
    subject = low_stock_subject("p_1-01", 3, 10)

    assert "华为 Mate 60 Pro 雅丹黑" in text and "5 件" in text and "到货" in text
    assert subject == "Low stock: SKU p_1-01 has 3 left (threshold 10)"
    assert subject.isascii() and len(low_stock_subject("x" * 200, 1, 2)) < 100
