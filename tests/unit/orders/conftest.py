"""The shop of the order unit tests: one order (ORDER_ID) on in-memory fakes."""

from __future__ import annotations

from typing import Any, cast

import pytest

from chalicelib.orders.service import Shop
from tests.unit.orders.fakes import (
    ORDER_ID,
    FakeChannelRefunds,
    FakeOrdersRepository,
    FakePoints,
    RecordingWorkflow,
    an_order,
)


@pytest.fixture
def orders(points: FakePoints) -> FakeOrdersRepository:
    repo = FakeOrdersRepository(points)
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
    orders: FakeOrdersRepository, workflow: RecordingWorkflow, points: FakePoints, channel: FakeChannelRefunds
) -> Shop:
    unused: Any = None
    return Shop(orders=orders, catalog=unused, profile=unused, cart=unused, coupons=unused, points=cast(Any, points),
                workflow=workflow, refunds=channel)  # fmt: skip
