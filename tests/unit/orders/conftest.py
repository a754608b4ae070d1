"""The shop of the order unit tests: one order (ORDER_ID) on in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from chalicelib.orders.service import Shop
from tests.unit.orders.fakes import (
    ORDER_ID,
    FakeChannelRefunds,
    FakeOrdersRepository,
    FakeOrdersStream,
    FakePoints,
    RecordingNotifier,
    RecordingWorkflow,
    a_used_coupon,
    an_order,
)
from tests.unit.test_coupons_fakes import FakeCouponsRepository


@pytest.fixture
def coupons() -> FakeCouponsRepository:
    """The user's coupon c_1, which the order used (an_order() names it), still valid for 30 days."""
    repo = FakeCouponsRepository()
    repo.coupon_items["u_1"] = {"c_1": a_used_coupon()}
    return repo


@pytest.fixture
def orders(points: FakePoints, coupons: FakeCouponsRepository) -> FakeOrdersRepository:
    repo = FakeOrdersRepository(points, coupons)
    repo.orders[ORDER_ID] = an_order()
    return repo


@pytest.fixture
def workflow() -> RecordingWorkflow:
    return RecordingWorkflow()


@pytest.fixture
def points() -> FakePoints:
    return FakePoints()


@pytest.fixture
def channel() -> FakeChannelRefunds:
    return FakeChannelRefunds()


@pytest.fixture
def shop(
    orders: FakeOrdersRepository,
    workflow: RecordingWorkflow,
    points: FakePoints,
    channel: FakeChannelRefunds,
    coupons: FakeCouponsRepository,
) -> Shop:
    unused: Any = None
    return Shop(orders=orders, catalog=unused, profile=unused, cart=unused, coupons=coupons, points=cast(Any, points),
                workflow=workflow, refunds=channel)  # fmt: skip


@pytest.fixture
def stream(orders: FakeOrdersRepository) -> FakeOrdersStream:
    return FakeOrdersStream(orders)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def deliver_outbox(shop: Shop, stream: FakeOrdersStream, notifier: RecordingNotifier) -> Callable[[], list[str]]:
    """Deliver what the changes made so far put in the outbox (as the stream and the queue's consumer do)."""
    from chalicelib.orders import outbox

    def deliver() -> list[str]:
        return [outbox.deliver(shop, message, notifier) for message in stream.messages()]

    return deliver
