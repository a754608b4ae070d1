"""When the timer of each status of an order runs out, from the durations the settings give (OrderTimers)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import parse_iso
from chalicelib.orders.domain import (
    DURATIONS,
    PAID,
    PENDING_PAYMENT,
    RECEIVED,
    REFUNDING,
    SHIPPED,
    Order,
    Refund,
    received_at,
)


@dataclass(frozen=True)
class OrderTimers:
    """How long each status may last (from the settings)."""

    payment_timeout_seconds: int = 1800
    ship_deadline_seconds: int = 604800
    auto_receive_seconds: int = 1209600
    review_window_seconds: int = 604800
    after_sales_auto_approve_seconds: int = 172800
    signed_auto_receive_seconds: int = 604800  # after the parcel is signed for (签收): receipt comes no later

    @classmethod
    def from_settings(cls, settings: Any) -> OrderTimers:
        return cls(**{f.name: int(getattr(settings, f.name)) for f in fields(cls)})

    def durations(self) -> dict[str, int]:
        """The durations of the timers after payment, by name."""
        return {name: int(getattr(self, name)) for name in DURATIONS}


def state_deadline(order: Order, refund: Refund | None, durations: dict[str, int]) -> datetime | None:
    """When the timer of the order's status runs out, from the times the order recorded (None: a final status).

    Unpaid: its pay_deadline; paid: the ship deadline; shipped: automatic receipt (or, once the carrier reported the
    parcel signed for, the shipment's auto_receive_at when that is earlier); received: the end of the return
    window; refunding: the automatic approval of a pending refund, or at once for an approved one (its refund is
    due through the channel now)."""
    if order.status == PENDING_PAYMENT:
        return parse_iso(order.pay_deadline)
    if order.status == PAID:
        paid_at = (order.payment or {}).get("paid_at") or order.created_at
        return parse_iso(paid_at) + timedelta(seconds=durations["ship_deadline_seconds"])
    if order.status == SHIPPED:
        shipment = order.shipment or {}
        deadline = parse_iso(shipment["shipped_at"]) + timedelta(seconds=durations["auto_receive_seconds"])
        signed = shipment.get("auto_receive_at")
        return min(deadline, parse_iso(signed)) if signed else deadline
    if order.status == RECEIVED:
        return received_at(order) + timedelta(seconds=durations["review_window_seconds"])
    if order.status == REFUNDING and refund is not None:
        if refund.status == "PENDING":
            return parse_iso(refund.requested_at) + timedelta(seconds=durations["after_sales_auto_approve_seconds"])
        return parse_iso(refund.decided_at or refund.requested_at)
    return None


def deadline_after(order: Order, refund: Refund | None, durations: dict[str, int], **changes: Any) -> datetime | None:
    """The deadline of the order once these changes (status, payment, shipment, timeline) are made."""
    return state_deadline(replace(order, **changes), refund, durations)
