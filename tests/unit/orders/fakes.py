"""In-memory fakes of what an order touches (orders and refunds, points, coupons, the workflow, the paying channel),
and the orders table's stream as the outbox sees it."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.clock import shanghai_month
from chalicelib.dynamo import PendingRead
from chalicelib.orders import outbox
from chalicelib.orders.domain import Order, Refund
from chalicelib.orders.steps import CountSales, CouponChange, PostPoints, Restock, Step
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

    def balance_read(self, user_id: str) -> PendingRead[int | None]:
        return PendingRead(None, None, lambda _: self.balance(user_id))


class FakeOrdersRepository:
    """Orders and refunds kept as their records (dicts the tests may change); each step is conditional on what the
    Dynamo one's is conditional on, and its effects land in the fakes of points and coupons and in counters."""

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

    def order(self, order_id: str) -> Order | None:
        record = self.orders.get(order_id)
        return Order.from_record(copy.deepcopy(record)) if record is not None else None

    def place(self, order: Order, key: str, body_hash: str) -> None:
        self.orders[order.order_id] = order.record()
        self.keys[(order.user_id, key)] = {"order_id": order.order_id, "body_hash": body_hash}

    def _can(self, step: Step) -> bool:
        stored = self.orders.get(step.order_id)
        if stored is None or stored["status"] != step.expected:
            return False
        if step.paid_before is not None and stored.get("pay_deadline", "9999") <= step.paid_before:
            return False
        return step.refund_id is None or stored.get("refund_id") == step.refund_id

    def _apply(self, step: Step) -> None:
        stored = self.orders[step.order_id]
        stored["status"] = step.status
        stored["timeline"].append({"status": step.status, "at": step.at})
        stored["due_at"] = step.due
        for name, value in step.fields.items():
            stored[name] = [*stored.get("refund_ids", []), *value] if name == "refund_ids" else value
        for effect in step.effects:
            if isinstance(effect, Restock) and all(quantity > 0 for quantity in effect.quantities.values()):
                for sku_id, quantity in effect.quantities.items():
                    self.stock_returned[sku_id] = self.stock_returned.get(sku_id, 0) + quantity
            elif isinstance(effect, PostPoints):
                self.points.post(effect.user_id, {"ref": effect.ref, "delta": effect.delta})
            elif isinstance(effect, CouponChange) and effect.change == "release":
                self.coupons_released.append(effect.coupon_id)
            elif isinstance(effect, CouponChange) and effect.change == "use":
                self.coupons_used.append(effect.coupon_id)
            elif isinstance(effect, CountSales):
                for product_id, quantity in effect.quantities.items():
                    self.sales[product_id] = self.sales.get(product_id, 0) + quantity

    def advance(self, step: Step) -> bool:
        return self._advance(step)

    def _advance(self, step: Step) -> bool:  # the refunds' writes take their step through this (one stream record)
        if not self._can(step):
            return False
        given_back = [e for e in step.effects if isinstance(e, CouponChange) and e.change == "give_back"]
        for coupon in given_back:  # the transaction's condition on the coupon: when it fails, nothing changes
            if not self.coupons.give_back(coupon.user_id, coupon.coupon_id, coupon.order_id):
                return False
        self._apply(step)
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

    def due_partitions(self, day: str) -> list[str]:
        return [day]  # one partition per due day

    def due_page(
        self, partition: str, before: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        due = sorted((o["due_at"], o["order_id"]) for o in self.orders.values() if o.get("due_at"))
        after = (start["due_at"], start["order_id"]) if start else ("", "")
        page = [
            (at, order_id)
            for at, order_id in due
            if at.startswith(partition) and at <= before and (at, order_id) > after
        ]
        found = page[:limit]
        more = len(page) > limit
        return [order_id for _, order_id in found], (
            {"due_at": found[-1][0], "order_id": found[-1][1]} if more else None
        )

    def open_refund(self, step: Step, refund: Refund) -> bool:
        if not self._advance(step):
            return False
        self.refunds[refund.refund_id] = refund.record()
        return True

    def refund(self, refund_id: str) -> Refund | None:
        record = self.refunds.get(refund_id)
        return Refund.from_record(copy.deepcopy(record)) if record is not None else None

    def refunds_by_ids(self, refund_ids: list[str]) -> list[Refund]:
        return [Refund.from_record(copy.deepcopy(self.refunds[i])) for i in refund_ids if i in self.refunds]

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Refund], dict[str, Any] | None]:
        chosen = [r for r in self.refunds.values() if status is None or r["status"] == status]
        newest = sorted(chosen, key=lambda r: r["requested_at"], reverse=True)[:limit]
        return [Refund.from_record(copy.deepcopy(r)) for r in newest], None

    def approve_refund(self, refund: Refund, at: str, due: str) -> bool:
        stored = self.refunds.get(refund.refund_id)
        if stored is None or stored["status"] != "PENDING":
            return False
        stored.update(status="APPROVED", decided_at=at)
        self.orders[refund.order_id]["due_at"] = due
        return True

    def reject_refund(self, step: Step, refund: Refund, reason: str) -> bool:
        stored = self.refunds.get(refund.refund_id)
        if stored is None or stored["status"] != "PENDING" or not self._advance(step):
            return False
        stored.update(status="REJECTED", decided_at=step.at, reject_reason=reason)
        return True

    def complete_refund(self, step: Step, refund: Refund) -> bool:
        stored = self.refunds.get(refund.refund_id)
        if stored is None or stored["status"] != "APPROVED" or not self._advance(step):
            return False
        stored.update(status="REFUNDED", refunded_at=step.at)
        return True

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        def key(record: dict[str, Any]) -> str:
            return {"user": record["user_id"], "user_status": f"{record['user_id']}#{record['status']}"}[index]

        found = [r for r in self.orders.values() if key(r) == hash_key]
        newest = sorted(found, key=lambda r: (r["created_at"], r["order_id"]), reverse=True)
        offset = int((start or {}).get("offset", 0))
        page = newest[offset : offset + limit]
        following = {"offset": offset + limit} if offset + limit < len(newest) else None
        return [Order.from_record(copy.deepcopy(r)) for r in page], following

    def orders_by_ids(self, order_ids: list[str]) -> list[Order]:
        return [order for order in map(self.order, order_ids) if order is not None]

    def order_id_by_no(self, order_no: str) -> str | None:
        return next((r["order_id"] for r in self.orders.values() if r.get("order_no") == order_no), None)

    def created_keys(self, index: str, hash_key: str, after: str, before: str, limit: int) -> list[str]:
        def partition(record: dict[str, Any]) -> str:
            if index == "created":
                return shanghai_month(record["created_at"])
            return {"user": record["user_id"], "user_status": f"{record['user_id']}#{record['status']}"}[index]

        keys = [f"{r['created_at']}#{r['order_id']}" for r in self.orders.values() if partition(r) == hash_key]
        return sorted((key for key in keys if after <= key < before), reverse=True)[:limit]

    def forget_buyer(self, order_id: str, address: dict[str, Any]) -> None:
        self.orders[order_id].update(address=address, remark="")


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

    def start_refund(self, refund_id: str, payload: dict[str, Any]) -> None:
        self.answers.append(("start_refund", refund_id, payload))
        self.executions.setdefault(refund_id, "RUNNING")

    def refund_status(self, refund_id: str) -> str | None:
        return self.executions.get(refund_id)

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        self.answers.append(("succeed", token, output))
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.answers.append(("fail", token, error))
        return True


def a_line(sku_id: str = "p_1-01", quantity: int = 2, unit_price_fen: int = 9900) -> dict[str, Any]:
    total = unit_price_fen * quantity
    return {"sku_id": sku_id, "product_id": sku_id.rsplit("-", 1)[0], "title": "茶叶", "attributes": {},
            "image_url": None, "quantity": quantity, "list_price_fen": unit_price_fen, "unit_price_fen": unit_price_fen,
            "promotion_id": None, "line_total_fen": total, "payable_fen": total}  # fmt: skip


def an_order(status: str = "PENDING_PAYMENT", **overrides: Any) -> dict[str, Any]:
    return {
        "order_id": ORDER_ID, "user_id": "u_1", "status": status, "coupon_id": "c_1", "points_used": 0,
        "created_at": "2026-01-01T00:00:00Z", "pay_deadline": "2999-01-01T00:00:00Z", "due_at": None,
        "items": [a_line()],
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

    def refund(self, order: Order, refund_id: str, amount_fen: int, reason: str) -> str:
        self.calls.append((order.order_id, refund_id, amount_fen))
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

    WRITES = ("place", "advance", "hold_token", "reschedule", "open_refund", "approve_refund", "reject_refund",
              "complete_refund")  # fmt: skip

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
                old, new = (_value(Order, records.get(order_id)) for records in (old_orders, orders))
                self.pending += outbox.messages_for_order_change(old, new)
        for refund_id in refunds.keys() | old_refunds.keys():
            if refunds.get(refund_id) != old_refunds.get(refund_id):
                old, new = (_value(Refund, records.get(refund_id)) for records in (old_refunds, refunds))
                self.pending += outbox.messages_for_refund_change(old, new)

    def messages(self) -> list[dict[str, Any]]:
        """The outbox messages of the writes since the last call."""
        return self._taken()

    def _taken(self) -> list[dict[str, Any]]:
        found, self.pending = self.pending, []
        return found


class RecordingNotifier:
    """Texts to buyers, kept."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def tell(self, order: Order, text: str) -> bool:
        self.texts.append((order.order_id, text))
        return True


def _value(kind: Any, record: dict[str, Any] | None) -> Any:
    """The Order or Refund a stream image of this record holds (None: no item)."""
    return kind.from_record(copy.deepcopy(record)) if record is not None else None
