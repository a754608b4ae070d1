"""The only module that touches the order models (and, inside an order's transactions, the catalog's SKUs and
products, and the coupon and points items through their repositories' add_* helpers)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import ProductItem, SkuItem, product_id_of_sku, product_pk, sku_sk
from chalicelib.coupons.repository import add_lock, add_mark_used, add_release
from chalicelib.dynamo import connection
from chalicelib.orders.models import (
    ALL_ORDERS,
    IDEMPOTENCY_SK,
    ORDER_SK,
    IdempotencyModel,
    OrderModel,
    TimelineEntry,
    idempotency_pk,
    order_pk,
)
from chalicelib.points.repository import add_credit, add_debit

MAX_LINES = 50  # sku updates + order + idempotency + coupon + 3 points actions stay under the 100-action limit
TOKEN_FIELDS = ("payment_token", "shipment_token", "receipt_token")


class PlacementRefused(Exception):
    """The order's transaction was cancelled: a condition failed or a concurrent transaction got in between."""


class OrdersRepository(Protocol):
    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None: ...
    def order(self, order_id: str) -> dict[str, Any] | None: ...
    def place(self, order: dict[str, Any], key: str, body_hash: str) -> None:
        """In one transaction: every SKU's stock >= quantity taken, the order put, the coupon locked, the points
        debited, the idempotency record put. PlacementRefused if any of it could not be done (nothing changes)."""

    def cancel(self, order: dict[str, Any], at: str) -> bool:
        """PENDING_PAYMENT -> CANCELLED with stock, coupon and points back, at once; False if not PENDING_PAYMENT."""

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str) -> bool:
        """PENDING_PAYMENT -> PAID, the coupon used, at once; False if not PENDING_PAYMENT."""

    def transition(self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any]) -> bool:
        """expected -> status with these fields set and the timeline appended; False if not in `expected`."""

    def hold_token(self, order_id: str, field: str, token: str, expected: str) -> bool:
        """Keep a task token on the order while it is in `expected`; False otherwise."""

    def settle(self, order: dict[str, Any], at: str) -> bool:
        """RECEIVED -> COMPLETED and sales counted on the products, at once; False if not RECEIVED."""

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


def order_dict(item: OrderModel) -> dict[str, Any]:
    return {
        "order_id": item.order_id,
        "order_no": item.order_no,
        "user_id": item.user_id,
        "status": item.status,
        "created_at": item.created_at,
        "created_key": item.created_key,
        "pay_deadline": item.pay_deadline,
        "items": item.items,
        "amounts": item.amounts,
        "address": item.address,
        "remark": item.remark,
        "coupon_id": item.coupon_id,
        "points_used": int(item.points_used or 0),
        "timeline": [{"status": entry.status, "at": entry.at} for entry in item.timeline or []],
        "payment": item.payment,
        "shipment": item.shipment,
        **{name: getattr(item, name) for name in TOKEN_FIELDS},
        "settled_at": item.settled_at,
    }


def _order_key(order_id: str) -> OrderModel:
    return OrderModel(order_pk(order_id), ORDER_SK)


def _status_actions(user_id: str, status: str, at: str) -> list[Any]:
    return [
        OrderModel.status.set(status),
        OrderModel.user_status.set(f"{user_id}#{status}"),
        OrderModel.timeline.set(OrderModel.timeline.append([TimelineEntry(status=status, at=at)])),
    ]


def _sku_key(sku_id: str) -> SkuItem:
    return SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))


def _is_condition_failure(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _points_ref(order_id: str, purpose: str) -> str:
    return f"order:{order_id}:{purpose}"


class DynamoOrdersRepository:
    """Orders in the orders table; the transactions that place, pay, cancel and settle them."""

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        try:
            item = IdempotencyModel.get(idempotency_pk(user_id, key), IDEMPOTENCY_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return {"order_id": item.order_id, "body_hash": item.body_hash, "created_at": item.created_at}

    def order(self, order_id: str) -> dict[str, Any] | None:
        try:
            return order_dict(OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def place(self, order: dict[str, Any], key: str, body_hash: str) -> None:
        user_id, order_id = order["user_id"], order["order_id"]
        item = OrderModel(
            order_pk(order_id),
            ORDER_SK,
            order_id=order_id,
            order_no=order["order_no"],
            user_id=user_id,
            status=order["status"],
            user_status=f"{user_id}#{order['status']}",
            listing=ALL_ORDERS,
            created_key=order["created_key"],
            created_at=order["created_at"],
            pay_deadline=order["pay_deadline"],
            items=order["items"],
            amounts=order["amounts"],
            address=order["address"],
            remark=order["remark"],
            coupon_id=order["coupon_id"],
            points_used=order["points_used"],
            timeline=[TimelineEntry(status=entry["status"], at=entry["at"]) for entry in order["timeline"]],
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                for line in order["items"]:
                    transaction.update(
                        _sku_key(line["sku_id"]),
                        actions=[SkuItem.stock.add(-line["quantity"])],
                        condition=SkuItem.pk.exists() & (SkuItem.stock >= line["quantity"]),
                    )
                transaction.save(item, condition=OrderModel.pk.does_not_exist())
                transaction.save(
                    IdempotencyModel(
                        idempotency_pk(user_id, key),
                        IDEMPOTENCY_SK,
                        order_id=order_id,
                        body_hash=body_hash,
                        created_at=order["created_at"],
                    ),
                    condition=IdempotencyModel.pk.does_not_exist(),
                )
                if order["coupon_id"]:
                    add_lock(transaction, user_id, order["coupon_id"], order_id, order["created_at"])
                if order["points_used"]:
                    add_debit(transaction, user_id, order["points_used"], "订单抵扣", _points_ref(order_id, "deduct"))
        except TransactWriteError as error:
            raise PlacementRefused() from error

    def cancel(self, order: dict[str, Any], at: str) -> bool:
        user_id, order_id = order["user_id"], order["order_id"]
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=_status_actions(user_id, "CANCELLED", at),
                    condition=OrderModel.status == "PENDING_PAYMENT",
                )
                for line in order["items"]:
                    transaction.update(
                        _sku_key(line["sku_id"]),
                        actions=[SkuItem.stock.add(line["quantity"])],
                        condition=SkuItem.pk.exists(),
                    )
                if order["coupon_id"]:
                    add_release(transaction, user_id, order["coupon_id"], order_id)
                if order["points_used"]:
                    refund_ref = _points_ref(order_id, "refund")
                    add_credit(transaction, user_id, order["points_used"], "订单取消退回", refund_ref)
        except TransactWriteError:
            return False
        return True

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str) -> bool:
        user_id, order_id = order["user_id"], order["order_id"]
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=[*_status_actions(user_id, "PAID", at), OrderModel.payment.set(payment)],
                    condition=OrderModel.status == "PENDING_PAYMENT",
                )
                if order["coupon_id"]:
                    add_mark_used(transaction, user_id, order["coupon_id"], order_id, at)
        except TransactWriteError:
            return False
        return True

    def transition(self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any]) -> bool:
        item = _order_key(order_id)
        try:
            current = OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True)
        except DoesNotExist:
            return False
        actions = _status_actions(current.user_id, status, at)
        actions += [getattr(OrderModel, name).set(value) for name, value in changes.items()]
        try:
            item.update(actions=actions, condition=OrderModel.status == expected)
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def hold_token(self, order_id: str, field: str, token: str, expected: str) -> bool:
        if field not in TOKEN_FIELDS:
            raise ValueError(f"not a token field: {field}")
        try:
            _order_key(order_id).update(
                actions=[getattr(OrderModel, field).set(token)], condition=OrderModel.status == expected
            )
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def settle(self, order: dict[str, Any], at: str) -> bool:
        sales: dict[str, int] = {}
        for line in order["items"]:
            product_id = product_id_of_sku(line["sku_id"])
            sales[product_id] = sales.get(product_id, 0) + int(line["quantity"])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order["order_id"]),
                    actions=[*_status_actions(order["user_id"], "COMPLETED", at), OrderModel.settled_at.set(at)],
                    condition=OrderModel.status == "RECEIVED",
                )
                for product_id, quantity in sales.items():
                    transaction.update(
                        ProductItem(product_pk(product_id), "META"),
                        actions=[ProductItem.sales.add(quantity)],
                        condition=ProductItem.pk.exists(),
                    )
        except TransactWriteError:
            return False
        return True

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        indexes = {
            "user": OrderModel.user_index,
            "user_status": OrderModel.user_status_index,
            "status": OrderModel.status_index,
            "all": OrderModel.all_index,
        }
        results = indexes[index].query(
            hash_key, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [order_dict(item) for item in results]
        return items, results.last_evaluated_key
