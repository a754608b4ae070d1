"""HTTP routes of the personal center: the signed-in user's addresses, favorites, footprints and search history."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.analytics import emitter as analytics
from chalicelib.auth import Principal
from chalicelib.pagination import PageQuery
from chalicelib.profile import service
from chalicelib.profile.repository import ProfileRepository
from chalicelib.profile.schemas import (
    Address,
    AddressList,
    AddressWrite,
    Favorite,
    FavoritePage,
    FavoriteStatus,
    FootprintList,
    SearchHistory,
)
from chalicelib.routes import Json, Routes

profile_api = Routes(__name__, tags=("profile",))


def no_content() -> Response:
    return Response(body="", status_code=204)


@profile_api.get("/me/addresses")
def list_addresses(principal: Principal, profile: ProfileRepository) -> Json[AddressList]:
    """My addresses: the default first, then newest"""
    return service.list_addresses(profile, principal.user_id)


@profile_api.post("/me/addresses", status=201, errors=(409,))
def create_address(principal: Principal, body: AddressWrite, profile: ProfileRepository) -> Json[Address]:
    """Add an address (at most 20: 409 past that)"""
    return service.create_address(profile, principal.user_id, body)


@profile_api.put("/me/addresses/{address_id}", errors=(404, 409))
def replace_address(
    principal: Principal, address_id: str, body: AddressWrite, profile: ProfileRepository
) -> Json[Address]:
    """Replace an address"""
    return service.replace_address(profile, principal.user_id, address_id, body)


@profile_api.delete("/me/addresses/{address_id}", status=204, errors=(404, 409))
def delete_address(principal: Principal, address_id: str, profile: ProfileRepository) -> Response:
    """Delete an address (204; the newest remaining one becomes the default if this was it)"""
    service.delete_address(profile, principal.user_id, address_id)
    return no_content()


@profile_api.get("/me/favorites")
def list_favorites(principal: Principal, query: PageQuery, profile: ProfileRepository) -> Json[FavoritePage]:
    """My favorites, newest first, as product cards"""
    return service.list_favorites(profile, principal.user_id, query)


@profile_api.get("/me/favorites/{product_id}")
def get_favorite(principal: Principal, product_id: str, profile: ProfileRepository) -> Json[Favorite]:
    """Whether I favorited this product: one read, where a product page would page through my list"""
    return service.one_favorite(profile, principal.user_id, product_id)


@profile_api.put("/me/favorites/{product_id}", errors=(404, 409))
def add_favorite(principal: Principal, product_id: str, profile: ProfileRepository) -> Json[FavoriteStatus]:
    """Favorite a product (idempotent: 200 either way)"""
    favorite = service.add_favorite(profile, principal.user_id, product_id)
    if favorite["newly_added"]:
        analytics.emit_as(analytics.favorite_added, principal.user_id, product_id)
    return favorite


@profile_api.delete("/me/favorites/{product_id}", status=204, errors=(409,))
def remove_favorite(principal: Principal, product_id: str, profile: ProfileRepository) -> Response:
    """Unfavorite a product (idempotent: 204 either way)"""
    service.remove_favorite(profile, principal.user_id, product_id)
    return no_content()


@profile_api.get("/me/footprints")
def list_footprints(principal: Principal, profile: ProfileRepository) -> Json[FootprintList]:
    """Products I viewed, newest first, one entry per product"""
    return service.list_footprints(profile, principal.user_id)


@profile_api.delete("/me/footprints", status=204)
def clear_footprints(principal: Principal, profile: ProfileRepository) -> Response:
    """Clear my footprints (204)"""
    service.clear_footprints(profile, principal.user_id)
    return no_content()


@profile_api.get("/me/search-history")
def list_search_history(principal: Principal, profile: ProfileRepository) -> Json[SearchHistory]:
    """My last 20 distinct search keywords, newest first"""
    return service.list_search_history(profile, principal.user_id)


@profile_api.delete("/me/search-history", status=204)
def clear_search_history(principal: Principal, profile: ProfileRepository) -> Response:
    """Clear my search history (204)"""
    service.clear_search_history(profile, principal.user_id)
    return no_content()
