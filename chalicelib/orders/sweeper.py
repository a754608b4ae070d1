"""The order sweeper: the timers of an order after payment, and the repair of an order an execution left behind.

Every order that is not final is due at some time in gsi_due (time-sharded): at once while its payment wait has not
checked in, then at the deadline of its status (pay deadline, ship deadline, automatic receipt, end of the return
window, automatic approval of a refund; at once for an approved refund). The executions time only the payment wait
and run an approved refund; every other timer is the sweeper's: it runs on a schedule, and for a PAID, SHIPPED,
RECEIVED or pending-refund order it acts as soon as the order is due (the schedule's period is those timers'
precision). For the two an execution owns (an unpaid order, an approved refund) it acts only
ORDER_SWEEP_GRACE_SECONDS after their due time: the execution then never started or failed, and the sweeper starts
a missing one or does the step itself (a payment answer lost on its way ends the payment wait at its timeout, whose
compensation finds the order paid). Every step is the same idempotent, conditional task the executions run, and the
order's due time moves on after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.observability import logger
from chalicelib.orders import tasks
from chalicelib.orders.aftersales_timers import is_case_key, repair_case
from chalicelib.orders.deadlines import state_deadline
from chalicelib.orders.domain import PAID, PENDING_PAYMENT, RECEIVED, REFUNDING, SHIPPED, Order, Refund
from chalicelib.orders.service import Shop, open_refund

MAX_STEPS = 5  # e.g. paid -> refund opened -> refunded through the channel -> given back
# What happens when the timer of each status runs out (a pending refund's: approve it).
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

    order_sweep_grace_seconds: int = 300  # an execution's timer (payment, approved refund) did not act this long
    order_sweep_retry_seconds: int = 900  # looked at again this much later while it stays overdue
    order_sweep_lookback_days: int = 3  # due days read before today's
    order_sweep_max_orders: int = 500  # per run: the next run takes the rest

    @classmethod
    def from_settings(cls, settings: Any) -> SweepPolicy:
        return cls(**{f.name: int(getattr(settings, f.name)) for f in fields(cls)})


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


HandOff = Callable[[list[dict[str, Any]]], None]  # pages of the due index left for other invocations (a queue)


def sweep(
    shop: Shop, policy: SweepPolicy, now: datetime | None = None, hand_off: HandOff | None = None
) -> dict[str, Any]:
    """Act on every order due by now (an execution's: due more than the grace period ago), the oldest due days first,
    at most ORDER_SWEEP_MAX_ORDERS here. With `hand_off`, every page of the due index beyond that (the rest of a
    partition, the partitions not reached) is handed off as a message `{"partition", "before", "start"?}` that
    `sweep_page` takes in another invocation (handed off before acting, so the pages are swept side by side), so one
    run has no cap; without it the next run takes the rest.
    Returns how many were due here, what was done, and how many pages were handed off."""

    now = now or utcnow()
    before = iso(now)
    budget = policy.order_sweep_max_orders
    found: list[str] = []
    handed: list[dict[str, Any]] = []
    for partition in due_partitions(shop, policy, now):
        if budget <= 0:
            if hand_off is None:
                break
            handed.append({"partition": partition, "before": before})
            continue
        page, start = shop.orders.due_page(partition, before, budget, None)
        budget -= len(page)
        found += page
        if start is not None and hand_off is not None:
            handed.append({"partition": partition, "before": before, "start": start})
    if handed and hand_off is not None:
        hand_off(handed)  # first: the other invocations work while this one acts on its own share
    outcomes = Counter(repair(shop, policy, order_id, now) for order_id in found)
    return _summary(outcomes, len(handed))


def sweep_page(shop: Shop, policy: SweepPolicy, page: dict[str, Any], hand_off: HandOff) -> dict[str, Any]:
    """One handed-off page of the due index: act on at most ORDER_SWEEP_MAX_ORDERS of its orders due by its
    `before`, and hand off the page after it, if any."""
    before = str(page["before"])
    found, start = shop.orders.due_page(
        str(page["partition"]), before, policy.order_sweep_max_orders, page.get("start")
    )
    if start is not None:
        hand_off([{**page, "start": start}])  # first: the next page is swept meanwhile, by another invocation
    now = max(utcnow(), parse_iso(before))
    outcomes = Counter(repair(shop, policy, order_id, now) for order_id in found)
    return _summary(outcomes, 1 if start is not None else 0)


def due_partitions(shop: Shop, policy: SweepPolicy, now: datetime) -> list[str]:
    """Every partition of the due index from the lookback's first day to today, the oldest days first."""
    days = _days(now.date() - timedelta(days=policy.order_sweep_lookback_days), now.date())
    return [partition for day in days for partition in shop.orders.due_partitions(day)]


def _summary(outcomes: Counter[str], handed_off: int) -> dict[str, Any]:
    outcomes.pop("not_due", None)  # an execution's, within its grace: not the sweeper's yet
    summary = {"due": sum(outcomes.values()), **outcomes, **({"handed_off": handed_off} if handed_off else {})}
    if summary["due"] or handed_off:
        logger.info("orders swept", extra={"sweep": summary})
    return summary


def resume(shop: Shop, policy: SweepPolicy, now: datetime | None = None) -> dict[str, Any]:
    """Start the payment wait of every unpaid order that has none, and the execution of every approved refund that
    has none (executions were lost, as when the local stage restarts from its kept tables): a payment wait starts
    with the time left of its pay deadline. Other orders need no execution (their timers are the sweeper's);
    returns the counts."""
    now = now or utcnow()
    horizon = now + timedelta(seconds=shop.timers.payment_timeout_seconds, days=1)
    days = _days(now.date() - timedelta(days=policy.order_sweep_lookback_days), horizon.date())
    outcomes: Counter[str] = Counter()
    for day in days:
        for order_id in shop.orders.due_order_ids(day, iso(horizon), policy.order_sweep_max_orders):
            try:
                order, refund = _current(shop, order_id)
                if order is not None and order.status == PENDING_PAYMENT:
                    running = shop.workflow.status(order_id) is not None
                    outcomes["running" if running else tasks.start_execution(shop, order_id)] += 1
                elif order is not None and _refund_never_started(shop, order, refund):
                    outcomes[tasks.start_refund(shop, str(order.refund_id))] += 1
            except Exception:  # the sweeper repairs it when it is overdue
                logger.exception("an order's execution could not be started again", extra={"order_id": order_id})
                outcomes["failed"] += 1
    return dict(outcomes)


def _execution_owns(order: Order, refund: Refund | None) -> bool:
    """Whether an execution's timer acts on the order's status first (the payment wait, an approved refund)."""
    approved = order.status == REFUNDING and refund is not None and refund.status != "PENDING"
    return order.status == PENDING_PAYMENT or approved


def _cutoff(shop: Shop, policy: SweepPolicy, order: Order, refund: Refund | None, now: datetime) -> datetime:
    """Due at or before this moment, the order is the sweeper's: now, or the grace period ago for an execution's."""
    grace = policy.order_sweep_grace_seconds if _execution_owns(order, refund) else 0
    return now - timedelta(seconds=grace)


def repair(shop: Shop, policy: SweepPolicy, order_id: str, now: datetime) -> str:
    """Bring one due order to where its timers say it should be; what was done ("final", "started", "driven",
    "waiting", "failed", "not_due"); a units case's timer (its id `REFUND#<id>`) is aftersales_timers'."""
    if is_case_key(order_id):
        return repair_case(shop, policy, order_id, now)
    order, refund = _current(shop, order_id)
    if order is None:
        return "final"
    if not order.due_at or order.due_at > iso(_cutoff(shop, policy, order, refund, now)):
        return "not_due"  # moved on since the index was read, or an execution's within its grace
    outcome = "waiting"
    try:
        if order.status == PENDING_PAYMENT:
            if shop.workflow.status(order_id) is None:  # its start was lost
                outcome = tasks.start_execution(shop, order_id)
        elif _refund_never_started(shop, order, refund):
            outcome = tasks.start_refund(shop, str(order.refund_id))
        if outcome != "started" and _drive(shop, policy, order_id, now):
            outcome = "driven"
    except Exception:  # one order's trouble must not stop the sweep: it stays due and is tried again later
        logger.exception("a due order could not be acted on", extra={"order_id": order_id})
        outcome = "failed"
    _move_due_time(shop, policy, order_id, now, retry_soon=outcome == "failed")
    return outcome


def _refund_never_started(shop: Shop, order: Order, refund: Refund | None) -> bool:
    """An approved refund without an execution (its start from the outbox was lost)."""
    return refund is not None and _execution_owns(order, refund) and not shop.workflow.refund_status(refund.refund_id)


def _current(shop: Shop, order_id: str) -> tuple[Order | None, Refund | None]:
    order = shop.orders.order(order_id)
    if order is None or order.is_final:
        return None, None
    return order, open_refund(shop, order)


def _drive(shop: Shop, policy: SweepPolicy, order_id: str, now: datetime) -> bool:
    """Do, step by step, what the timers past their deadline say; True if anything was done. A refund a step opened
    approved or approved is its execution's (started from the outbox), as long as the grace lasts."""
    acted = False
    for _ in range(MAX_STEPS):
        order, refund = _current(shop, order_id)
        if order is None:
            return acted
        deadline = state_deadline(order, refund, shop.timers.durations())
        if deadline is None or deadline > _cutoff(shop, policy, order, refund, utcnow() if acted else now):
            return acted
        _timer_action(shop, order, refund)
        acted = True
    return acted


def _timer_action(shop: Shop, order: Order, refund: Refund | None) -> None:
    """The step taken when the timer of the order's status runs out (an approved refund's: what its execution
    did not finish)."""
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
