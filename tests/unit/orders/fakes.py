"""In-memory fakes of what an order touches (orders and refunds, points, coupons, the workflow, the paying channel),
and the orders table's stream as the outbox sees it."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.orders import outbox
from tests.unit.test_coupons_fakes import FakeCouponsRepository

ORDER_ID = "o_1"


class FakePoints:
    """Postings by ref, once each."""

    def __init__(self) -> None:
        self.refs: dict[str, int] = {}

    def post(self, user_id: str, entry: dict[str, Any]) -> None:
        from chalicelib.points.domain import AlreadyPosted

        if entry["ref"] in self.refs:
            raise AlreadyPosted()
        self.refs[entry["ref"]] = entry["delta"]

    def balance(self, user_id: str) -> int | None:
        return sum(self.refs.values())


class FakeOrdersRepository:
    """Orders and refunds in dicts; each status change is conditional on the expected status, as the Dynamo one is,
    and posts its points to the points fake as the Dynamo one does in the same transaction."""

    def __init__(self, points: FakePoints | None = None, coupons: FakeCouponsRepository | None = None) -> None:
        self.points = points or FakePoints()
        self.coupons = coupons or FakeCouponsRepository()
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.stock_returned: dict[str, int] = {}
        self.coupons_released: list[str] = []
        self.coupons_used: list[str] = []
        self.sales: dict[str, int] = {}
        self.keys: dict[tuple[str, str], dict[str, Any]] = {}

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self.keys.get((user_id, key))

    def order(self, order_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.orders.get(order_id))

    def _move(self, order_id: str, expected: str, status: str, at: str) -> bool:
        order = self.orders.get(order_id)
        if order is None or order["status"] != expected:
            return False
        order["status"] = status
        order["timeline"].append({"status": status, "at": at})
        return True

    def _due(self, order_id: str, due: str | None) -> None:
        self.orders[order_id]["due_at"] = due

    def cancel(self, order: dict[str, Any], at: str) -> bool:
        if not self._move(order["order_id"], "PENDING_PAYMENT", "CANCELLED", at):
            return False
        self._due(order["order_id"], None)
        for line in order["items"]:
            self.stock_returned[line["sku_id"]] = self.stock_returned.get(line["sku_id"], 0) + line["quantity"]
        if order["coupon_id"]:
            self.coupons_released.append(order["coupon_id"])
        return True

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str, due: str) -> bool:
        stored = self.orders.get(order["order_id"])
        if stored is None or stored.get("pay_deadline", "9999") <= at:
            return False
        if not self._move(order["order_id"], "PENDING_PAYMENT", "PAID", at):
            return False
        self.orders[order["order_id"]]["payment"] = payment
        self._due(order["order_id"], due)
        if order["coupon_id"]:
            self.coupons_used.append(order["coupon_id"])
        return True

    def transition(
        self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any], due: str | None
    ) -> bool:
        if not self._move(order_id, expected, status, at):
            return False
        self.orders[order_id].update(changes)
        self._due(order_id, due)
        return True

    def hold_token(self, order_id: str, field: str, token: str, expected: str, due: str | None = None) -> bool:
        order = self.orders.get(order_id)
        if order is None or order["status"] != expected:
            return False
        order[field] = token
        if due:
            order["due_at"] = due
        return True

    def reschedule(self, order_id: str, expected: str, due: str) -> bool:
        order = self.orders.get(order_id)
        if order is None or order["status"] != expected:
            return False
        order["due_at"] = due
        return True

    def due_order_ids(self, day: str, before: str, limit: int) -> list[str]:
        due = sorted((o["due_at"], o["order_id"]) for o in self.orders.values() if o.get("due_at"))
        return [order_id for at, order_id in due if at.startswith(day) and at <= before][:limit]

    def settle(self, order: dict[str, Any], at: str, earned_points: int) -> bool:
        if not self._move(order["order_id"], "RECEIVED", "COMPLETED", at):
            return False
        self._due(order["order_id"], None)
        if earned_points:
            self.points.post(order["user_id"], {"ref": f"order:{order['order_id']}:earn", "delta": earned_points})
        for line in order["items"]:
            self.sales[line["product_id"]] = self.sales.get(line["product_id"], 0) + line["quantity"]
        return True

    def request_refund(self, order: dict[str, Any], refund: dict[str, Any], at: str, due: str) -> bool:
        if not self._move(order["order_id"], refund["from_status"], "REFUNDING", at):
            return False
        stored = self.orders[order["order_id"]]
        stored.update(refund_id=refund["refund_id"], refund_from=refund["from_status"], due_at=due)
        stored["refund_ids"] = [*stored.get("refund_ids", []), refund["refund_id"]]
        self.refunds[refund["refund_id"]] = copy.deepcopy(refund)
        return True

    def refund(self, refund_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.refunds.get(refund_id))

    def refunds_by_ids(self, refund_ids: list[str]) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.refunds[refund_id]) for refund_id in refund_ids if refund_id in self.refunds]

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        chosen = [r for r in self.refunds.values() if status is None or r["status"] == status]
        return copy.deepcopy(sorted(chosen, key=lambda r: r["requested_at"], reverse=True)[:limit]), None

    def approve_refund(self, refund: dict[str, Any], at: str, due: str) -> bool:
        stored = self.refunds.get(refund["refund_id"])
        if stored is None or stored["status"] != "PENDING":
            return False
        stored.update(status="APPROVED", decided_at=at)
        self._due(refund["order_id"], due)
        return True

    def reject_refund(self, refund: dict[str, Any], reason: str, at: str, due: str) -> bool:
        stored, order = self.refunds.get(refund["refund_id"]), self.orders.get(refund["order_id"])
        if (
            stored is None
            or stored["status"] != "PENDING"
            or order is None
            or order["refund_id"] != stored["refund_id"]
        ):
            return False
        if not self._move(order["order_id"], "REFUNDING", stored["from_status"], at):
            return False
        stored.update(status="REJECTED", decided_at=at, reject_reason=reason)
        self._due(order["order_id"], due)
        return True

    def complete_refund(
        self, order: dict[str, Any], refund: dict[str, Any], at: str, coupon_back: str | None = None
    ) -> bool:
        stored = self.refunds[refund["refund_id"]]
        current = self.orders[order["order_id"]]
        if stored["status"] != "APPROVED" or current["refund_id"] != stored["refund_id"]:
            return False
        if current["status"] != "REFUNDING":
            return False
        if coupon_back and not self.coupons.give_back(order["user_id"], coupon_back, order["order_id"]):
            return False  # the transaction's condition on the coupon failed: nothing changes
        if not self._move(order["order_id"], "REFUNDING", "REFUNDED", at):
            return False
        stored.update(status="REFUNDED", refunded_at=at)
        self._due(order["order_id"], None)
        for line in order["items"]:
            self.stock_returned[line["sku_id"]] = self.stock_returned.get(line["sku_id"], 0) + line["quantity"]
        if order["points_used"]:
            self.points.post(
                order["user_id"], {"ref": f"order:{order['order_id']}:refund", "delta": order["points_used"]}
            )
        return True


class RecordingWorkflow:
    """Records what the app asks of Step Functions; `executions` holds the status of each started one."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []
        self.executions: dict[str, str] = {}

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        self.answers.append(("start", order_id, payload))
        self.executions.setdefault(order_id, "RUNNING")

    def status(self, order_id: str) -> str | None:
        return self.executions.get(order_id)

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        self.answers.append(("succeed", token, output))
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.answers.append(("fail", token, error))
        return True


def an_order(status: str = "PENDING_PAYMENT", **overrides: Any) -> dict[str, Any]:
    return {
        "order_id": ORDER_ID, "user_id": "u_1", "status": status, "coupon_id": "c_1", "points_used": 0,
        "created_at": "2026-01-01T00:00:00Z", "pay_deadline": "2999-01-01T00:00:00Z", "due_at": None,
        "items": [{"sku_id": "p_1-01", "product_id": "p_1", "quantity": 2}],
        "amounts": {"payable_fen": 19800, "shipping_fen": 0}, "timeline": [{"status": status, "at": "t0"}],
        "payment": None, "shipment": None, "payment_token": None, "shipment_token": None, "receipt_token": None,
        "window_token": None, "refund_token": None, "refund_id": None, "refund_from": None, "refund_ids": [],
        **overrides,
    }  # fmt: skip


class FakeChannelRefunds:
    """A paying channel that refunds each refund id once, answering `answers` in turn (then SUCCESS)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.refunded: dict[str, int] = {}
        self.answers: list[str | Exception] = []

    def refund(self, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str) -> str:
        self.calls.append((order["order_id"], refund_id, amount_fen))
        answer = self.answers.pop(0) if self.answers else "SUCCESS"
        if isinstance(answer, Exception):
            raise answer
        if answer == "SUCCESS":
            self.refunded.setdefault(refund_id, amount_fen)
        return answer


def a_used_coupon(days_left: int = 30, coupon_id: str = "c_1", order_id: str = ORDER_ID) -> dict[str, Any]:
    """The order's coupon once it was paid: used by it, valid for `days_left` more days (negative: expired)."""
    from datetime import timedelta

    from chalicelib.clock import iso, utcnow

    now = utcnow()
    return {"coupon_id": coupon_id, "template_id": "t_1", "name": "满99减10", "type": "amount_off",
            "threshold_fen": 9900, "amount_off_fen": 1000, "scope": "all", "scope_ids": [],
            "valid_from": iso(now - timedelta(days=40)), "valid_to": iso(now + timedelta(days=days_left)),
            "status": "used", "claimed_at": iso(now - timedelta(days=40)), "source": "claim",
            "locked_by": order_id, "locked_at": iso(now), "used_at": iso(now)}  # fmt: skip


class FakeOrdersStream:
    """The orders table's stream over FakeOrdersRepository: each write of the repository (as each write or
    transaction of the Dynamo one) adds the outbox messages of the orders and refunds it changed."""

    WRITES = ("cancel", "pay", "transition", "hold_token", "reschedule", "settle", "request_refund", "approve_refund",
              "reject_refund", "complete_refund")  # fmt: skip

    def __init__(self, orders: FakeOrdersRepository) -> None:
        self.pending: list[dict[str, Any]] = []
        for name in self.WRITES:
            setattr(orders, name, self._recorded(orders, getattr(orders, name)))

    def _recorded(self, repo: FakeOrdersRepository, write: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            before = copy.deepcopy((repo.orders, repo.refunds))
            result = write(*args, **kwargs)
            self._changed(before, (repo.orders, repo.refunds))
            return result

        return recorded

    def _changed(self, before: tuple[dict[str, Any], dict[str, Any]], after: tuple[dict[str, Any], ...]) -> None:
        (old_orders, old_refunds), (orders, refunds) = before, after
        for order_id in orders.keys() | old_orders.keys():
            if orders.get(order_id) != old_orders.get(order_id):
                new = copy.deepcopy(orders.get(order_id))
                self.pending += outbox.messages_for_order_change(old_orders.get(order_id), new)
        for refund_id in refunds.keys() | old_refunds.keys():
            if refunds.get(refund_id) != old_refunds.get(refund_id):
                new = copy.deepcopy(refunds.get(refund_id))
                self.pending += outbox.messages_for_refund_change(old_refunds.get(refund_id), new)

    def messages(self) -> list[dict[str, Any]]:
        """The outbox messages of the writes since the last call."""
        found, self.pending = self.pending, []
        return found


class RecordingNotifier:
    """Texts to buyers, kept."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def tell(self, order: dict[str, Any], text: str) -> bool:
        self.texts.append((order["order_id"], text))
        return True
