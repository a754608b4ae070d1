"""After executions are lost (the local stage restarted from its kept tables), every unpaid order gets its payment
wait again with the time left of its pay deadline, every approved refund its execution, and nothing else changes."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.clock import iso, utcnow
from chalicelib.orders import sweeper
from chalicelib.orders.service import Shop
from chalicelib.orders.sweeper import SweepPolicy
from tests.unit.orders.fakes import ORDER_ID, FakeOrdersRepository, RecordingWorkflow, an_order

SWEEP = SweepPolicy()


def test_an_unpaid_order_without_an_execution_gets_its_payment_wait_with_the_time_left_and_a_shipped_one_none(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN an unpaid order due in 20 minutes, a shipped one due in 10 days, and neither has an execution
    in_twenty_minutes = iso(utcnow() + timedelta(minutes=20))
    orders.orders[ORDER_ID].update(pay_deadline=in_twenty_minutes, due_at=in_twenty_minutes)
    shipped_at = iso(utcnow() - timedelta(days=4))
    orders.orders["o_2"] = an_order(order_id="o_2", status="SHIPPED", shipment={"shipped_at": shipped_at},
                                    due_at=iso(utcnow() + timedelta(days=10)))  # fmt: skip

    # WHEN the executions are started again
    summary = sweeper.resume(shop, SWEEP)

    # THEN the unpaid one's payment wait starts with what is left of its 20 minutes; the shipped one's timer is the
    # sweeper's, and both stay as they were
    assert summary == {"started": 1}
    started = {order_id: payload for kind, order_id, payload in workflow.answers if kind == "start"}
    assert set(started) == {ORDER_ID}
    assert 1100 <= started[ORDER_ID]["payment_timeout_seconds"] <= 1200
    assert orders.orders[ORDER_ID]["status"] == "PENDING_PAYMENT" and orders.orders["o_2"]["status"] == "SHIPPED"


def test_an_order_whose_execution_runs_or_that_is_final_is_left_alone(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN an order whose execution still runs, and a cancelled one out of the due index
    orders.orders[ORDER_ID].update(due_at=iso(utcnow() + timedelta(minutes=5)))
    workflow.executions[ORDER_ID] = "RUNNING"
    orders.orders["o_3"] = an_order(order_id="o_3", status="CANCELLED", due_at=None)

    # WHEN the executions are started again  THEN nothing is started
    assert sweeper.resume(shop, SWEEP) == {"running": 1}
    assert workflow.answers == []
