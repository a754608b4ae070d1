"""HTTP routes of inventory: the signed-in user's restock reservations and the admin's low-stock list."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.http import Principal, endpoint
from chalicelib.inventory import service
from chalicelib.inventory.repository import DynamoInventoryRepository
from chalicelib.inventory.schemas import (
    LowStockPage,
    ReservationCreated,
    ReservationList,
    ReservationWrite,
)
from chalicelib.pagination import PageQuery

inventory_api = Blueprint(__name__)
repo = DynamoInventoryRepository()
catalog = DynamoCatalogRepository()
TAGS = ("inventory",)


@endpoint(inventory_api, "/me/reservations", "POST", summary="Reserve a sold-out SKU: its restock is texted to "
          "me once (201; already waiting: the same reservation, newly_reserved false; 404 unknown SKU; "
          "409 INVALID_STATE while it is in stock)", tags=TAGS, auth="customer", body=ReservationWrite,
          response=ReservationCreated, status=201, errors=(404, 409))  # fmt: skip
def create_reservation(principal: Principal, body: ReservationWrite) -> dict[str, Any]:
    return service.reserve(repo, catalog, principal.user_id, body.sku_id)


@endpoint(inventory_api, "/me/reservations", summary="My reservations, newest first, with each SKU's card, stock "
          "now and notified_at", tags=TAGS, auth="customer", response=ReservationList)  # fmt: skip
def list_reservations(principal: Principal) -> dict[str, Any]:
    return service.list_reservations(repo, catalog, principal.user_id)


@endpoint(inventory_api, "/me/reservations/{sku_id}", "DELETE", summary="Cancel my reservation of a SKU (204; "
          "404 if I hold none)", tags=TAGS, auth="customer", status=204, errors=(404, 409))  # fmt: skip
def cancel_reservation(principal: Principal, sku_id: str) -> Response:
    service.cancel_reservation(repo, principal.user_id, sku_id)
    return Response(body="", status_code=204)


@endpoint(inventory_api, "/admin/inventory/low-stock", summary="SKUs under their low-stock threshold, by sku_id",
          tags=("admin",), auth="admin", query=PageQuery, response=LowStockPage)  # fmt: skip
def list_low_stock(query: PageQuery) -> dict[str, Any]:
    return service.list_low_stock(repo, query)
