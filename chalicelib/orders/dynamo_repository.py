"""The orders repository on DynamoDB: the only module that touches the order models (and, inside an order's
transactions, the catalog's SKUs and products, and the coupon and points items through their repositories' add_*
helpers). It writes what the domain decided (a Step and its effects) and decides nothing."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import ProductItem, SkuItem, product_id_of_sku, product_pk, sku_sk
from chalicelib.coupons.repository import add_give_back, add_lock, add_mark_used, add_release
from chalicelib.dynamo import connection
from chalicelib.membership.repository import add_growth_credit, add_growth_debit
from chalicelib.orders import models
from chalicelib.orders.domain import NORMAL, SHIPPED, TOKEN_FIELDS, Order, Refund
from chalicelib.orders.items import order_of, refund_item, refund_of
from chalicelib.orders.models import (
    ALL_REFUNDS,
    IDEMPOTENCY_SK,
    ORDER_SK,
    REFUND_SK,
    IdempotencyModel,
    OrderModel,
    RefundModel,
    created_shard_key,
    created_shard_keys,
    due_shard_key,
    due_shard_keys,
    idempotency_pk,
    order_pk,
    refund_pk,
    refund_status_key,
)
from chalicelib.orders.repository import PlacementRefused
from chalicelib.orders.steps import (
    CountSales,
    CouponChange,
    Effect,
    PostGrowth,
    PostPoints,
    Restock,
    RewardStock,
    Step,
    placing_effects,
)
from chalicelib.points.repository import add_credit, add_debit, add_exchange_record, add_reward_stock


def _order_key(order_id: str) -> OrderModel:
    return OrderModel(order_pk(order_id), ORDER_SK)


def _refund_key(refund_id: str) -> RefundModel:
    return RefundModel(refund_pk(refund_id), REFUND_SK)


def _sku_key(sku_id: str) -> SkuItem:
    return SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))


def _due_actions(order_id: str, due: str | None) -> list[Any]:
    """Put the order in gsi_due at `due`, or take it out (None: it waits on no timer any more)."""
    if due is None:
        return [OrderModel.due_shard.remove(), OrderModel.due_key.remove()]
    return [OrderModel.due_shard.set(due_shard_key(order_id, due)), OrderModel.due_key.set(f"{due}#{order_id}")]


def _refund_status(status: str) -> list[Any]:
    """A refund's new status, on the item and on its gsi_refund_status key."""
    return [RefundModel.status.set(refund_status_key(status)), RefundModel.refund_status.set(refund_status_key(status))]


def _step_update(step: Step) -> tuple[list[Any], Any]:
    """The order item's update for a step: its actions and its condition."""
    actions = [
        OrderModel.status.set(step.status),
        OrderModel.user_status.set(f"{step.user_id}#{step.status}"),
        OrderModel.timeline.set(OrderModel.timeline.append([models.TimelineEntry(status=step.status, at=step.at)])),
        *_due_actions(step.order_id, step.due),
    ]
    for name, value in step.fields.items():
        if name == "refund_ids":  # the refunds of the order's cases: appended to
            actions.append(OrderModel.refund_ids.set((OrderModel.refund_ids | []).append(list(value))))
        else:
            actions.append(getattr(OrderModel, name).set(value))
    condition = OrderModel.status == step.expected
    if step.paid_before is not None:
        condition &= OrderModel.pay_deadline > step.paid_before
    if step.refund_id is not None:
        condition &= OrderModel.refund_id == step.refund_id
    if step.cases_version is not None:
        condition &= cases_version_is(step.cases_version)
    return actions, condition


def cases_version_is(version: int) -> Any:
    """The order's units cases are as they were read (version 0: none ever, the attribute is absent)."""
    if version == 0:
        return OrderModel.cases_version.does_not_exist() | (OrderModel.cases_version == 0)
    return OrderModel.cases_version == version


def _is_condition_failure(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _existing(model: Any, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(item.pk, item.sk) for item in model.batch_get(keys, attributes_to_get=["pk", "sk", "kind"])}


def _write_effect(transaction: TransactWrite, effect: Effect) -> None:
    """One effect of a step, as the actions of the step's transaction."""
    if isinstance(effect, Restock):
        keys = {sku_id: (product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id)) for sku_id in effect.quantities}
        existing = _existing(SkuItem, list(keys.values())) if effect.skip_removed else set(keys.values())
        for sku_id, quantity in effect.quantities.items():
            if keys[sku_id] not in existing:
                continue  # removed since: it gets no stock back, nor blocks the step
            condition = SkuItem.pk.exists() & (SkuItem.stock >= -quantity) if quantity < 0 else SkuItem.pk.exists()
            transaction.update(_sku_key(sku_id), actions=[SkuItem.stock.add(quantity)], condition=condition)
    elif isinstance(effect, PostPoints):
        post = add_credit if effect.delta > 0 else add_debit
        post(transaction, effect.user_id, abs(effect.delta), effect.reason, effect.ref)
    elif isinstance(effect, PostGrowth):
        post_growth = add_growth_credit if effect.delta > 0 else add_growth_debit
        post_growth(transaction, effect.user_id, abs(effect.delta), effect.reason, effect.ref, effect.at)
    elif isinstance(effect, CouponChange) and effect.change == "lock":
        add_lock(transaction, effect.user_id, effect.coupon_id, effect.order_id, effect.at)
    elif isinstance(effect, CouponChange) and effect.change == "use":
        add_mark_used(transaction, effect.user_id, effect.coupon_id, effect.order_id, effect.at)
    elif isinstance(effect, CouponChange) and effect.change == "release":
        add_release(transaction, effect.user_id, effect.coupon_id, effect.order_id)
    elif isinstance(effect, CouponChange) and effect.change == "give_back":
        add_give_back(transaction, effect.user_id, effect.coupon_id, effect.order_id)
    elif isinstance(effect, RewardStock):
        for reward_id, delta in effect.quantities.items():
            add_reward_stock(transaction, reward_id, delta)
        if effect.exchange is not None:
            add_exchange_record(transaction, effect.user_id, effect.exchange)
    elif isinstance(effect, CountSales):
        existing = _existing(ProductItem, [(product_pk(product_id), "META") for product_id in effect.quantities])
        for product_id, quantity in effect.quantities.items():
            if (product_pk(product_id), "META") in existing:  # removed meanwhile: the transaction fails, retried
                transaction.update(
                    ProductItem(product_pk(product_id), "META"),
                    actions=[ProductItem.sales.add(quantity)],
                    condition=ProductItem.pk.exists(),
                )


class DynamoOrdersRepository:
    """Orders and refunds in the orders table; the transactions that place them and move them on."""

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        try:
            item = IdempotencyModel.get(idempotency_pk(user_id, key), IDEMPOTENCY_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return {"order_id": item.order_id, "body_hash": item.body_hash, "created_at": item.created_at}

    def order(self, order_id: str) -> Order | None:
        try:
            return order_of(OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def place(self, order: Order, key: str, body_hash: str) -> None:
        record = order.record()
        item = OrderModel(
            order_pk(order.order_id),
            ORDER_SK,
            **{name: record[name] for name in ("order_id", "order_no", "user_id", "status", "created_key")},
            user_status=f"{order.user_id}#{order.status}",
            created_shard=created_shard_key(order.order_id, order.created_at),
            **{name: record[name] for name in ("created_at", "pay_deadline", "items", "amounts", "address")},
            **{name: record[name] for name in ("remark", "coupon_id", "points_used")},
            timeline=[models.TimelineEntry(status=entry["status"], at=entry["at"]) for entry in order.timeline],
            due_shard=due_shard_key(order.order_id, str(order.due_at)),
            due_key=f"{order.due_at}#{order.order_id}",
            kind=None if order.kind == NORMAL else order.kind,
            source_ref=order.source_ref,
            points_rules=order.points_rules,
        )
        idempotency = IdempotencyModel(
            idempotency_pk(order.user_id, key),
            IDEMPOTENCY_SK,
            order_id=order.order_id,
            body_hash=body_hash,
            created_at=order.created_at,
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                for effect in placing_effects(order):
                    _write_effect(transaction, effect)
                transaction.save(item, condition=OrderModel.pk.does_not_exist())
                transaction.save(idempotency, condition=IdempotencyModel.pk.does_not_exist())
        except TransactWriteError as error:
            raise PlacementRefused() from error

    def advance(self, step: Step) -> bool:
        actions, condition = _step_update(step)
        if not step.effects:  # one item: a conditional update, no transaction
            try:
                _order_key(step.order_id).update(actions=actions, condition=condition)
            except UpdateError as error:
                if _is_condition_failure(error):
                    return False
                raise
            return True
        return self._transact(step)

    @staticmethod
    def _transact(step: Step, *refund_updates: tuple[list[Any], Any, str]) -> bool:
        actions, condition = _step_update(step)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_order_key(step.order_id), actions=actions, condition=condition)
                for refund_actions, refund_condition, refund_id in refund_updates:
                    transaction.update(_refund_key(refund_id), actions=refund_actions, condition=refund_condition)
                for effect in step.effects:
                    _write_effect(transaction, effect)
        except TransactWriteError:
            return False
        return True

    def hold_token(self, order_id: str, field: str, token: str, expected: str, due: str | None = None) -> bool:
        if field not in TOKEN_FIELDS:
            raise ValueError(f"not a token field: {field}")
        actions = [getattr(OrderModel, field).set(token), *(_due_actions(order_id, due) if due else [])]
        return self._update_if_status(order_id, expected, actions)

    def reschedule(self, order_id: str, expected: str, due: str) -> bool:
        return self._update_if_status(order_id, expected, _due_actions(order_id, due))

    @staticmethod
    def _update_if_status(order_id: str, expected: str, actions: list[Any]) -> bool:
        try:
            _order_key(order_id).update(actions=actions, condition=OrderModel.status == expected)
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def sign_for(self, order_id: str, shipment: dict[str, Any], due: str, expected_due: str | None) -> bool:
        actions = [OrderModel.shipment.set(shipment), *_due_actions(order_id, due)]
        condition = OrderModel.status == SHIPPED
        if expected_due is None:
            condition &= OrderModel.due_key.does_not_exist()
        else:
            condition &= OrderModel.due_key == f"{expected_due}#{order_id}"
        try:
            _order_key(order_id).update(actions=actions, condition=condition)
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def due_partitions(self, day: str) -> list[str]:
        return due_shard_keys(day)

    def due_page(
        self, partition: str, before: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        # `<time>#<order_id>` < `<before>$`: due at or before `before` ("$" sorts right after "#")
        results = OrderModel.due_index.query(
            partition, OrderModel.due_key < f"{before}$", limit=limit, last_evaluated_key=start
        )
        found = [item.pk.removeprefix("ORDER#") for item in results]
        return found, (results.last_evaluated_key if len(found) >= limit else None)

    def due_order_ids(self, day: str, before: str, limit: int) -> list[str]:
        found: list[str] = []
        for partition in self.due_partitions(day):
            found += self.due_page(partition, before, limit - len(found), None)[0]
            if len(found) >= limit:
                break
        return found

    # -- refunds ----------------------------------------------------------------------------------------------------

    def open_refund(self, step: Step, refund: Refund) -> bool:
        item = refund_item(refund, decided_at=refund.decided_at, images=list(refund.images))
        actions, condition = _step_update(step)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_order_key(step.order_id), actions=actions, condition=condition)
                transaction.save(item, condition=RefundModel.pk.does_not_exist())
        except TransactWriteError:
            return False
        return True

    def approve_refund(self, refund: Refund, at: str, due: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _refund_key(refund.refund_id),
                    actions=[*_refund_status("APPROVED"), RefundModel.decided_at.set(at)],
                    condition=RefundModel.status == refund_status_key("PENDING"),
                )
                transaction.update(
                    _order_key(refund.order_id),
                    actions=_due_actions(refund.order_id, due),
                    condition=(OrderModel.status == "REFUNDING") & (OrderModel.refund_id == refund.refund_id),
                )
        except TransactWriteError:
            return False
        return True

    def reject_refund(self, step: Step, refund: Refund, reason: str) -> bool:
        decided = [
            *_refund_status("REJECTED"),
            RefundModel.decided_at.set(step.at),
            RefundModel.reject_reason.set(reason),
        ]
        return self._transact(step, (decided, RefundModel.status == refund_status_key("PENDING"), refund.refund_id))

    def complete_refund(self, step: Step, refund: Refund) -> bool:
        refunded = [*_refund_status("REFUNDED"), RefundModel.refunded_at.set(step.at)]
        return self._transact(step, (refunded, RefundModel.status == refund_status_key("APPROVED"), refund.refund_id))

    def refund(self, refund_id: str) -> Refund | None:
        try:
            return refund_of(RefundModel.get(refund_pk(refund_id), REFUND_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def refunds_by_ids(self, refund_ids: list[str]) -> list[Refund]:
        keys = [(refund_pk(refund_id), REFUND_SK) for refund_id in dict.fromkeys(refund_ids)]
        found = {item.refund_id: refund_of(item) for item in RefundModel.batch_get(keys, consistent_read=True)}
        return [found[refund_id] for refund_id in refund_ids if refund_id in found]

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Refund], dict[str, Any] | None]:
        options: dict[str, Any] = {"scan_index_forward": False, "limit": limit, "page_size": limit}
        if status:
            results = RefundModel.status_index.query(refund_status_key(status), last_evaluated_key=start, **options)
        else:
            results = RefundModel.all_index.query(ALL_REFUNDS, last_evaluated_key=start, **options)
        return [refund_of(item) for item in results], results.last_evaluated_key

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        indexes = {"user": OrderModel.user_index, "user_status": OrderModel.user_status_index}
        results = indexes[index].query(
            hash_key, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        order_ids = [item.pk.removeprefix("ORDER#") for item in results]
        return self.orders_by_ids(order_ids), results.last_evaluated_key

    def orders_by_ids(self, order_ids: list[str]) -> list[Order]:
        keys = [(order_pk(order_id), ORDER_SK) for order_id in dict.fromkeys(order_ids)]
        found = {item.order_id: order_of(item) for item in OrderModel.batch_get(keys)}
        return [found[order_id] for order_id in order_ids if order_id in found]

    def order_id_by_no(self, order_no: str) -> str | None:
        found = next(iter(OrderModel.order_no_index.query(order_no, limit=1)), None)
        return found.pk.removeprefix("ORDER#") if found else None

    def created_keys(self, index: str, hash_key: str, after: str, before: str, limit: int) -> list[str]:
        """`<created_at>#<order_id>` keys newest first, after <= key < before, at most `limit`: of one user ("user",
        "user_status") or, for "created", of one month (`YYYY-MM`), its shards merged."""
        by_user = OrderModel.user_index if index == "user" else OrderModel.user_status_index
        source: Any = OrderModel.created_index if index == "created" else by_user
        partitions = created_shard_keys(hash_key) if index == "created" else [hash_key]
        found: list[str] = []
        for partition in partitions:
            results = source.query(
                partition,
                OrderModel.created_key.between(after, before),
                scan_index_forward=False,
                limit=limit + 1,
                page_size=limit + 1,
            )
            found += [item.created_key for item in results if item.created_key < before]
        return sorted(found, reverse=True)[:limit]

    def forget_buyer(self, order_id: str, address: dict[str, Any]) -> None:
        _order_key(order_id).update(
            actions=[OrderModel.address.set(address), OrderModel.remark.set("")], condition=OrderModel.pk.exists()
        )
