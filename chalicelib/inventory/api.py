"""HTTP routes of inventory: the signed-in user's restock reservations and the admin's low-stock list."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.auth import Principal
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.inventory import service
from chalicelib.inventory.repository import InventoryRepository
from chalicelib.inventory.schemas import (
    LowStockPage,
    ReservationCreated,
    ReservationList,
    ReservationWrite,
)
from chalicelib.pagination import PageQuery
from chalicelib.routes import Json, Routes

inventory_api = Routes(__name__, tags=("inventory",), admin_tags=("admin",))


@inventory_api.post("/me/reservations", status=201, errors=(404, 409))
def create_reservation(
    principal: Principal, body: ReservationWrite, inventory: InventoryRepository, catalog: CatalogRepository
) -> Json[ReservationCreated]:
    """Reserve a sold-out SKU: its restock is texted to me once (201; already waiting: the same reservation,
    newly_reserved false; 404 unknown SKU; 409 INVALID_STATE while it is in stock)"""
    return service.reserve(inventory, catalog, principal.user_id, body.sku_id)


@inventory_api.get("/me/reservations")
def list_reservations(
    principal: Principal, inventory: InventoryRepository, catalog: CatalogRepository
) -> Json[ReservationList]:
    """My reservations, newest first, with each SKU's card, stock now and notified_at"""
    return service.list_reservations(inventory, catalog, principal.user_id)


@inventory_api.delete("/me/reservations/{sku_id}", status=204, errors=(404, 409))
def cancel_reservation(principal: Principal, sku_id: str, inventory: InventoryRepository) -> Response:
    """Cancel my reservation of a SKU (204; 404 if I hold none)"""
    service.cancel_reservation(inventory, principal.user_id, sku_id)
    return Response(body="", status_code=204)


@inventory_api.get("/admin/inventory/low-stock", roles=("operator",))
def list_low_stock(query: PageQuery, inventory: InventoryRepository) -> Json[LowStockPage]:
    """SKUs under their low-stock threshold, by sku_id"""
    return service.list_low_stock(inventory, query)
