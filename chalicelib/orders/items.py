"""Orders and refunds as the orders table stores them, read back into the domain's values (from a model or from a
stream record's image), and a refund's item as first written."""

from __future__ import annotations

from typing import Any

from chalicelib.orders.domain import TOKEN_FIELDS, Order, Refund
from chalicelib.orders.models import (
    ALL_REFUNDS,
    ORDER_SK,
    REFUND_SK,
    REFUND_STATUS_PREFIX,
    OrderModel,
    RefundModel,
    refund_pk,
    refund_status_key,
)


def order_of(item: OrderModel) -> Order:
    return Order.from_record(
        {
            **{name: getattr(item, name) for name in ("order_id", "order_no", "user_id", "status", "created_at")},
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
            "kind": item.kind,
            "source_ref": item.source_ref,
            "points_rules": item.points_rules,
            "after_sales": {**(item.after_sales or {}), "version": int(item.cases_version or 0)},
        }
    )


def refund_of(item: RefundModel) -> Refund:
    return Refund(
        refund_id=item.refund_id,
        order_id=item.order_id,
        user_id=item.owner_id,
        type=item.type,
        reason=item.reason,
        status=item.status.removeprefix(REFUND_STATUS_PREFIX),
        from_status=item.from_status,
        amount_fen=int(item.amount_fen),
        requested_at=item.requested_at,
        decided_at=item.decided_at,
        reject_reason=item.reject_reason,
        refunded_at=item.refunded_at,
        requested_by=item.requested_by or "customer",
        scope=item.scope or "order",
        items=tuple(item.case_items or ()),
        images=tuple(item.images or ()),
        timeline=tuple(item.case_timeline or ()),
        return_shipment=item.return_shipment,
        reship=item.reship,
        due_at=item.due_key.split("#", 1)[0] if item.due_key else None,
    )


def order_from_image(image: dict[str, Any] | None) -> Order | None:
    """An order as a stream record's image holds it (DynamoDB JSON); None for other items of the table."""
    if not image or image.get("sk", {}).get("S") != ORDER_SK:
        return None
    return order_of(OrderModel.from_raw_data(image))


def refund_from_image(image: dict[str, Any] | None) -> Refund | None:
    """A refund as a stream record's image holds it; None for other items of the table."""
    if not image or image.get("sk", {}).get("S") != REFUND_SK:
        return None
    return refund_of(RefundModel.from_raw_data(image))


def refund_item(refund: Refund, **fields: Any) -> RefundModel:
    """A refund's item as first written (its keys, owner, status keys and request), with these further fields."""
    return RefundModel(
        refund_pk(refund.refund_id),
        REFUND_SK,
        **{name: getattr(refund, name) for name in ("refund_id", "order_id", "type", "reason", "from_status")},
        owner_id=refund.user_id,
        status=refund_status_key(refund.status),
        refund_status=refund_status_key(refund.status),
        amount_fen=refund.amount_fen,
        refund_listing=ALL_REFUNDS,
        created_key=f"{refund.requested_at}#{refund.refund_id}",
        requested_at=refund.requested_at,
        requested_by=refund.requested_by,
        **fields,
    )
