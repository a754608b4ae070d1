"""HTTP routes of the cart: the signed-in user's lines, or a guest cart's (X-Guest-Cart), priced on every view."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.analytics import emitter as analytics
from chalicelib.auth import Principal
from chalicelib.cart import service
from chalicelib.cart.domain import CartOwner
from chalicelib.cart.repository import CartRepository
from chalicelib.cart.schemas import (
    Cart,
    CartItemPatch,
    CartItemWrite,
    CartLine,
    CartMerge,
    CartQuery,
    GuestCart,
    MergedCart,
    MovedToFavorites,
)
from chalicelib.cart.sku_cache import SkuCache
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.errors import Unauthorized
from chalicelib.logistics.repository import FreightRepository
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pricing.checkout import CouponSource
from chalicelib.pricing.promotion import RunningPromotions
from chalicelib.profile.repository import ProfileRepository
from chalicelib.routes import Json, Routes

cart_api = Routes(__name__, tags=("cart",))
GUEST_HEADER = "X-Guest-Cart"
GUEST = ((GUEST_HEADER, False, "A guest cart's token (POST /cart/guest), instead of a bearer token"),)


def _owner(principal: Principal | None, request: Request) -> CartOwner:
    """The signed-in caller's cart, else the guest cart of X-Guest-Cart; a bearer token that is not valid is 401."""
    if principal is not None:
        return CartOwner.user(principal.user_id)
    if request.headers.get("authorization"):
        raise Unauthorized()
    token = request.headers.get(GUEST_HEADER.lower())
    if not token:
        raise Unauthorized("Sign in, or send a guest cart's token in the X-Guest-Cart header")
    return service.guest_owner(token)


@cart_api.post("/cart/guest", status=201)
def start_guest_cart(cart: CartRepository) -> Json[GuestCart]:
    """Start a guest cart (no sign-in): its token goes in X-Guest-Cart; kept 30 days from its last change"""
    return service.start_guest_cart(cart)


@cart_api.get("/cart", headers=GUEST, errors=(401, 404, 409))
def view_cart(
    principal: Principal | None,
    request: Request,
    query: CartQuery,
    cart: CartRepository,
    catalog: CatalogRepository,
    profile: ProfileRepository,
    running_promotions: RunningPromotions,
    coupon_source: CouponSource,
    membership: MembershipRepository,
    freight: FreightRepository,
) -> Json[Cart]:
    """My cart (or a guest cart) at today's prices (a member's at their member prices), with totals, shipping to
    ?address_id= (else my default address) and the coupons that apply"""
    owner = _owner(principal, request)
    return service.view_cart(
        cart, catalog, profile, owner, running_promotions, coupon_source, membership, freight, query.address_id
    )


@cart_api.post("/cart/items", status=201, headers=GUEST, errors=(401, 404, 409))
def add_item(
    principal: Principal | None,
    request: Request,
    body: CartItemWrite,
    cart: CartRepository,
    catalog: CatalogRepository,
    cart_skus: SkuCache,
) -> Json[CartLine]:
    """Add a SKU (merged with its line: 1..999 each, at most 99 lines)"""
    owner = _owner(principal, request)
    line = service.add_item(cart, catalog, owner, body.sku_id, body.quantity, cart_skus)
    user_id = None if owner.guest else owner.id
    analytics.emit_as(analytics.cart_item_added, user_id, product_id_of_sku(body.sku_id), body.sku_id, body.quantity)
    return line


@cart_api.patch("/cart/items/{sku_id}", headers=GUEST, errors=(401, 404))
def update_item(
    principal: Principal | None, request: Request, sku_id: str, body: CartItemPatch, cart: CartRepository
) -> Json[CartLine]:
    """Change a line's quantity and/or selection"""
    return service.update_item(cart, _owner(principal, request), sku_id, body.quantity, body.selected)


@cart_api.delete("/cart/items/{sku_id}", status=204, headers=GUEST, errors=(401, 409))
def remove_item(principal: Principal | None, request: Request, sku_id: str, cart: CartRepository) -> Response:
    """Remove a line (204 whether or not it was there)"""
    service.remove_item(cart, _owner(principal, request), sku_id)
    return Response(body="", status_code=204)


@cart_api.post("/cart/merge", errors=(404,))
def merge_guest_cart(
    principal: Principal,
    body: CartMerge,
    cart: CartRepository,
    catalog: CatalogRepository,
    profile: ProfileRepository,
    running_promotions: RunningPromotions,
    coupon_source: CouponSource,
    membership: MembershipRepository,
) -> Json[MergedCart]:
    """Move a guest cart into my cart at sign-in (what did not fit is listed in not_merged); the guest cart goes"""
    not_merged = service.merge_guest_cart(cart, principal.user_id, body.guest_cart_token)
    owner = CartOwner.user(principal.user_id)
    merged = service.view_cart(cart, catalog, profile, owner, running_promotions, coupon_source, membership)
    return {**merged, "not_merged": not_merged}


@cart_api.post("/cart/items/{sku_id}/move-to-favorites", errors=(404, 409))
def move_to_favorites(
    principal: Principal, sku_id: str, cart: CartRepository, profile: ProfileRepository
) -> Json[MovedToFavorites]:
    """Favorite the line's product and take the line out"""
    moved = service.move_to_favorites(cart, profile, principal.user_id, sku_id)
    if moved.pop("newly_favorited"):
        analytics.emit_as(analytics.favorite_added, principal.user_id, moved["product_id"])
    return moved
