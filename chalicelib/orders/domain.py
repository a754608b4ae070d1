"""What an order is and the rules of its life, independent of storage: plain values and functions, no I/O.

An order moves through one table, TRANSITIONS: (status, event) -> the status it reaches and what that gives back or
takes. The repository writes a step (chalicelib/orders/steps.py: the status change, the fields it sets, its effects)
conditionally and at once; the services read, decide with the functions here, and ask for steps.

    PENDING_PAYMENT --pay--> PAID --ship--> SHIPPED --receive--> RECEIVED --settle--> COMPLETED
          \\--cancel (or the pay deadline)--> CANCELLED
    PAID | SHIPPED | RECEIVED --request_refund--> REFUNDING --complete_refund--> REFUNDED
                                                   REFUNDING --reject_refund--> the status it came from

The timers (the pay deadline, the ship deadline, automatic receipt, the return window, automatic approval of a
refund) are chalicelib/orders/deadlines.py; what a refund gives back is `refund_amount_fen` and `coupon_given_back`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.clock import parse_iso
from chalicelib.errors import Conflict, InvalidState
from chalicelib.points.rules import PointsRules, points_earned_for

PENDING_PAYMENT, PAID, SHIPPED, RECEIVED = "PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED"
REFUNDING, COMPLETED, CANCELLED, REFUNDED = "REFUNDING", "COMPLETED", "CANCELLED", "REFUNDED"
FINAL_STATUSES = frozenset({CANCELLED, COMPLETED, REFUNDED})
# Not final: REFUNDING is an open after-sales case; RECEIVED is still in its return window.
OPEN_STATUSES = (PENDING_PAYMENT, PAID, SHIPPED, RECEIVED, REFUNDING)
REFUNDABLE_FROM = {"refund_only": (PAID,), "return_refund": (SHIPPED, RECEIVED)}
TOKEN_FIELDS = ("payment_token", "shipment_token", "receipt_token", "window_token", "refund_token")
DURATIONS = (  # the timers after payment, the sweeper's (chalicelib/orders/deadlines.py: OrderTimers)
    "ship_deadline_seconds",
    "auto_receive_seconds",
    "review_window_seconds",
    "after_sales_auto_approve_seconds",
)
SHIP_DEADLINE_REASON = "未在发货期限内发货，系统自动取消并退款"
# What made the order: the shop's checkout, a points exchange, or a won flash-sale attempt (its `source_ref`).
NORMAL, POINTS_EXCHANGE, FLASH_SALE = "normal", "points_exchange", "flash_sale"


class OrderEvent(StrEnum):
    """What happens to an order."""

    PAY = "pay"
    CANCEL = "cancel"  # by the buyer, or when the pay deadline passes
    SHIP = "ship"
    RECEIVE = "receive"  # by the buyer, or when the receipt timer runs out
    SETTLE = "settle"  # the return window closed
    REQUEST_REFUND = "request_refund"  # by the buyer, or by the system when the ship deadline passes
    REJECT_REFUND = "reject_refund"
    COMPLETE_REFUND = "complete_refund"  # the money went back through the paying channel


class Gives(StrEnum):
    """What a step gives back or takes beside the status, in the same transaction."""

    RESTOCK = "restock"  # the lines' quantities back to their SKUs
    RELEASE_COUPON = "release_coupon"  # the coupon the unpaid order held, usable again
    USE_COUPON = "use_coupon"  # the coupon the order held, used
    GIVE_BACK_COUPON = "give_back_coupon"  # the used coupon, unused again (coupon_given_back says when)
    RETURN_POINTS = "return_points"  # the points the order used, credited back
    EARN_POINTS = "earn_points"  # the points the order earns (points.rules), credited
    COUNT_SALES = "count_sales"  # the quantities, to the products' sales


BACK = "BACK"  # the status a rejected refund's order came from
TRANSITIONS: dict[tuple[str, OrderEvent], tuple[str, tuple[Gives, ...]]] = {
    (PENDING_PAYMENT, OrderEvent.PAY): (PAID, (Gives.USE_COUPON,)),
    (PENDING_PAYMENT, OrderEvent.CANCEL): (CANCELLED, (Gives.RESTOCK, Gives.RELEASE_COUPON, Gives.RETURN_POINTS)),
    (PAID, OrderEvent.SHIP): (SHIPPED, ()),
    (SHIPPED, OrderEvent.RECEIVE): (RECEIVED, ()),
    (RECEIVED, OrderEvent.SETTLE): (COMPLETED, (Gives.EARN_POINTS, Gives.COUNT_SALES)),
    (PAID, OrderEvent.REQUEST_REFUND): (REFUNDING, ()),
    (SHIPPED, OrderEvent.REQUEST_REFUND): (REFUNDING, ()),
    (RECEIVED, OrderEvent.REQUEST_REFUND): (REFUNDING, ()),
    (REFUNDING, OrderEvent.REJECT_REFUND): (BACK, ()),
    (REFUNDING, OrderEvent.COMPLETE_REFUND): (
        REFUNDED,
        (Gives.RESTOCK, Gives.RETURN_POINTS, Gives.GIVE_BACK_COUPON),
    ),
}


DONE = {
    OrderEvent.PAY: "paid",
    OrderEvent.CANCEL: "cancelled",
    OrderEvent.SHIP: "shipped",
    OrderEvent.RECEIVE: "received",
    OrderEvent.SETTLE: "settled",
    OrderEvent.REQUEST_REFUND: "refunded",
    OrderEvent.REJECT_REFUND: "given back its refund",
    OrderEvent.COMPLETE_REFUND: "refunded",
}


class NotAllowed(InvalidState):
    """The order's status does not allow this (409 INVALID_STATE)."""


def next_status(order: Order, event: OrderEvent, refund: Refund | None = None) -> str:
    """The status `event` takes the order to (TRANSITIONS), or NotAllowed (409) in its status."""
    found = TRANSITIONS.get((order.status, event))
    if found is None:
        raise NotAllowed(f"An order that is {order.status} cannot be {DONE[event]}")
    if found[0] == BACK:
        if refund is None:
            raise ValueError("a rejected refund names the status to go back to")
        return refund.from_status
    return found[0]


# -- values --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    """One line of an order: what was bought, and what it cost when it was placed."""

    sku_id: str
    product_id: str
    title: str
    quantity: int
    list_price_fen: int
    unit_price_fen: int
    line_total_fen: int
    payable_fen: int
    attributes: dict[str, str] = field(default_factory=dict)
    image_url: str | None = None
    promotion_id: str | None = None
    refunded_quantity: int = 0

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> OrderLine:
        values: dict[str, Any] = {f.name: record[f.name] for f in fields(cls) if f.name in record}
        return cls(**{**values, "attributes": dict(record.get("attributes") or {})})

    def record(self) -> dict[str, Any]:
        """The line as the API shows it (and the order item keeps it)."""
        return {
            "sku_id": self.sku_id,
            "product_id": self.product_id,
            "title": self.title,
            "attributes": dict(self.attributes),
            "image_url": self.image_url,
            "quantity": self.quantity,
            "list_price_fen": self.list_price_fen,
            "unit_price_fen": self.unit_price_fen,
            "promotion_id": self.promotion_id,
            "line_total_fen": self.line_total_fen,
            "payable_fen": self.payable_fen,
            "refunded_quantity": self.refunded_quantity,
        }


@dataclass(frozen=True)
class Order:
    """An order as it stands: its lines and amounts (fixed when placed), its status and what moved it there."""

    order_id: str
    order_no: str
    user_id: str
    status: str
    created_at: str
    pay_deadline: str
    lines: tuple[OrderLine, ...]
    amounts: dict[str, int]  # items, discount, promotion_discount, coupon_discount, points_deduction, shipping,
    # payable: every one in fen
    address: dict[str, Any] | None = None
    remark: str = ""
    coupon_id: str | None = None
    points_used: int = 0
    timeline: tuple[dict[str, str], ...] = ()  # {"status", "at"} each, oldest first
    payment: dict[str, Any] | None = None  # payment_id, amount_fen, paid_at
    shipment: dict[str, Any] | None = None  # carrier, tracking_no, shipped_at
    tokens: dict[str, str | None] = field(default_factory=dict)  # TOKEN_FIELDS: the task tokens kept
    refund_id: str | None = None  # the refund of the current (or last) after-sales case
    refund_from: str | None = None
    refund_ids: tuple[str, ...] = ()
    settled_at: str | None = None
    due_at: str | None = None  # when the timer of its status runs out (the sweeper's index)
    kind: str = NORMAL  # NORMAL | POINTS_EXCHANGE | FLASH_SALE
    source_ref: str | None = None  # a flash-sale order: the attempt that won it; a points exchange: the exchange
    points_rules: dict[str, int] | None = None  # the points rules it was placed under (None: the defaults)
    after_sales: dict[str, Any] = field(default_factory=dict)  # units held by cases: chalicelib/orders/aftersales*

    @property
    def takes_regular_stock(self) -> bool:
        """A flash-sale order's units were set aside from the SKU when its session was made: placing, cancelling
        or refunding it never touches the SKU's stock; nor does a points-exchange order (its units are a reward's)."""
        return self.kind == NORMAL

    @property
    def payable_fen(self) -> int:
        return int(self.amounts["payable_fen"])

    @property
    def shipping_fen(self) -> int:
        return int(self.amounts["shipping_fen"])

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def token(self, name: str) -> str | None:
        return self.tokens.get(name)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Order:
        """From the order's record (its item as the repository reads it)."""
        return cls(
            order_id=record["order_id"],
            order_no=record.get("order_no") or "",
            user_id=record["user_id"],
            status=record["status"],
            created_at=record["created_at"],
            pay_deadline=record["pay_deadline"],
            lines=tuple(OrderLine.from_record(line) for line in record.get("items") or []),
            amounts=dict(record["amounts"]),
            address=record.get("address"),
            remark=record.get("remark") or "",
            coupon_id=record.get("coupon_id"),
            points_used=int(record.get("points_used") or 0),
            timeline=tuple(dict(entry) for entry in record.get("timeline") or []),
            payment=record.get("payment"),
            shipment=record.get("shipment"),
            tokens={name: record.get(name) for name in TOKEN_FIELDS},
            refund_id=record.get("refund_id"),
            refund_from=record.get("refund_from"),
            refund_ids=tuple(record.get("refund_ids") or ()),
            settled_at=record.get("settled_at"),
            due_at=record.get("due_at"),
            kind=record.get("kind") or NORMAL,
            source_ref=record.get("source_ref"),
            points_rules=record.get("points_rules"),
            after_sales=dict(record.get("after_sales") or {}),
        )

    def record(self) -> dict[str, Any]:
        """Every field, as the order item keeps it (and analytics events read it)."""
        return {
            "order_id": self.order_id,
            "order_no": self.order_no,
            "user_id": self.user_id,
            "status": self.status,
            "created_at": self.created_at,
            "created_key": f"{self.created_at}#{self.order_id}",
            "pay_deadline": self.pay_deadline,
            "items": [line.record() for line in self.lines],
            "amounts": dict(self.amounts),
            "address": self.address,
            "remark": self.remark,
            "coupon_id": self.coupon_id,
            "points_used": self.points_used,
            "timeline": [dict(entry) for entry in self.timeline],
            "payment": self.payment,
            "shipment": self.shipment,
            **{name: self.tokens.get(name) for name in TOKEN_FIELDS},
            "refund_id": self.refund_id,
            "refund_from": self.refund_from,
            "refund_ids": list(self.refund_ids),
            "settled_at": self.settled_at,
            "due_at": self.due_at,
            "kind": self.kind,
            "source_ref": self.source_ref,
            "points_rules": self.points_rules,
            "after_sales": dict(self.after_sales),
        }

    def view(self, admin: bool = False) -> dict[str, Any]:
        """What the API shows of it (the admin sees whose it is too)."""
        record = self.record()
        shown = {name: record[name] for name in PUBLIC_FIELDS}
        return {**shown, "user_id": self.user_id} if admin else shown


PUBLIC_FIELDS = (
    "order_id",
    "order_no",
    "kind",
    "status",
    "items",
    "amounts",
    "pay_deadline",
    "created_at",
    "address",
    "remark",
    "coupon_id",
    "points_used",
    "timeline",
    "shipment",
    "refund_id",
)


@dataclass(frozen=True)
class Refund:
    """An after-sales case of one order: refund_only, return_refund, exchange or repair; of the whole order (scope
    "order", no items) or of some units (scope "units": chalicelib/orders/aftersales_domain.py)."""

    refund_id: str
    order_id: str
    user_id: str
    type: str  # refund_only | return_refund
    reason: str
    status: str  # PENDING -> APPROVED -> REFUNDED, or PENDING -> REJECTED
    from_status: str  # the order's status when it was asked for
    amount_fen: int
    requested_at: str
    decided_at: str | None = None
    reject_reason: str | None = None
    refunded_at: str | None = None
    requested_by: str = "customer"  # or "system" (the ship deadline passed)
    scope: str = "order"  # or "units"
    items: tuple[dict[str, Any], ...] = ()  # {"sku_id", "quantity", "to_sku_id", "amount_fen"} each
    images: tuple[str, ...] = ()
    timeline: tuple[dict[str, str], ...] = ()  # {"status", "at", "by"} each (scope "units")
    return_shipment: dict[str, Any] | None = None
    reship: dict[str, Any] | None = None
    due_at: str | None = None  # a units case waiting on a timer (the sweeper's index)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Refund:
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in record.items() if name in known}
        return cls(**{**values, "requested_by": record.get("requested_by") or "customer"})

    def record(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def view(self, admin: bool = False) -> dict[str, Any]:
        """What the API shows of it (the admin sees whose it is too)."""
        shown = {name: getattr(self, name) for name in REFUND_FIELDS}
        return {**shown, "user_id": self.user_id} if admin else shown


REFUND_FIELDS = (
    "refund_id", "order_id", "type", "reason", "status", "amount_fen", "requested_at", "decided_at", "reject_reason",
    "refunded_at", "items", "images", "return_shipment", "reship",
)  # fmt: skip


def received_at(order: Order) -> datetime:
    """When it was received: the first RECEIVED of the timeline (a rejected return appends another)."""
    return parse_iso(next(entry["at"] for entry in order.timeline if entry["status"] == RECEIVED))


# -- refunds -------------------------------------------------------------------------------------------------------


def refund_amount_fen(order: Order, refund_type: str) -> int:
    """refund_only (nothing shipped): everything paid; return_refund: everything paid but the shipping, which was
    used up; less what units cases refunded already."""
    refunded = int(order.amounts.get("refunded_fen") or 0)
    if refund_type == "refund_only":
        return max(order.payable_fen - refunded, 0)
    return max(order.payable_fen - order.shipping_fen - refunded, 0)


def holds_case_units(order: Order) -> bool:
    """Whether an open after-sales case holds some of the order's units."""
    return any((order.after_sales.get("held") or {}).values())


def refund_refusal(order: Order, refund_type: str, window_seconds: int, now: datetime) -> Exception | None:
    """Why this order cannot have a refund of this type now, or None: refund_only while PAID, return_refund once
    SHIPPED or RECEIVED within the return window; never a second open one."""
    if order.status == REFUNDING:
        return Conflict("This order has an open refund already")
    if holds_case_units(order):
        return Conflict("Some units of this order are in open after-sales cases; ask for the other units by items")
    if order.status not in REFUNDABLE_FROM[refund_type]:
        allowed = " or ".join(REFUNDABLE_FROM[refund_type])
        return InvalidState(f"A {refund_type} refund needs an order that is {allowed}; this one is {order.status}")
    if order.status == RECEIVED and received_at(order) + timedelta(seconds=window_seconds) <= now:
        return InvalidState("The return window of this order has closed")
    return None


def coupon_given_back(order: Order, refund: Refund, coupon: dict[str, Any] | None, now: datetime) -> str | None:
    """The order's coupon when this refund gives it back: a refund of everything paid before the order shipped
    (from PAID), while the coupon is still valid. A partial refund, or one after shipping, keeps it used; a coupon
    given back already (a retried task) or not this order's to give is left alone."""
    full = refund.amount_fen >= order.payable_fen
    if not order.coupon_id or refund.from_status != PAID or not full or coupon is None:
        return None
    if coupon.get("locked_by") != order.order_id or coupon["status"] != "used":
        return None
    return order.coupon_id if now < parse_iso(coupon["valid_to"]) else None


def points_earned(order: Order) -> int:
    """What the order earns once its return window closes: on what was paid for the goods (not the shipping) but
    the units refunded or in open refund cases."""
    allocated = sum((order.after_sales.get("money_fen") or {}).values())
    goods = order.payable_fen - order.shipping_fen - allocated
    return points_earned_for(max(goods, 0), PointsRules.from_record(order.points_rules))
