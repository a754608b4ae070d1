"""The order sweeper: finds every order whose timer is overdue and repairs it, so no order is ever stuck.

Every order that is not final is due at some time in gsi_due: at once while its execution has not checked in (an
unpaid order until its payment task keeps its token), then at the deadline of its status (pay deadline, ship
deadline, automatic receipt, end of the return window, automatic approval of a refund; at once for an approved
refund). The execution's own timers act at those times; an order still due SWEEP_GRACE_SECONDS later means its
execution never started, lost an answer, or failed. The sweeper then starts a missing execution, sends again the
answers a waiting one is owed, and does itself what the timer should have done (every step is the execution's own
idempotent, conditional task), then moves the order's due time on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.observability import logger
from chalicelib.orders import tasks
from chalicelib.orders.deadlines import state_deadline
from chalicelib.orders.domain import PAID, PENDING_PAYMENT, RECEIVED, REFUNDING, SHIPPED, Order, Refund
from chalicelib.orders.outbox import answers_owed_in
from chalicelib.orders.service import Shop, open_refund

MAX_STEPS = 5  # e.g. paid -> refund opened -> refunded through the channel -> given back
# What the execution does when the timer of each status runs out (a pending refund's: approve it).
TIMER_RUNS_OUT = {
    PENDING_PAYMENT: tasks.compensate,
    PAID: tasks.ship_deadline_passed,
    SHIPPED: tasks.auto_receive,
    RECEIVED: tasks.settle,
    REFUNDING: tasks.auto_approve_refund,
}


@dataclass(frozen=True)
class SweepPolicy:
    """When an overdue order is the sweeper's (ORDER_SWEEP_* settings)."""

    order_sweep_grace_seconds: int = 300  # due this long ago: its execution's own timer did not act
    order_sweep_retry_seconds: int = 900  # looked at again this much later while it stays overdue
    order_sweep_lookback_days: int = 3  # due days read before today's
    order_sweep_max_orders: int = 500  # per run: the next run takes the rest

    @classmethod
    def from_settings(cls, settings: Any) -> SweepPolicy:
        return cls(**{f.name: int(getattr(settings, f.name)) for f in fields(cls)})


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def sweep(shop: Shop, policy: SweepPolicy, now: datetime | None = None) -> dict[str, Any]:
    """Repair every order due more than the grace period ago (at most ORDER_SWEEP_MAX_ORDERS per run, the oldest due
    days first; the next run takes the rest). Returns how many were due and what was done."""

    now = now or utcnow()
    cutoff = now - timedelta(seconds=policy.order_sweep_grace_seconds)
    days = _days(cutoff.date() - timedelta(days=policy.order_sweep_lookback_days), cutoff.date())
    due: list[str] = []
    for day in days:
        due += shop.orders.due_order_ids(day, iso(cutoff), policy.order_sweep_max_orders - len(due))
        if len(due) >= policy.order_sweep_max_orders:
            break
    outcomes = Counter(repair(shop, policy, order_id, now) for order_id in due)
    summary = {"due": len(due), **outcomes}
    if due:
        logger.info("orders swept", extra={"sweep": summary})
    return summary


def resume(shop: Shop, policy: SweepPolicy, now: datetime | None = None) -> dict[str, Any]:
    """Start an execution for every order that is not final and has none (executions were lost, as when the local
    stage restarts from its kept tables): each starts with the time left of its order's status, so its timers run
    out when they would have. Orders due before the lookback are the sweeper's, as always; returns the counts."""
    now = now or utcnow()
    longest = max(shop.timers.durations().values(), default=0)
    horizon = now + timedelta(seconds=longest, days=1)
    days = _days(now.date() - timedelta(days=policy.order_sweep_lookback_days), horizon.date())
    outcomes: Counter[str] = Counter()
    for day in days:
        for order_id in shop.orders.due_order_ids(day, iso(horizon), policy.order_sweep_max_orders):
            try:
                running = shop.workflow.status(order_id) is not None
                outcomes["running" if running else tasks.start_execution(shop, order_id)] += 1
            except Exception:  # the sweeper repairs it when it is overdue
                logger.exception("an order's execution could not be started again", extra={"order_id": order_id})
                outcomes["failed"] += 1
    return dict(outcomes)


def repair(shop: Shop, policy: SweepPolicy, order_id: str, now: datetime) -> str:
    """Bring one overdue order to where its timers say it should be; what was done ("final", "started",
    "driven", "waiting", "failed", "not_due")."""
    cutoff = now - timedelta(seconds=policy.order_sweep_grace_seconds)
    order = shop.orders.order(order_id)
    if order is None or order.is_final:
        return "final"
    if not order.due_at or order.due_at > iso(cutoff):
        return "not_due"  # moved on since the index was read
    outcome = "waiting"
    try:
        execution = shop.workflow.status(order_id)
        if execution is None:
            tasks.start_execution(shop, order_id)
            outcome = "started"
        elif execution == "RUNNING":
            _answer_again(shop, order)
        if _drive(shop, order_id, cutoff):
            outcome = "driven"
    except Exception:  # one order's trouble must not stop the sweep: it stays due and is tried again later
        logger.exception("an overdue order could not be repaired", extra={"order_id": order_id})
        outcome = "failed"
    _move_due_time(shop, policy, order_id, now, retry_soon=outcome == "failed")
    return outcome


def _answer_again(shop: Shop, order: Order) -> None:
    refund = shop.orders.refund(order.refund_id) if order.refund_id else None
    for answer in answers_owed_in(order, refund):
        if "output" in answer:
            shop.workflow.succeed(answer["token"], answer["output"])
        else:
            shop.workflow.fail(answer["token"], answer["error"], answer["cause"])


def _current(shop: Shop, order_id: str) -> tuple[Order | None, Refund | None]:
    order = shop.orders.order(order_id)
    if order is None or order.is_final:
        return None, None
    return order, open_refund(shop, order)


def _drive(shop: Shop, order_id: str, cutoff: datetime) -> bool:
    """Do, step by step, what the timers past their deadline should have done; True if anything was done. Once it
    acted, what is due at once (the refund the step opened or approved) follows without waiting for a grace."""
    acted = False
    for _ in range(MAX_STEPS):
        order, refund = _current(shop, order_id)
        if order is None:
            return acted
        deadline = state_deadline(order, refund, shop.timers.durations())
        if deadline is None or deadline > (utcnow() if acted else cutoff):
            return acted
        _timer_action(shop, order, refund)
        acted = True
    return acted


def _timer_action(shop: Shop, order: Order, refund: Refund | None) -> None:
    """The step the execution takes when the timer of the order's status runs out."""
    if order.status == REFUNDING and (refund is None or refund.status != "PENDING"):
        tasks.refund_payment(shop, order.order_id)  # approved: due through the channel at once
        tasks.complete_refund(shop, order.order_id)
    else:
        TIMER_RUNS_OUT[order.status](shop, order.order_id)


def _move_due_time(shop: Shop, policy: SweepPolicy, order_id: str, now: datetime, retry_soon: bool) -> None:
    """Due next at its status's deadline, or after ORDER_SWEEP_RETRY_SECONDS when that has passed (or the repair
    failed), so the order is looked at again: it never leaves the index while it is not final."""
    order, refund = _current(shop, order_id)
    if order is None:
        return
    retry = now + timedelta(seconds=policy.order_sweep_retry_seconds)
    deadline = state_deadline(order, refund, shop.timers.durations())
    due = retry if retry_soon or deadline is None or deadline <= now else deadline
    shop.orders.reschedule(order_id, order.status, iso(due))
