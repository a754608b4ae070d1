"""The sweeper's part in units cases (chalicelib/orders/aftersales.py): a case waits on a timer in gsi_due, with the
orders, under its pk `REFUND#<id>`: while PENDING, its automatic approval (AFTER_SALES_AUTO_APPROVE_SECONDS after it
was asked for, `"by": "system"`); while its money is due, its refund execution, which the sweeper starts when it
never did, or whose steps it runs itself, ORDER_SWEEP_GRACE_SECONDS after the money fell due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import iso, parse_iso
from chalicelib.observability import logger
from chalicelib.orders import aftersales, tasks
from chalicelib.orders.aftersales_domain import PENDING, is_units_case, money_due
from chalicelib.orders.service import Shop

CASE_PREFIX = "REFUND#"


def is_case_key(due_id: str) -> bool:
    """Whether an id the due index gave is a units case's (`REFUND#<id>`) rather than an order's."""
    return due_id.startswith(CASE_PREFIX)


def repair_case(shop: Shop, policy: Any, due_id: str, now: datetime) -> str:
    """Bring one due case to where its timer says: "driven", "started", "not_due", "final" or "failed"."""
    refund_id = due_id.removeprefix(CASE_PREFIX)
    refund = shop.orders.refund(refund_id)
    if refund is None or not is_units_case(refund):
        return "final"
    outcome = "not_due"
    try:
        if refund.status == PENDING:
            if _approve_at(shop, refund.requested_at) <= now and aftersales.approve_units(shop, refund, "system"):
                logger.info("after-sales case approved by the system", extra={"refund_id": refund_id})
                outcome = "driven"
        elif money_due(refund):
            fell_due = parse_iso(refund.due_at) if refund.due_at else now
            if fell_due + timedelta(seconds=int(policy.order_sweep_grace_seconds)) <= now:
                if not shop.workflow.refund_status(refund_id):
                    outcome = tasks.start_refund(shop, refund_id)
                else:
                    tasks.refund_payment(shop, refund.order_id, refund_id)
                    tasks.complete_refund(shop, refund.order_id, refund_id)
                    outcome = "driven"
    except Exception:  # one case's trouble must not stop the sweep: it stays due and is tried again later
        logger.exception("a due after-sales case could not be acted on", extra={"refund_id": refund_id})
        outcome = "failed"
    _move_due_time(shop, policy, refund_id, now, outcome)
    return outcome


def _move_due_time(shop: Shop, policy: Any, refund_id: str, now: datetime, outcome: str) -> None:
    """Due next at its approval, or looked at again ORDER_SWEEP_RETRY_SECONDS on while its money is due (or after a
    failure), or out of the index."""
    refund = shop.orders.refund(refund_id)
    if refund is None:
        return
    retry = iso(now + timedelta(seconds=int(policy.order_sweep_retry_seconds)))
    if refund.status == PENDING:
        approve_at = _approve_at(shop, refund.requested_at)
        due: str | None = retry if outcome == "failed" or approve_at <= now else iso(approve_at)
    elif money_due(refund):
        due = refund.due_at if outcome == "not_due" and refund.due_at else retry
    else:
        due = None
    if due != refund.due_at:
        shop.orders.case_due(refund_id, refund.status, due)


def _approve_at(shop: Shop, requested_at: str) -> datetime:
    return parse_iso(requested_at) + timedelta(seconds=shop.timers.after_sales_auto_approve_seconds)
