"""The only module that touches the payment models."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import connection
from chalicelib.payments.models import (
    OPEN_PAYMENT_SK,
    ORDER_PAYMENT_PREFIX,
    PAYMENT_SK,
    OpenPaymentModel,
    OrderPaymentModel,
    PaymentModel,
    open_payment_pk,
    order_payment_keys,
    payment_pk,
)

FIELDS = ("payment_id", "order_id", "user_id", "channel", "amount_fen", "status", "late_reason", "transaction_id",
          "created_at", "updated_at", "paid_at", "refunded_fen", "refunds", "version")  # fmt: skip
MAX_ORDER_PAYMENTS = 100  # a repeated /pay reuses the open payment of its channel: an order has a handful
CHANGEABLE = frozenset({"status", "late_reason", "transaction_id", "updated_at", "paid_at", "refunded_fen", "refunds"})


class PaymentsRepository(Protocol):
    def payment(self, payment_id: str) -> dict[str, Any] | None: ...
    def open_payment_id(self, order_id: str, channel: str) -> str | None: ...
    def order_payments(self, order_id: str) -> list[dict[str, Any]]:
        """Every payment of the order, oldest first (its entries in the order's partition: one Query)."""
        ...

    def create(self, payment: dict[str, Any]) -> bool:
        """Save a new payment as the order's open one on its channel; False if the order already has one there."""
        ...

    def update(self, payment: dict[str, Any], changes: dict[str, Any], close: bool = False) -> bool:
        """Apply changes if the payment is still at the version read (False otherwise); close: it is no longer the
        order's open payment on its channel."""
        ...


def payment_dict(item: PaymentModel) -> dict[str, Any]:
    return {name: getattr(item, name) for name in FIELDS} | {
        "amount_fen": int(item.amount_fen),
        "refunded_fen": int(item.refunded_fen or 0),
        "refunds": dict(item.refunds or {}),
        "version": int(item.version or 0),
    }


def _condition_failed(error: UpdateError | TransactWriteError) -> bool:
    return error.cause_response_code in ("ConditionalCheckFailedException", "TransactionCanceledException")


class DynamoPaymentsRepository:
    def payment(self, payment_id: str) -> dict[str, Any] | None:
        try:
            return payment_dict(PaymentModel.get(payment_pk(payment_id), PAYMENT_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def open_payment_id(self, order_id: str, channel: str) -> str | None:
        try:
            item = OpenPaymentModel.get(open_payment_pk(order_id, channel), OPEN_PAYMENT_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return item.payment_id

    def order_payments(self, order_id: str) -> list[dict[str, Any]]:
        pk, _ = order_payment_keys(order_id, "", "")
        entries = OrderPaymentModel.query(
            pk, OrderPaymentModel.sk.startswith(ORDER_PAYMENT_PREFIX), consistent_read=True, limit=MAX_ORDER_PAYMENTS
        )
        ids = [entry.payment_id for entry in entries]
        found = {
            item.payment_id: payment_dict(item)
            for item in PaymentModel.batch_get(
                [(payment_pk(payment_id), PAYMENT_SK) for payment_id in ids], consistent_read=True
            )
        }
        return [found[payment_id] for payment_id in ids if payment_id in found]

    def create(self, payment: dict[str, Any]) -> bool:
        fields = {name: payment[name] for name in FIELDS if name not in ("version", "refunds")}
        item = PaymentModel(payment_pk(payment["payment_id"]), PAYMENT_SK, refunds={}, version=0, **fields)
        pointer = OpenPaymentModel(open_payment_pk(payment["order_id"], payment["channel"]), OPEN_PAYMENT_SK,
                                   payment_id=payment["payment_id"])  # fmt: skip
        entry_pk, entry_sk = order_payment_keys(payment["order_id"], payment["created_at"], payment["payment_id"])
        entry = OrderPaymentModel(entry_pk, entry_sk, payment_id=payment["payment_id"])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(item, condition=PaymentModel.pk.does_not_exist())
                transaction.save(pointer, condition=OpenPaymentModel.pk.does_not_exist())
                transaction.save(entry, condition=OrderPaymentModel.pk.does_not_exist())
        except TransactWriteError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def update(self, payment: dict[str, Any], changes: dict[str, Any], close: bool = False) -> bool:
        if not set(changes) <= CHANGEABLE:
            raise ValueError(f"not changeable: {set(changes) - CHANGEABLE}")
        key = PaymentModel(payment_pk(payment["payment_id"]), PAYMENT_SK)
        actions = [getattr(PaymentModel, name).set(value) for name, value in changes.items() if value is not None]
        actions += [getattr(PaymentModel, name).remove() for name, value in changes.items() if value is None]
        actions.append(PaymentModel.version.add(1))
        condition = PaymentModel.version == payment["version"]
        try:
            if not close:
                key.update(actions=actions, condition=condition)
                return True
            pointer = OpenPaymentModel(open_payment_pk(payment["order_id"], payment["channel"]), OPEN_PAYMENT_SK)
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(key, actions=actions, condition=condition)
                mine = OpenPaymentModel.pk.does_not_exist() | (OpenPaymentModel.payment_id == payment["payment_id"])
                transaction.delete(pointer, condition=mine)
        except (UpdateError, TransactWriteError) as error:
            if _condition_failed(error):
                return False
            raise
        return True
