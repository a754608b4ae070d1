"""HTTP routes of the cart: the signed-in user's lines, priced on every view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.analytics import emitter as analytics
from chalicelib.cart import service
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.cart.schemas import Cart, CartItemPatch, CartItemWrite, CartLine, MovedToFavorites
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.coupons.repository import DynamoCouponsRepository
from chalicelib.http import Principal, endpoint
from chalicelib.pricing.checkout import StoredCoupons
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile.repository import DynamoProfileRepository
from chalicelib.promotions import service as promotions
from chalicelib.promotions.repository import DynamoPromotionsRepository

cart_api = Blueprint(__name__)
repo = DynamoCartRepository()
catalog = DynamoCatalogRepository()
profile = DynamoProfileRepository()
promotion_repo = DynamoPromotionsRepository()
coupons = StoredCoupons(DynamoCouponsRepository())
TAGS = ("cart",)


def promotions_at(now: datetime) -> list[Promotion]:
    return promotions.running_promotions(promotion_repo, now)


@endpoint(cart_api, "/cart", summary="My cart at today's prices, with totals and the coupons that apply", tags=TAGS,
          auth="customer", response=Cart)  # fmt: skip
def view_cart(principal: Principal) -> dict[str, Any]:
    return service.view_cart(repo, catalog, profile, principal.user_id, promotions_at, coupons)


@endpoint(cart_api, "/cart/items", "POST", summary="Add a SKU (merged with its line: 1..999 each, at most 99 "
          "lines)", tags=TAGS, auth="customer", body=CartItemWrite, response=CartLine, status=201,
          errors=(404, 409))  # fmt: skip
def add_item(principal: Principal, body: CartItemWrite) -> dict[str, Any]:
    line = service.add_item(repo, catalog, principal.user_id, body.sku_id, body.quantity)
    analytics.emit_as(analytics.cart_item_added, principal.user_id, product_id_of_sku(body.sku_id), body.sku_id,
                      body.quantity)  # fmt: skip
    return line


@endpoint(cart_api, "/cart/items/{sku_id}", "PATCH", summary="Change a line's quantity and/or selection",
          tags=TAGS, auth="customer", body=CartItemPatch, response=CartLine, errors=(404,))  # fmt: skip
def update_item(principal: Principal, sku_id: str, body: CartItemPatch) -> dict[str, Any]:
    return service.update_item(repo, principal.user_id, sku_id, body.quantity, body.selected)


@endpoint(cart_api, "/cart/items/{sku_id}", "DELETE", summary="Remove a line (204 whether or not it was there)",
          tags=TAGS, auth="customer", status=204, errors=(409,))  # fmt: skip
def remove_item(principal: Principal, sku_id: str) -> Response:
    service.remove_item(repo, principal.user_id, sku_id)
    return Response(body="", status_code=204)


@endpoint(cart_api, "/cart/items/{sku_id}/move-to-favorites", "POST", summary="Favorite the line's product and "
          "take the line out", tags=TAGS, auth="customer", response=MovedToFavorites, errors=(404, 409))  # fmt: skip
def move_to_favorites(principal: Principal, sku_id: str) -> dict[str, Any]:
    moved = service.move_to_favorites(repo, profile, principal.user_id, sku_id)
    if moved.pop("newly_favorited"):
        analytics.emit_as(analytics.favorite_added, principal.user_id, moved["product_id"])
    return moved
