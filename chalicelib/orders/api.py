"""HTTP routes of orders: place, read, list, cancel, receive, track, ask for a refund; the admin's list, read, ship
and refund decisions."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.http import Principal, endpoint
from chalicelib.orders import service
from chalicelib.orders.schemas import (
    Order,
    OrderCreate,
    OrderPage,
    OrderPreview,
    OrderPreviewRequest,
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
from chalicelib.orders.wiring import promotions_now, shop

orders_api = Blueprint(__name__)
TAGS = ("orders",)
KEY_HEADER = (("Idempotency-Key", True, "1..255 characters; the same key and body return the original order"),)


@endpoint(orders_api, "/orders", "POST", summary="Place an order (priced on the server; 409 OUT_OF_STOCK names the "
          "SKUs)", tags=TAGS, auth="customer", body=OrderCreate, response=Order, status=201,
          errors=(400, 404, 409), headers=KEY_HEADER)  # fmt: skip
def create_order(principal: Principal, body: OrderCreate, request: Request) -> dict[str, Any]:
    key = request.headers.get("idempotency-key")
    return service.create_order(shop(), principal.user_id, key, body, promotions_now())


@endpoint(orders_api, "/orders/preview", "POST", summary="Price an order body as POST /orders would charge it "
          "now (coupons, points, shipping to the default address when none is named); writes and reserves nothing, "
          "refuses what the order would refuse", tags=TAGS, auth="customer", body=OrderPreviewRequest,
          response=OrderPreview, errors=(400, 404, 409))  # fmt: skip
def preview_order(principal: Principal, body: OrderPreviewRequest) -> dict[str, Any]:
    return service.preview_order(shop(), principal.user_id, body, promotions_now())


@endpoint(orders_api, "/orders/{order_id}", summary="One of my orders with its status and timeline", tags=TAGS,
          auth="customer", response=Order, errors=(404,))  # fmt: skip
def get_order(principal: Principal, order_id: str) -> dict[str, Any]:
    return service.get_order(shop(), principal.user_id, order_id)


@endpoint(orders_api, "/me/orders", summary="My orders, newest first, optionally in one status", tags=TAGS,
          auth="customer", query=OrdersQuery, response=OrderPage)  # fmt: skip
def list_my_orders(principal: Principal, query: OrdersQuery) -> dict[str, Any]:
    return service.list_orders(shop(), principal.user_id, query)


@endpoint(orders_api, "/orders/{order_id}/cancel", "POST", summary="Cancel an unpaid order (stock, coupon and "
          "points come back)", tags=TAGS, auth="customer", response=Order, errors=(404, 409))  # fmt: skip
def cancel_order(principal: Principal, order_id: str) -> dict[str, Any]:
    return service.cancel_order(shop(), principal.user_id, order_id)


@endpoint(orders_api, "/orders/{order_id}/receive", "POST", summary="Confirm receipt of a shipped order", tags=TAGS,
          auth="customer", response=Order, errors=(404, 409))  # fmt: skip
def receive_order(principal: Principal, order_id: str) -> dict[str, Any]:
    return service.receive_order(shop(), principal.user_id, order_id)


@endpoint(orders_api, "/orders/{order_id}/tracking", summary="Where my shipped order is, as its carrier reports",
          tags=TAGS, auth="customer", response=Tracking, errors=(404, 409))  # fmt: skip
def order_tracking(principal: Principal, order_id: str) -> dict[str, Any]:
    return service.tracking(shop(), principal.user_id, order_id)


@endpoint(orders_api, "/admin/orders", summary="Every order, newest first, optionally in one status", tags=TAGS,
          auth="admin", query=OrdersQuery, response=OrderPage)  # fmt: skip
def list_all_orders(query: OrdersQuery) -> dict[str, Any]:
    return service.list_orders(shop(), None, query)


@endpoint(orders_api, "/admin/orders/{order_id}", summary="Any order", tags=TAGS, auth="admin", response=Order,
          errors=(404,))  # fmt: skip
def admin_get_order(order_id: str) -> dict[str, Any]:
    return service.get_order(shop(), None, order_id)


@endpoint(orders_api, "/admin/orders/{order_id}/ship", "POST", summary="Ship a paid order", tags=TAGS, auth="admin",
          body=ShipmentWrite, response=Order, errors=(404, 409))  # fmt: skip
def ship_order(order_id: str, body: ShipmentWrite) -> dict[str, Any]:
    return service.ship_order(shop(), order_id, body)


@endpoint(orders_api, "/orders/{order_id}/refunds", "POST", summary="Ask for a refund: refund_only while paid, "
          "return_refund once shipped or received (within the return window); the admin decides", tags=TAGS,
          auth="customer", body=RefundRequest, response=Refund, status=201, errors=(400, 404, 409))  # fmt: skip
def request_refund(principal: Principal, order_id: str, body: RefundRequest) -> dict[str, Any]:
    return service.request_refund(shop(), principal.user_id, order_id, body)


@endpoint(orders_api, "/orders/{order_id}/refunds", summary="The refunds of one of my orders, oldest first",
          tags=TAGS, auth="customer", response=RefundList, errors=(404,))  # fmt: skip
def order_refunds(principal: Principal, order_id: str) -> dict[str, Any]:
    return service.order_refunds(shop(), principal.user_id, order_id)


@endpoint(orders_api, "/admin/refunds", summary="Refunds newest first, optionally in one status (PENDING: the "
          "queue to decide)", tags=TAGS, auth="admin", query=RefundsQuery, response=RefundPage)  # fmt: skip
def list_refunds(query: RefundsQuery) -> dict[str, Any]:
    return service.list_refunds(shop(), query)


@endpoint(orders_api, "/admin/refunds/{refund_id}/approve", "POST", summary="Approve a pending refund: the money "
          "goes back through the paying channel, then stock and points", tags=TAGS, auth="admin", response=Refund,
          errors=(404, 409))  # fmt: skip
def approve_refund(refund_id: str) -> dict[str, Any]:
    return service.approve_refund(shop(), refund_id)


@endpoint(orders_api, "/admin/refunds/{refund_id}/reject", "POST", summary="Reject a pending refund with a reason: "
          "the order goes back to where it was", tags=TAGS, auth="admin", body=RefundRejection, response=Refund,
          errors=(400, 404, 409))  # fmt: skip
def reject_refund(refund_id: str, body: RefundRejection) -> dict[str, Any]:
    return service.reject_refund(shop(), refund_id, body)
