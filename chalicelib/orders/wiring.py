"""The order context's production wiring: Dynamo repositories, the Step Functions workflow, refunds through the
payments context, running promotions."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.coupons.repository import DynamoCouponsRepository
from chalicelib.orders.repository import DynamoOrdersRepository
from chalicelib.orders.service import Shop
from chalicelib.orders.workflow import StepFunctionsOrderWorkflow
from chalicelib.points.repository import DynamoPointsRepository
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile.repository import DynamoProfileRepository
from chalicelib.promotions import service as promotions_service
from chalicelib.promotions.repository import DynamoPromotionsRepository
from chalicelib.reviews.domain import ReviewableLine, use_received_lines

RECEIVED_STATUSES = ("RECEIVED", "COMPLETED")


class ChannelRefunds:
    """Refunds through chalicelib.payments, imported when first used (payment SDKs stay off the cold start)."""

    def refund(self, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str) -> str:
        from chalicelib.payments.service import refund_order_payment

        return refund_order_payment(order, refund_id, amount_fen, reason)


@cache
def shop() -> Shop:
    return Shop(
        orders=DynamoOrdersRepository(),
        catalog=DynamoCatalogRepository(),
        profile=DynamoProfileRepository(),
        cart=DynamoCartRepository(),
        coupons=DynamoCouponsRepository(),
        points=DynamoPointsRepository(),
        workflow=StepFunctionsOrderWorkflow(),
        refunds=ChannelRefunds(),
    )


def promotions_now() -> list[Promotion]:
    return promotions_service.running_promotions(DynamoPromotionsRepository())


class OrderLinesForReviews:
    """What reviews may ask of orders: a line of the user's order, and whether the order was received."""

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        order = shop().orders.order(order_id)
        if order is None or order["user_id"] != user_id:
            return None
        found: dict[str, Any] | None = next((line for line in order["items"] if line["sku_id"] == sku_id), None)
        if found is None:
            return None
        return ReviewableLine(
            product_id=str(found["product_id"]),
            title=str(found["title"]),
            attributes=dict(found.get("attributes") or {}),
            received=order["status"] in RECEIVED_STATUSES,
        )


use_received_lines(OrderLinesForReviews())
