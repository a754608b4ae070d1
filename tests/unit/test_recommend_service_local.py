"""The local runtime's part of recommendations: the synthetic demo behaviour and the refresh's local period."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.analytics.lake import events_of_days
from chalicelib.clock import utcnow
from chalicelib.recommend.refresh import interactions_from_events
from local.aws.scheduler import local_period
from local.demo import behaviour as demo_behaviour
from local.demo import catalog as demo_catalog


class MemoryLake:
    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {}

    def put(self, key: str, lines: list[dict[str, Any]]) -> None:
        self.objects[key] = lines

    def keys(self, prefix: str) -> list[str]:
        return [key for key in self.objects if key.startswith(prefix)]

    def lines(self, key: str) -> list[dict[str, Any]]:
        return self.objects[key]


def test_the_demo_behaviour_is_a_few_hundred_events_of_every_product_kind_that_read_back_as_interactions() -> None:
    lake = MemoryLake()
    written = demo_behaviour.seed_behaviour(demo_catalog.products(), ("u_admin",), lake)
    days = sorted({key.split("dt=")[1].split("/")[0] for key in lake.objects})
    events = list(events_of_days(lake, days))
    assert 200 <= written == len(events) <= 600
    assert {e["type"] for e in events} == {"product_viewed", "favorite_added", "cart_item_added", "order_placed",
                                           "order_paid"}  # fmt: skip
    interactions, skipped = interactions_from_events(events)
    assert skipped == 0 and any(i.user_id == "u_admin" for i in interactions)
    known = {p["product_id"] for p in demo_catalog.products()}
    assert {i.product_id for i in interactions} <= known
    once, twice = (demo_behaviour.behaviour_events(demo_catalog.products(), utcnow()) for _ in range(2))
    assert [(e.type, getattr(e, "product_id", None)) for e in once] == [
        (e.type, getattr(e, "product_id", None)) for e in twice
    ]  # the same shop every start


@pytest.mark.parametrize(("value", "expected"), [(None, 60.0), ("5", 5.0), ("0", None)])
def test_the_local_refresh_period_is_configurable_and_zero_keeps_the_deployed_schedule(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: float | None
) -> None:
    if value is None:
        monkeypatch.delenv("LOCAL_RECOMMEND_REFRESH_SECONDS", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RECOMMEND_REFRESH_SECONDS", value)
    assert local_period("refresh_recommendations") == expected
    assert local_period("rebuild_search_index") is None
