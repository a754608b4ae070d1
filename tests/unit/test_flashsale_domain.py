"""The flash sale's rules without I/O: how units are taken from the shards, a session's status, what an attempt
shows, and what a session's change does to the SKUs' stock."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.flashsale.domain import (
    ACTIVE,
    CLAIMED,
    CLOSED,
    ENDED,
    QUEUED,
    UPCOMING,
    Attempt,
    FlashItem,
    Session,
    plan_claim,
    shards_for,
    stock_changes,
)


def item(sku_id: str = "p_1-01", promo_stock: int = 10) -> FlashItem:
    return FlashItem(sku_id, "p_1", "手机", None, 5000, 3000, promo_stock, 1, shards_for(promo_stock))


def session(state: str = "SCHEDULED") -> Session:
    return Session("fs_1", "秒杀", "2026-12-06T10:00:00Z", "2026-12-06T11:00:00Z", (item(),), state)


def test_the_promo_stock_is_spread_evenly_over_at_most_four_shards() -> None:
    assert item(promo_stock=10).shard_stock() == {0: 3, 1: 3, 2: 2, 3: 2}
    assert item(promo_stock=2).shard_stock() == {0: 1, 1: 1}
    assert sum(item(promo_stock=10_001).shard_stock().values()) == 10_001


def test_a_claim_starts_with_the_attempts_own_shard_and_goes_round_the_others() -> None:
    assert plan_claim({0: 1, 1: 1, 2: 0, 3: 2}, 1, 3) == {3: 1}
    assert plan_claim({0: 1, 1: 1, 2: 0, 3: 0}, 1, 2) == {0: 1}
    assert plan_claim({0: 1, 1: 1, 2: 0, 3: 0}, 2, 1) == {1: 1, 0: 1}


def test_a_claim_for_more_than_the_shards_hold_together_takes_nothing() -> None:
    assert plan_claim({0: 1, 1: 0}, 2, 0) is None
    assert plan_claim({0: 0, 1: 0}, 1, 1) is None


def test_a_session_is_upcoming_then_active_then_ended_and_ended_once_closed() -> None:
    assert session().status(datetime(2026, 12, 6, 9, 59, tzinfo=UTC)) == UPCOMING
    assert session().status(datetime(2026, 12, 6, 10, 0, tzinfo=UTC)) == ACTIVE
    assert session().status(datetime(2026, 12, 6, 11, 0, tzinfo=UTC)) == ENDED
    assert session(CLOSED).status(datetime(2026, 12, 6, 10, 30, tzinfo=UTC)) == ENDED


def test_a_closed_session_shows_nothing_remaining() -> None:
    shown = session(CLOSED).view({"p_1-01": 4}, datetime(2026, 12, 6, 12, tzinfo=UTC))
    assert shown["items"][0]["remaining"] == 0
    assert shown["status"] == ENDED


def test_an_attempt_with_units_taken_but_no_order_yet_shows_queued() -> None:
    claimed = Attempt("fa_1", "u_1", "fs_1", "p_1-01", 1, "a_1", 0, CLAIMED, "2026-12-06T10:00:00Z", {0: 1})
    shown = claimed.view()
    assert shown["status"] == QUEUED
    assert shown["order_id"] is None and shown["decided_at"] is None


def test_changing_a_sessions_items_moves_each_skus_stock_by_the_difference() -> None:
    assert stock_changes((item("a", 5), item("b", 2)), (item("a", 8), item("c", 1))) == {"a": -3, "b": 2, "c": -1}
