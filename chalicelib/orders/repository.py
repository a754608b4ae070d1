"""The only module that touches the order models (and, inside an order's transactions, the catalog's SKUs and
products, and the coupon and points items through their repositories' add_* helpers)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import ProductItem, SkuItem, product_id_of_sku, product_pk, sku_sk
from chalicelib.coupons.repository import add_give_back, add_lock, add_mark_used, add_release
from chalicelib.dynamo import connection
from chalicelib.orders.models import (
    ALL_ORDERS,
    ALL_REFUNDS,
    IDEMPOTENCY_SK,
    ORDER_SK,
    REFUND_SK,
    REFUND_STATUS_PREFIX,
    IdempotencyModel,
    OrderModel,
    RefundModel,
    TimelineEntry,
    due_shard_key,
    due_shard_keys,
    idempotency_pk,
    order_pk,
    refund_pk,
    refund_status_key,
)
from chalicelib.points.repository import add_credit, add_debit

MAX_LINES = 50  # sku updates + order + idempotency + coupon + 3 points actions stay under the 100-action limit
TOKEN_FIELDS = ("payment_token", "shipment_token", "receipt_token", "window_token", "refund_token")


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

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str, due: str) -> bool:
        """PENDING_PAYMENT -> PAID, the coupon used, due at `due`, at once; False if not PENDING_PAYMENT or its
        pay_deadline is not after `at` (a payment arriving past the deadline never pays the order)."""

    def transition(
        self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any], due: str | None
    ) -> bool:
        """expected -> status with these fields set, due at `due` (None: no longer) and the timeline appended; False
        if not in `expected`."""

    def hold_token(self, order_id: str, field: str, token: str, expected: str, due: str | None = None) -> bool:
        """Keep a task token on the order while it is in `expected` (and, given `due`, its due time); False
        otherwise."""

    def reschedule(self, order_id: str, expected: str, due: str) -> bool:
        """The order is due at `due` while it is in `expected`; False otherwise."""

    def due_order_ids(self, day: str, before: str, limit: int) -> list[str]:
        """Orders due on `day` (`YYYY-MM-DD`) at or before `before`, at most `limit`, earliest first per shard."""

    def settle(self, order: dict[str, Any], at: str, earned_points: int) -> bool:
        """RECEIVED -> COMPLETED, the earned points credited (ref order:<id>:earn) and sales counted on the products
        that still exist, at once; False if not RECEIVED."""

    def request_refund(self, order: dict[str, Any], refund: dict[str, Any], at: str, due: str) -> bool:
        """refund["from_status"] -> REFUNDING with the refund put (in its status: PENDING, or APPROVED when the
        system opens it) and remembered on the order, due at `due`, at once; False if the order is no longer in
        that status."""

    def refund(self, refund_id: str) -> dict[str, Any] | None: ...
    def refunds_by_ids(self, refund_ids: list[str]) -> list[dict[str, Any]]:
        """These refunds, in the order of the ids (missing ones left out)."""

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Refunds newest first, all or in one status."""

    def approve_refund(self, refund: dict[str, Any], at: str, due: str) -> bool:
        """PENDING -> APPROVED and its REFUNDING order due at `due`, at once; False if not PENDING."""

    def reject_refund(self, refund: dict[str, Any], reason: str, at: str, due: str) -> bool:
        """PENDING -> REJECTED and its order REFUNDING -> the status it came from (due at `due`), at once; False
        otherwise."""

    def complete_refund(
        self, order: dict[str, Any], refund: dict[str, Any], at: str, coupon_back: str | None = None
    ) -> bool:
        """Its order REFUNDING -> REFUNDED, the refund APPROVED -> REFUNDED, the stock of the SKUs that still exist
        back, the points used credited back (ref order:<id>:refund) and the coupon `coupon_back` (the order's,
        used by it) unused again, at once; False otherwise."""

    def orders_page(
        self, index: str, hash_key: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    def forget_buyer(self, order_id: str, address: dict[str, Any]) -> None:
        """Replace the order's address with `address` (what is kept of it) and empty its remark."""


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
        "refund_id": item.refund_id,
        "refund_from": item.refund_from,
        "refund_ids": list(item.refund_ids or []),
        "settled_at": item.settled_at,
        "due_at": item.due_key.split("#", 1)[0] if item.due_key else None,
    }


def refund_dict(item: RefundModel) -> dict[str, Any]:
    return {
        "refund_id": item.refund_id,
        "order_id": item.order_id,
        "user_id": item.owner_id,
        "type": item.type,
        "reason": item.reason,
        "status": item.status.removeprefix(REFUND_STATUS_PREFIX),
        "from_status": item.from_status,
        "amount_fen": int(item.amount_fen),
        "requested_at": item.requested_at,
        "decided_at": item.decided_at,
        "reject_reason": item.reject_reason,
        "refunded_at": item.refunded_at,
        "requested_by": item.requested_by,
    }


def order_from_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """An order as a stream record's image holds it (DynamoDB JSON); None for other items of the table."""
    if not image or image.get("sk", {}).get("S") != ORDER_SK:
        return None
    return order_dict(OrderModel.from_raw_data(image))


def refund_from_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A refund as a stream record's image holds it; None for other items of the table."""
    if not image or image.get("sk", {}).get("S") != REFUND_SK:
        return None
    return refund_dict(RefundModel.from_raw_data(image))


def _refund_key(refund_id: str) -> RefundModel:
    return RefundModel(refund_pk(refund_id), REFUND_SK)


def _order_key(order_id: str) -> OrderModel:
    return OrderModel(order_pk(order_id), ORDER_SK)


def _status_actions(user_id: str, status: str, at: str) -> list[Any]:
    return [
        OrderModel.status.set(status),
        OrderModel.user_status.set(f"{user_id}#{status}"),
        OrderModel.timeline.set(OrderModel.timeline.append([TimelineEntry(status=status, at=at)])),
    ]


def _due_actions(order_id: str, due: str | None) -> list[Any]:
    """Put the order in gsi_due at `due`, or take it out (None: it waits on no timer any more)."""
    if due is None:
        return [OrderModel.due_shard.remove(), OrderModel.due_key.remove()]
    return [OrderModel.due_shard.set(due_shard_key(order_id, due)), OrderModel.due_key.set(f"{due}#{order_id}")]


def _sku_key(sku_id: str) -> SkuItem:
    return SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))


def _is_condition_failure(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _points_ref(order_id: str, purpose: str) -> str:
    return f"order:{order_id}:{purpose}"


def _existing_products(product_ids: list[str]) -> set[str]:
    keys = [(product_pk(product_id), "META") for product_id in product_ids]
    found = ProductItem.batch_get(keys, attributes_to_get=["pk", "sk", "kind"])
    return {item.pk.removeprefix("PRODUCT#") for item in found}


def _existing_skus(sku_ids: list[str]) -> set[str]:
    keys = [(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id)) for sku_id in sku_ids]
    found = SkuItem.batch_get(keys, attributes_to_get=["pk", "sk", "kind"])
    return {item.sk.removeprefix("SKU#") for item in found}


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
            due_shard=due_shard_key(order_id, order["due_at"]),
            due_key=f"{order['due_at']}#{order_id}",
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
                    actions=[*_status_actions(user_id, "CANCELLED", at), *_due_actions(order_id, None)],
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

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str, due: str) -> bool:
        user_id, order_id = order["user_id"], order["order_id"]
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=[
                        *_status_actions(user_id, "PAID", at),
                        OrderModel.payment.set(payment),
                        *_due_actions(order_id, due),
                    ],
                    condition=(OrderModel.status == "PENDING_PAYMENT") & (OrderModel.pay_deadline > at),
                )
                if order["coupon_id"]:
                    add_mark_used(transaction, user_id, order["coupon_id"], order_id, at)
        except TransactWriteError:
            return False
        return True

    def transition(
        self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any], due: str | None
    ) -> bool:
        item = _order_key(order_id)
        try:
            current = OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True)
        except DoesNotExist:
            return False
        actions = _status_actions(current.user_id, status, at) + _due_actions(order_id, due)
        actions += [getattr(OrderModel, name).set(value) for name, value in changes.items()]
        try:
            item.update(actions=actions, condition=OrderModel.status == expected)
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
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

    def due_order_ids(self, day: str, before: str, limit: int) -> list[str]:
        found: list[str] = []
        for shard in due_shard_keys(day):
            # `<time>#<order_id>` < `<before>$`: due at or before `before` ("$" sorts right after "#")
            results = OrderModel.due_index.query(shard, OrderModel.due_key < f"{before}$", limit=limit - len(found))
            found += [item.pk.removeprefix("ORDER#") for item in results]
            if len(found) >= limit:
                break
        return found

    def settle(self, order: dict[str, Any], at: str, earned_points: int) -> bool:
        sales: dict[str, int] = {}
        for line in order["items"]:
            product_id = product_id_of_sku(line["sku_id"])
            sales[product_id] = sales.get(product_id, 0) + int(line["quantity"])
        existing = _existing_products(list(sales))  # a product deleted since is not counted, nor blocks settlement
        user_id, order_id = order["user_id"], order["order_id"]
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=[
                        *_status_actions(user_id, "COMPLETED", at),
                        OrderModel.settled_at.set(at),
                        *_due_actions(order_id, None),
                    ],
                    condition=OrderModel.status == "RECEIVED",
                )
                if earned_points > 0:
                    add_credit(transaction, user_id, earned_points, "订单完成", _points_ref(order_id, "earn"))
                for product_id, quantity in sales.items():
                    if product_id in existing:  # deleted meanwhile: the transaction fails and the task retries
                        transaction.update(
                            ProductItem(product_pk(product_id), "META"),
                            actions=[ProductItem.sales.add(quantity)],
                            condition=ProductItem.pk.exists(),
                        )
        except TransactWriteError:
            return False
        return True

    # -- refunds ----------------------------------------------------------------------------------------------------

    def request_refund(self, order: dict[str, Any], refund: dict[str, Any], at: str, due: str) -> bool:
        user_id, order_id = order["user_id"], order["order_id"]
        item = RefundModel(
            refund_pk(refund["refund_id"]),
            REFUND_SK,
            refund_id=refund["refund_id"],
            order_id=order_id,
            owner_id=user_id,
            type=refund["type"],
            reason=refund["reason"],
            status=refund_status_key(refund["status"]),
            from_status=refund["from_status"],
            amount_fen=refund["amount_fen"],
            listing=ALL_REFUNDS,
            created_key=f"{refund['requested_at']}#{refund['refund_id']}",
            requested_at=refund["requested_at"],
            decided_at=refund["decided_at"],
            requested_by=refund.get("requested_by") or "customer",
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=[
                        *_status_actions(user_id, "REFUNDING", at),
                        OrderModel.refund_id.set(refund["refund_id"]),
                        OrderModel.refund_from.set(refund["from_status"]),
                        OrderModel.refund_ids.set((OrderModel.refund_ids | []).append([refund["refund_id"]])),
                        *_due_actions(order_id, due),
                    ],
                    condition=OrderModel.status == refund["from_status"],
                )
                transaction.save(item, condition=RefundModel.pk.does_not_exist())
        except TransactWriteError:
            return False
        return True

    def refund(self, refund_id: str) -> dict[str, Any] | None:
        try:
            return refund_dict(RefundModel.get(refund_pk(refund_id), REFUND_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def refunds_by_ids(self, refund_ids: list[str]) -> list[dict[str, Any]]:
        keys = [(refund_pk(refund_id), REFUND_SK) for refund_id in dict.fromkeys(refund_ids)]
        found = {item.refund_id: refund_dict(item) for item in RefundModel.batch_get(keys, consistent_read=True)}
        return [found[refund_id] for refund_id in refund_ids if refund_id in found]

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        options: dict[str, Any] = {"scan_index_forward": False, "limit": limit, "page_size": limit,
                                   "last_evaluated_key": start}  # fmt: skip
        if status:
            results = RefundModel.status_index.query(refund_status_key(status), **options)
        else:
            results = RefundModel.all_index.query(ALL_REFUNDS, **options)
        items = [refund_dict(item) for item in results]
        return items, results.last_evaluated_key

    def approve_refund(self, refund: dict[str, Any], at: str, due: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _refund_key(refund["refund_id"]),
                    actions=[RefundModel.status.set(refund_status_key("APPROVED")), RefundModel.decided_at.set(at)],
                    condition=RefundModel.status == refund_status_key("PENDING"),
                )
                transaction.update(
                    _order_key(refund["order_id"]),
                    actions=_due_actions(refund["order_id"], due),
                    condition=(OrderModel.status == "REFUNDING") & (OrderModel.refund_id == refund["refund_id"]),
                )
        except TransactWriteError:
            return False
        return True

    def reject_refund(self, refund: dict[str, Any], reason: str, at: str, due: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _refund_key(refund["refund_id"]),
                    actions=[
                        RefundModel.status.set(refund_status_key("REJECTED")),
                        RefundModel.decided_at.set(at),
                        RefundModel.reject_reason.set(reason),
                    ],
                    condition=RefundModel.status == refund_status_key("PENDING"),
                )
                transaction.update(
                    _order_key(refund["order_id"]),
                    actions=[
                        *_status_actions(refund["user_id"], refund["from_status"], at),
                        *_due_actions(refund["order_id"], due),
                    ],
                    condition=(OrderModel.status == "REFUNDING") & (OrderModel.refund_id == refund["refund_id"]),
                )
        except TransactWriteError:
            return False
        return True

    def complete_refund(
        self, order: dict[str, Any], refund: dict[str, Any], at: str, coupon_back: str | None = None
    ) -> bool:
        user_id, order_id = order["user_id"], order["order_id"]
        restock: dict[str, int] = {}
        for line in order["items"]:
            restock[line["sku_id"]] = restock.get(line["sku_id"], 0) + int(line["quantity"])
        existing = _existing_skus(list(restock))  # a SKU deleted since gets no stock back, nor blocks the refund
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _order_key(order_id),
                    actions=[*_status_actions(user_id, "REFUNDED", at), *_due_actions(order_id, None)],
                    condition=(OrderModel.status == "REFUNDING") & (OrderModel.refund_id == refund["refund_id"]),
                )
                transaction.update(
                    _refund_key(refund["refund_id"]),
                    actions=[RefundModel.status.set(refund_status_key("REFUNDED")), RefundModel.refunded_at.set(at)],
                    condition=RefundModel.status == refund_status_key("APPROVED"),
                )
                for sku_id, quantity in restock.items():
                    if sku_id in existing:
                        transaction.update(
                            _sku_key(sku_id), actions=[SkuItem.stock.add(quantity)], condition=SkuItem.pk.exists()
                        )
                if order["points_used"]:
                    refund_ref = _points_ref(order_id, "refund")
                    add_credit(transaction, user_id, order["points_used"], "订单退款退回", refund_ref)
                if coupon_back:
                    add_give_back(transaction, user_id, coupon_back, order_id)
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

    def forget_buyer(self, order_id: str, address: dict[str, Any]) -> None:
        _order_key(order_id).update(
            actions=[OrderModel.address.set(address), OrderModel.remark.set("")], condition=OrderModel.pk.exists()
        )
