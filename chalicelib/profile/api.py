"""HTTP routes of the personal center: the signed-in user's addresses, favorites, footprints and search history."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.analytics import emitter as analytics
from chalicelib.http import Principal, endpoint
from chalicelib.pagination import PageQuery
from chalicelib.profile import service
from chalicelib.profile.repository import DynamoProfileRepository
from chalicelib.profile.schemas import (
    Address,
    AddressList,
    AddressWrite,
    FavoritePage,
    FavoriteStatus,
    FootprintList,
    SearchHistory,
)

profile_api = Blueprint(__name__)
repo = DynamoProfileRepository()
TAGS = ("profile",)


def no_content() -> Response:
    return Response(body="", status_code=204)


@endpoint(profile_api, "/me/addresses", summary="My addresses: the default first, then newest", tags=TAGS,
          auth="customer", response=AddressList)  # fmt: skip
def list_addresses(principal: Principal) -> dict[str, Any]:
    return service.list_addresses(repo, principal.user_id)


@endpoint(profile_api, "/me/addresses", "POST", summary="Add an address (at most 20: 409 past that)", tags=TAGS,
          auth="customer", body=AddressWrite, response=Address, status=201, errors=(409,))  # fmt: skip
def create_address(principal: Principal, body: AddressWrite) -> dict[str, Any]:
    return service.create_address(repo, principal.user_id, body)


@endpoint(profile_api, "/me/addresses/{address_id}", "PUT", summary="Replace an address", tags=TAGS,
          auth="customer", body=AddressWrite, response=Address, errors=(404, 409))  # fmt: skip
def replace_address(principal: Principal, address_id: str, body: AddressWrite) -> dict[str, Any]:
    return service.replace_address(repo, principal.user_id, address_id, body)


@endpoint(profile_api, "/me/addresses/{address_id}", "DELETE", summary="Delete an address (204; the newest "
          "remaining one becomes the default if this was it)", tags=TAGS, auth="customer", status=204,
          errors=(404, 409))  # fmt: skip
def delete_address(principal: Principal, address_id: str) -> Response:
    service.delete_address(repo, principal.user_id, address_id)
    return no_content()


@endpoint(profile_api, "/me/favorites", summary="My favorites, newest first, as product cards", tags=TAGS,
          auth="customer", query=PageQuery, response=FavoritePage)  # fmt: skip
def list_favorites(principal: Principal, query: PageQuery) -> dict[str, Any]:
    return service.list_favorites(repo, principal.user_id, query)


@endpoint(profile_api, "/me/favorites/{product_id}", "PUT", summary="Favorite a product (idempotent: 200 "
          "either way)", tags=TAGS, auth="customer", response=FavoriteStatus, errors=(404, 409))  # fmt: skip
def add_favorite(principal: Principal, product_id: str) -> dict[str, Any]:
    favorite = service.add_favorite(repo, principal.user_id, product_id)
    if favorite["newly_added"]:
        analytics.emit_as(analytics.favorite_added, principal.user_id, product_id)
    return favorite


@endpoint(profile_api, "/me/favorites/{product_id}", "DELETE", summary="Unfavorite a product (idempotent: "
          "204 either way)", tags=TAGS, auth="customer", status=204, errors=(409,))  # fmt: skip
def remove_favorite(principal: Principal, product_id: str) -> Response:
    service.remove_favorite(repo, principal.user_id, product_id)
    return no_content()


@endpoint(profile_api, "/me/footprints", summary="Products I viewed, newest first, one entry per product",
          tags=TAGS, auth="customer", response=FootprintList)  # fmt: skip
def list_footprints(principal: Principal) -> dict[str, Any]:
    return service.list_footprints(repo, principal.user_id)


@endpoint(profile_api, "/me/footprints", "DELETE", summary="Clear my footprints (204)", tags=TAGS,
          auth="customer", status=204)  # fmt: skip
def clear_footprints(principal: Principal) -> Response:
    service.clear_footprints(repo, principal.user_id)
    return no_content()


@endpoint(profile_api, "/me/search-history", summary="My last 20 distinct search keywords, newest first",
          tags=TAGS, auth="customer", response=SearchHistory)  # fmt: skip
def list_search_history(principal: Principal) -> dict[str, Any]:
    return service.list_search_history(repo, principal.user_id)


@endpoint(profile_api, "/me/search-history", "DELETE", summary="Clear my search history (204)", tags=TAGS,
          auth="customer", status=204)  # fmt: skip
def clear_search_history(principal: Principal) -> Response:
    service.clear_search_history(repo, principal.user_id)
    return no_content()
