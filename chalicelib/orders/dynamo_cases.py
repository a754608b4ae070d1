"""The orders repository with the after-sales cases of some units (chalicelib/orders/aftersales.py): each change of
a case is one transaction of the case's conditional status change, its order's units (conditional on the order's
cases_version, so two cases never hold the same unit) and what it gives back or takes (stock, points, growth)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import connection
from chalicelib.orders import models
from chalicelib.orders.domain import Refund
from chalicelib.orders.dynamo_repository import (
    DynamoOrdersRepository,
    _due_actions,
    _order_key,
    _refund_key,
    _refund_status,
    _write_effect,
    cases_version_is,
)
from chalicelib.orders.items import refund_item, refund_of
from chalicelib.orders.models import (
    ALL_REFUNDS,
    OrderModel,
    RefundModel,
    due_shard_key,
    refund_pk,
    refund_status_key,
)
from chalicelib.orders.repository import CaseMove, OrderUnits
from chalicelib.orders.steps import Effect, Step

CASE_FAILED, ORDER_FAILED, EFFECT_FAILED = "case", "order", "effect"


def _case_due(refund_id: str, due: str | None) -> list[Any]:
    """A units case in gsi_due (its pk `REFUND#<id>` tells the sweeper it is a case) at `due`, or out of it."""
    if due is None:
        return [RefundModel.due_shard.remove(), RefundModel.due_key.remove()]
    key = refund_pk(refund_id)
    return [RefundModel.due_shard.set(due_shard_key(key, due)), RefundModel.due_key.set(f"{due}#{key}")]


def _order_units(change: OrderUnits) -> tuple[list[Any], Any]:
    actions: list[Any] = [
        OrderModel.after_sales.set(change.after_sales),
        OrderModel.cases_version.set(change.version + 1),
    ]
    if change.items is not None:
        actions.append(OrderModel.items.set(change.items))
    if change.amounts is not None:
        actions.append(OrderModel.amounts.set(change.amounts))
    if change.refund_id is not None:
        actions.append(OrderModel.refund_ids.set((OrderModel.refund_ids | []).append([change.refund_id])))
    if change.status is not None:
        entry = models.TimelineEntry(status=change.status, at=change.at)
        actions += [
            OrderModel.status.set(change.status),
            OrderModel.user_status.set(f"{change.user_id}#{change.status}"),
            OrderModel.timeline.set(OrderModel.timeline.append([entry])),
            *_due_actions(change.order_id, None),
        ]
    condition = cases_version_is(change.version)
    if change.expected_status is not None:
        condition &= OrderModel.status == change.expected_status
    return actions, condition


def _failure(error: TransactWriteError) -> str:
    """Which part refused: the case (its status moved on), the order (its units changed: read again) or an
    effect (a SKU without the stock)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    failed = [i for i, reason in enumerate(reasons) if reason is not None and reason.code == "ConditionalCheckFailed"]
    if not failed:
        return ORDER_FAILED  # a concurrent transaction: read again and retry
    return CASE_FAILED if failed[0] == 0 else ORDER_FAILED if failed[0] == 1 else EFFECT_FAILED


class DynamoShopOrders(DynamoOrdersRepository):
    """Orders, refunds and units cases in the orders table."""

    def open_case(self, refund: Refund, change: OrderUnits) -> str | None:
        item = refund_item(
            refund,
            scope=refund.scope,
            case_items=list(refund.items),
            images=list(refund.images),
            case_timeline=list(refund.timeline),
        )
        if refund.due_at:
            item.due_shard = due_shard_key(refund_pk(refund.refund_id), refund.due_at)
            item.due_key = f"{refund.due_at}#{refund_pk(refund.refund_id)}"
        actions, condition = _order_units(change)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(item, condition=RefundModel.pk.does_not_exist())
                transaction.update(_order_key(change.order_id), actions=actions, condition=condition)
        except TransactWriteError as error:
            return _failure(error)
        return None

    def move_case(self, move: CaseMove, change: OrderUnits | None, effects: tuple[Effect, ...] = ()) -> str | None:
        actions: list[Any] = [
            RefundModel.status.set(refund_status_key(move.status)),
            RefundModel.refund_status.set(refund_status_key(move.status)),
            RefundModel.case_timeline.set(move.timeline),
            *_case_due(move.refund_id, move.due),
        ]
        actions += [getattr(RefundModel, name).set(value) for name, value in move.fields.items()]
        condition = RefundModel.status.is_in(*[refund_status_key(status) for status in move.expected])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_refund_key(move.refund_id), actions=actions, condition=condition)
                if change is not None:
                    order_actions, order_condition = _order_units(change)
                    transaction.update(_order_key(change.order_id), actions=order_actions, condition=order_condition)
                for effect in effects:
                    _write_effect(transaction, effect)
        except TransactWriteError as error:
            return _failure(error)
        return None

    def cancel_refund(self, step: Step, refund: Refund) -> bool:
        cancelled = [*_refund_status("CANCELLED"), RefundModel.decided_at.set(step.at)]
        pending = RefundModel.status == refund_status_key("PENDING")
        return self._transact(step, (cancelled, pending, refund.refund_id))

    def case_due(self, refund_id: str, expected: str, due: str | None) -> bool:
        try:
            _refund_key(refund_id).update(
                actions=_case_due(refund_id, due), condition=RefundModel.status == refund_status_key(expected)
            )
        except Exception as error:  # pynamodb UpdateError: the case moved on
            if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def cases_page(
        self, status: str | None, case_type: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Refund], dict[str, Any] | None]:
        options: dict[str, Any] = {"scan_index_forward": False, "limit": limit, "page_size": limit}
        if case_type:
            options["filter_condition"] = RefundModel.type == case_type
        if status:
            results = RefundModel.status_index.query(refund_status_key(status), last_evaluated_key=start, **options)
        else:
            results = RefundModel.all_index.query(ALL_REFUNDS, last_evaluated_key=start, **options)
        return [refund_of(item) for item in results], results.last_evaluated_key
