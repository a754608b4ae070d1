"""HTTP routes of flash sales: the admin's sessions, the public sessions, a buyer's attempts."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.auth import Principal
from chalicelib.flashsale import service
from chalicelib.flashsale.schemas import (
    AdminFlashSession,
    AdminFlashSessionPage,
    AdminSessionsQuery,
    AttemptQueued,
    AttemptView,
    AttemptWrite,
    FlashSessionList,
    FlashSessionView,
    SessionWrite,
)
from chalicelib.flashsale.service import FlashSale
from chalicelib.routes import Json, Routes

flashsale_api = Routes(__name__, tags=("flash sales",), admin_tags=("admin",))
KEY_HEADER = (("Idempotency-Key", True, "1..255 characters; the same key and body return the original attempt"),)


@flashsale_api.post("/admin/flash-sales", status=201, errors=(404, 409), roles=("operator",))
def create_flash_sale(body: SessionWrite, flash_sale: FlashSale) -> Json[AdminFlashSession]:
    """Create a flash sale session; its promo stock is set aside from each SKU at once (409 OUT_OF_STOCK)"""
    return service.create_session(flash_sale, body)


@flashsale_api.get("/admin/flash-sales", roles=("operator",))
def list_flash_sales_admin(query: AdminSessionsQuery, flash_sale: FlashSale) -> Json[AdminFlashSessionPage]:
    """Every flash sale session, latest end first"""
    return service.admin_sessions(flash_sale, query)


@flashsale_api.put("/admin/flash-sales/{session_id}", errors=(404, 409), roles=("operator",))
def replace_flash_sale(session_id: str, body: SessionWrite, flash_sale: FlashSale) -> Json[AdminFlashSession]:
    """Replace a session before it starts (409 after)"""
    return service.replace_session(flash_sale, session_id, body)


@flashsale_api.delete("/admin/flash-sales/{session_id}", status=204, errors=(404, 409), roles=("operator",))
def delete_flash_sale(session_id: str, flash_sale: FlashSale) -> Response:
    """Delete a session before it starts (409 after); its promo stock goes back to the SKUs"""
    service.delete_session(flash_sale, session_id)
    return Response(body="", status_code=204)


@flashsale_api.get("/flash-sales")
def list_flash_sales(flash_sale: FlashSale) -> Json[FlashSessionList]:
    """Flash sales running now and to come, ending soonest first"""
    return service.running_and_upcoming(flash_sale)


@flashsale_api.get("/flash-sales/{session_id}", errors=(404,))
def get_flash_sale(session_id: str, flash_sale: FlashSale) -> Json[FlashSessionView]:
    """One flash sale with what remains of each SKU"""
    return service.get_session(flash_sale, session_id)


@flashsale_api.post("/flash-sales/{session_id}/attempts", status=202, errors=(404, 409), headers=KEY_HEADER)
def attempt_flash_sale(
    principal: Principal, session_id: str, body: AttemptWrite, request: Request, flash_sale: FlashSale
) -> Json[AttemptQueued]:
    """Try to buy: 202 QUEUED, decided in arrival order (GET the attempt); 409 NOT_STARTED, ENDED, SOLD_OUT,
    LIMIT_REACHED or UNDELIVERABLE (the SKU's freight template excludes the address's province) at once"""
    key = request.headers.get("idempotency-key")
    return service.attempt(flash_sale, principal.user_id, key, session_id, body)


@flashsale_api.get("/flash-sales/attempts/{attempt_id}", errors=(404,))
def get_flash_sale_attempt(principal: Principal, attempt_id: str, flash_sale: FlashSale) -> Json[AttemptView]:
    """One of my attempts: QUEUED, WON (with its order to pay) or LOST (with the reason)"""
    return service.get_attempt(flash_sale, principal.user_id, attempt_id)
