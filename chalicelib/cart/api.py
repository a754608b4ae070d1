"""HTTP routes of the cart: the signed-in user's lines, priced on every view."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.analytics import emitter as analytics
from chalicelib.auth import Principal
from chalicelib.cart import service
from chalicelib.cart.repository import CartRepository
from chalicelib.cart.schemas import Cart, CartItemPatch, CartItemWrite, CartLine, MovedToFavorites
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.pricing.checkout import CouponSource
from chalicelib.pricing.promotion import RunningPromotions
from chalicelib.profile.repository import ProfileRepository
from chalicelib.routes import Json, Routes

cart_api = Routes(__name__, tags=("cart",))


@cart_api.get("/cart")
def view_cart(
    principal: Principal,
    cart: CartRepository,
    catalog: CatalogRepository,
    profile: ProfileRepository,
    running_promotions: RunningPromotions,
    coupon_source: CouponSource,
) -> Json[Cart]:
    """My cart at today's prices, with totals and the coupons that apply"""
    return service.view_cart(cart, catalog, profile, principal.user_id, running_promotions, coupon_source)


@cart_api.post("/cart/items", status=201, errors=(404, 409))
def add_item(
    principal: Principal, body: CartItemWrite, cart: CartRepository, catalog: CatalogRepository
) -> Json[CartLine]:
    """Add a SKU (merged with its line: 1..999 each, at most 99 lines)"""
    line = service.add_item(cart, catalog, principal.user_id, body.sku_id, body.quantity)
    analytics.emit_as(
        analytics.cart_item_added, principal.user_id, product_id_of_sku(body.sku_id), body.sku_id, body.quantity
    )
    return line


@cart_api.patch("/cart/items/{sku_id}", errors=(404,))
def update_item(principal: Principal, sku_id: str, body: CartItemPatch, cart: CartRepository) -> Json[CartLine]:
    """Change a line's quantity and/or selection"""
    return service.update_item(cart, principal.user_id, sku_id, body.quantity, body.selected)


@cart_api.delete("/cart/items/{sku_id}", status=204, errors=(409,))
def remove_item(principal: Principal, sku_id: str, cart: CartRepository) -> Response:
    """Remove a line (204 whether or not it was there)"""
    service.remove_item(cart, principal.user_id, sku_id)
    return Response(body="", status_code=204)


@cart_api.post("/cart/items/{sku_id}/move-to-favorites", errors=(404, 409))
def move_to_favorites(
    principal: Principal, sku_id: str, cart: CartRepository, profile: ProfileRepository
) -> Json[MovedToFavorites]:
    """Favorite the line's product and take the line out"""
    moved = service.move_to_favorites(cart, profile, principal.user_id, sku_id)
    if moved.pop("newly_favorited"):
        analytics.emit_as(analytics.favorite_added, principal.user_id, moved["product_id"])
    return moved
