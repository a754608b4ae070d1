"""HTTP routes of orders: place, read, list, cancel, receive, track, ask for a refund; the admin's list, read, ship
and refund decisions."""

from __future__ import annotations

import csv
import io

from chalice.app import Request, Response

from chalicelib.accounts.repository import AccountsRepository
from chalicelib.auth import Principal
from chalicelib.orders import admin_search, aftersales, parcels, placing, reports, service
from chalicelib.orders.schemas import (
    AdminOrdersQuery,
    Order,
    OrderCreate,
    OrderPage,
    OrderPreview,
    OrderPreviewRequest,
    OrdersExportQuery,
    OrdersQuery,
    Refund,
    RefundList,
    RefundPage,
    RefundRejection,
    RefundRequest,
    RefundsQuery,
    ShipmentWrite,
    Tracking,
)
from chalicelib.orders.service import Shop
from chalicelib.routes import Json, Routes
from chalicelib.uploads.domain import OwnImages

orders_api = Routes(__name__, tags=("orders",))
KEY_HEADER = (("Idempotency-Key", True, "1..255 characters; the same key and body return the original order"),)


@orders_api.post("/orders", status=201, errors=(400, 404, 409), headers=KEY_HEADER)
def create_order(principal: Principal, body: OrderCreate, request: Request, shop: Shop) -> Json[Order]:
    """Place an order (priced on the server; 409 OUT_OF_STOCK names the SKUs)"""
    return placing.create_order(shop, principal.user_id, request.headers.get("idempotency-key"), body)


@orders_api.post("/orders/preview", errors=(400, 404, 409))
def preview_order(principal: Principal, body: OrderPreviewRequest, shop: Shop) -> Json[OrderPreview]:
    """Price an order body as POST /orders would charge it now (coupons, points, shipping to the default address when
    none is named); writes and reserves nothing, refuses what the order would refuse"""
    return placing.preview_order(shop, principal.user_id, body)


@orders_api.get("/orders/{order_id}", errors=(404,))
def get_order(principal: Principal, order_id: str, shop: Shop) -> Json[Order]:
    """One of my orders with its status and timeline"""
    return service.get_order(shop, principal.user_id, order_id)


@orders_api.get("/me/orders")
def list_my_orders(principal: Principal, query: OrdersQuery, shop: Shop) -> Json[OrderPage]:
    """My orders, newest first, optionally in one status"""
    return service.list_orders(shop, principal.user_id, query)


@orders_api.post("/orders/{order_id}/cancel", errors=(404, 409))
def cancel_order(principal: Principal, order_id: str, shop: Shop) -> Json[Order]:
    """Cancel an unpaid order (stock, coupon and points come back)"""
    return service.cancel_order(shop, principal.user_id, order_id)


@orders_api.post("/orders/{order_id}/receive", errors=(404, 409))
def receive_order(principal: Principal, order_id: str, shop: Shop) -> Json[Order]:
    """Confirm receipt of a shipped order"""
    return service.receive_order(shop, principal.user_id, order_id)


@orders_api.get("/orders/{order_id}/tracking", errors=(404, 409))
def order_tracking(principal: Principal, order_id: str, shop: Shop) -> Json[Tracking]:
    """Where my shipped order is, as its carrier reports"""
    return parcels.tracking(shop, principal.user_id, order_id)


@orders_api.get("/admin/orders", roles=("service",))
def list_all_orders(query: AdminOrdersQuery, shop: Shop, accounts: AccountsRepository) -> Json[OrderPage]:
    """Search every order, newest first: by order number, buyer (user id or phone), days placed (Asia/Shanghai)
    and status, combined"""
    return admin_search.list_admin_orders(shop.orders, accounts, query)


@orders_api.get("/admin/orders/export.csv", media_type="text/csv", roles=("analyst", "service"))
def export_orders(query: OrdersExportQuery, shop: Shop) -> Response:
    """The orders of ?from=..&to= (Asia/Shanghai days, at most 92), optionally in one ?status=, as CSV (UTF-8 with
    a BOM, so Excel reads the Chinese)"""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(reports.export_rows(shop, query.from_, query.to, query.status))
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="orders-{query.from_.isoformat()}-{query.to.isoformat()}.csv"',
        "Cache-Control": "no-store",
    }
    return Response(body="\ufeff" + out.getvalue(), status_code=200, headers=headers)


@orders_api.get("/admin/orders/{order_id}", errors=(404,), roles=("service",))
def admin_get_order(order_id: str, shop: Shop) -> Json[Order]:
    """Any order"""
    return service.get_order(shop, None, order_id)


@orders_api.post("/admin/orders/{order_id}/ship", errors=(404, 409), roles=("service",))
def ship_order(order_id: str, body: ShipmentWrite, shop: Shop) -> Json[Order]:
    """Ship a paid order"""
    return service.ship_order(shop, order_id, body)


@orders_api.post("/orders/{order_id}/refunds", status=201, errors=(400, 404, 409))
def request_refund(
    principal: Principal, order_id: str, body: RefundRequest, shop: Shop, own_images: OwnImages
) -> Json[Refund]:
    """Open an after-sales case of the whole order or of some units (items): refund_only while paid, return_refund
    or exchange once shipped or received (within the return window), repair also once completed; staff decide"""
    return aftersales.request_case(shop, own_images, principal.user_id, order_id, body)


@orders_api.get("/orders/{order_id}/refunds", errors=(404,))
def order_refunds(principal: Principal, order_id: str, shop: Shop) -> Json[RefundList]:
    """The refunds of one of my orders, oldest first"""
    return service.order_refunds(shop, principal.user_id, order_id)


@orders_api.get("/admin/refunds", roles=("service",))
def list_refunds(query: RefundsQuery, shop: Shop) -> Json[RefundPage]:
    """After-sales cases newest first, optionally of one status (PENDING: the queue to decide) and one type"""
    return aftersales.list_cases(shop, query.status, query.type, query.page_size, query.cursor)


@orders_api.post("/admin/refunds/{refund_id}/approve", errors=(404, 409), roles=("service",))
def approve_refund(refund_id: str, shop: Shop) -> Json[Refund]:
    """Approve a pending case: a refund's money goes back through the paying channel, then stock and points; a
    return waits for the parcel"""
    return aftersales.approve_case(shop, refund_id)


@orders_api.post("/admin/refunds/{refund_id}/reject", errors=(400, 404, 409), roles=("service",))
def reject_refund(refund_id: str, body: RefundRejection, shop: Shop) -> Json[Refund]:
    """Reject a pending case with a reason: the order goes back to where it was, its units are free again"""
    return aftersales.reject_case(shop, refund_id, body)
