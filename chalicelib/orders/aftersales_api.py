"""HTTP routes of after-sales cases beside those of chalicelib/orders/api.py: a case of mine, its return parcel and
its cancellation; the staff's receipt of a return and reshipment."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.orders import aftersales
from chalicelib.orders.schemas import Refund, ShipmentWrite
from chalicelib.orders.service import Shop
from chalicelib.routes import Json, Routes

aftersales_api = Routes(__name__, tags=("orders",))


@aftersales_api.get("/orders/{order_id}/refunds/{refund_id}", errors=(404,))
def get_case(principal: Principal, order_id: str, refund_id: str, shop: Shop) -> Json[Refund]:
    """One after-sales case of my order, with its return parcel, reshipment and timeline"""
    return aftersales.get_case(shop, principal.user_id, order_id, refund_id)


@aftersales_api.post("/orders/{order_id}/refunds/{refund_id}/return-shipment", errors=(400, 404, 409))
def ship_return(principal: Principal, order_id: str, refund_id: str, body: ShipmentWrite, shop: Shop) -> Json[Refund]:
    """I sent the units of an approved return, exchange or repair back: the carrier and tracking number"""
    return aftersales.ship_return(shop, principal.user_id, order_id, refund_id, body.carrier, body.tracking_no)


@aftersales_api.post("/orders/{order_id}/refunds/{refund_id}/cancel", errors=(404, 409))
def cancel_case(principal: Principal, order_id: str, refund_id: str, shop: Shop) -> Json[Refund]:
    """Withdraw my case while it is pending (or approved, before the return is shipped): its units are free again"""
    return aftersales.cancel_case(shop, principal.user_id, order_id, refund_id)


@aftersales_api.post("/admin/refunds/{refund_id}/receive-return", errors=(404, 409), roles=("service",))
def receive_return(refund_id: str, shop: Shop) -> Json[Refund]:
    """The returned units arrived: back in stock; a return's refund is paid at once"""
    return aftersales.receive_return(shop, refund_id)


@aftersales_api.post("/admin/refunds/{refund_id}/reship", errors=(400, 404, 409), roles=("service",))
def reship(refund_id: str, body: ShipmentWrite, shop: Shop) -> Json[Refund]:
    """Ship the exchanged or repaired units (taken from stock: 409 OUT_OF_STOCK)"""
    return aftersales.reship_case(shop, refund_id, body.carrier, body.tracking_no)
