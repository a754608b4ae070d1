"""Where orders and refunds are kept (the Protocol the services use): the Dynamo implementation is
chalicelib/orders/dynamo_repository.py, the only module touching the order models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.orders.domain import Order, Refund
from chalicelib.orders.steps import Effect, Step

MAX_LINES = 50  # sku updates + order + idempotency + coupon + 3 points actions stay under the 100-action limit


class PlacementRefused(Exception):
    """The order's transaction was cancelled: a condition failed or a concurrent transaction got in between."""


@dataclass(frozen=True)
class OrderUnits:
    """A units case's change of its order, written only while the order's cases_version is `version` (and its status
    `expected_status`, when given): its after_sales (the version counted up), its lines and amounts when given, the
    case's id appended to its refunds, and its new `status` at `at` (REFUNDED: out of the due index) when given."""

    order_id: str
    user_id: str
    version: int
    after_sales: dict[str, Any]
    expected_status: str | None = None
    items: list[dict[str, Any]] | None = None
    amounts: dict[str, Any] | None = None
    refund_id: str | None = None
    status: str | None = None
    at: str = ""


@dataclass(frozen=True)
class CaseMove:
    """A units case from one of `expected` to `status`, its timeline now `timeline`, due at `due` (None: out of the
    due index), with these fields set."""

    refund_id: str
    expected: tuple[str, ...]
    status: str
    timeline: list[dict[str, str]]
    due: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


class OrdersRepository(Protocol):
    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None: ...
    def order(self, order_id: str) -> Order | None: ...
    def place(self, order: Order, key: str, body_hash: str) -> None:
        """In one transaction: the order put, what placing takes (domain.placing_effects: stock >= quantity taken,
        the coupon locked, the points debited) and the idempotency record. PlacementRefused if any of it could not
        be done (nothing changes)."""

    def advance(self, step: Step) -> bool:
        """The step at once: the order from step.expected to step.status with its fields set, the timeline
        appended, due at step.due, and its effects; False if the order is not in step.expected (nor, for a payment,
        before its pay deadline; nor, for a refund's step, on that refund)."""

    def hold_token(self, order_id: str, field: str, token: str, expected: str, due: str | None = None) -> bool:
        """Keep a task token on the order while it is in `expected` (and, given `due`, its due time); False
        otherwise."""

    def reschedule(self, order_id: str, expected: str, due: str) -> bool:
        """The order is due at `due` while it is in `expected`; False otherwise."""

    def sign_for(self, order_id: str, shipment: dict[str, Any], due: str, expected_due: str | None) -> bool:
        """The shipment replaced (now signed for) and the order due at `due`, while it is SHIPPED and still due at
        `expected_due`; False otherwise."""

    def due_order_ids(self, day: str, before: str, limit: int) -> list[str]:
        """Orders due on `day` (`YYYY-MM-DD`) at or before `before`, at most `limit`, earliest first per shard."""

    def due_partitions(self, day: str) -> list[str]:
        """The partitions of the due index that hold the orders due on `day` (`YYYY-MM-DD`)."""

    def due_page(
        self, partition: str, before: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """At most `limit` orders of one due partition due at or before `before`, earliest first, from `start`; and
        where the next page starts (None: nothing more)."""

    def open_refund(self, step: Step, refund: Refund) -> bool:
        """The order's step to REFUNDING with the refund put (in its status: PENDING, or APPROVED when the system
        opens it) and remembered on the order, at once; False if the order is no longer in step.expected."""

    def approve_refund(self, refund: Refund, at: str, due: str) -> bool:
        """PENDING -> APPROVED and its REFUNDING order due at `due`, at once; False if not PENDING."""

    def reject_refund(self, step: Step, refund: Refund, reason: str) -> bool:
        """PENDING -> REJECTED with the reason, and the order's step back, at once; False otherwise."""

    def complete_refund(self, step: Step, refund: Refund) -> bool:
        """APPROVED -> REFUNDED and the order's step to REFUNDED (with what it gives back), at once; False
        otherwise."""

    def refund(self, refund_id: str) -> Refund | None: ...
    def refunds_by_ids(self, refund_ids: list[str]) -> list[Refund]:
        """These refunds, in the order of the ids (missing ones left out)."""

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Refund], dict[str, Any] | None]:
        """Refunds newest first, all or in one status."""

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """A user's orders ("user": `user_id`; "user_status": `<user_id>#<STATUS>`), newest first."""

    def orders_by_ids(self, order_ids: list[str]) -> list[Order]:
        """These orders, in the order of the ids (missing ones left out)."""

    def order_id_by_no(self, order_no: str) -> str | None:
        """The order with this order number, if any."""

    def created_keys(self, index: str, hash_key: str, after: str, before: str, limit: int) -> list[str]:
        """`<created_at>#<order_id>` keys, newest first, with after <= key < before, at most `limit`: a user's
        ("user": `user_id`, "user_status": `<user_id>#<STATUS>`) or every order placed in one Asia/Shanghai month
        ("created": `YYYY-MM`)."""

    def forget_buyer(self, order_id: str, address: dict[str, Any]) -> None:
        """Replace the order's address with `address` (what is kept of it) and empty its remark."""

    # -- units cases (chalicelib/orders/dynamo_cases.py) ------------------------------------------------------------

    def open_case(self, refund: Refund, change: OrderUnits) -> str | None:
        """The case put and its order's units changed, at once; None, or which part refused: "case", "order" (its
        units or status changed since read), "effect"."""

    def move_case(self, move: CaseMove, change: OrderUnits | None, effects: tuple[Effect, ...] = ()) -> str | None:
        """The case moved, its order's units changed (when given) and the effects, at once; None, or which part
        refused ("case", "order", "effect": a SKU without the stock)."""

    def cancel_refund(self, step: Step, refund: Refund) -> bool:
        """A whole-order case PENDING -> CANCELLED by the buyer and the order's step back, at once; False
        otherwise."""

    def case_due(self, refund_id: str, expected: str, due: str | None) -> bool:
        """The case due at `due` (None: out of the due index) while it is in `expected`; False otherwise."""

    def cases_page(
        self, status: str | None, case_type: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Refund], dict[str, Any] | None]:
        """Cases newest first, all or in one status, all or of one type."""
