"""The order context's production wiring: Dynamo repositories, the Step Functions workflow, running promotions."""

from __future__ import annotations

from functools import cache

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
    )


def promotions_now() -> list[Promotion]:
    return promotions_service.running_promotions(DynamoPromotionsRepository())
