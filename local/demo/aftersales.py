"""The demo's after-sales cases, on the admin's own orders: one with a unit refunded (its line shows
`refunded_quantity`, its amounts `refunded_fen`) and one shipped order with an exchange under way (the buyer shipped
the unit back: RETURN_SHIPPED)."""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Container
from chalicelib.errors import DomainError
from chalicelib.orders import aftersales, placing
from chalicelib.orders import service as orders
from chalicelib.orders.schemas import OrderCreate, RefundRequest, ShipmentWrite
from chalicelib.profile import service as profile
from chalicelib.profile.schemas import AddressWrite
from local.demo.logistics import ADDRESS


def seed_aftersales(container: Container, admin_id: str, product: dict[str, Any]) -> dict[str, Any]:
    """Both cases, unless they are there already; what the banner says of them."""
    sku = next((s for s in product["skus"] if s.get("stock", 0) > 5), None)
    if sku is None:
        return {"aftersales_cases": 0}
    address_id = _address(container, admin_id)
    made, shop, sku_id = 0, container.shop, sku["sku_id"]
    try:
        refunded = _paid_order(container, admin_id, address_id, sku_id, 3, "demo-partial-refund")
        if not refunded.refund_ids:
            unit = {"sku_id": sku_id, "quantity": 1}
            write = RefundRequest.model_validate({"type": "refund_only", "reason": "买多了一件", "items": [unit]})
            case = aftersales.request_case(shop, container.own_images, admin_id, refunded.order_id, write)
            aftersales.approve_case(shop, case["refund_id"])
            aftersales.complete_case(shop, case["refund_id"])  # its execution then finds it refunded
        made += 1
        exchanged = _paid_order(container, admin_id, address_id, sku_id, 2, "demo-exchange")
        if exchanged.status == "PAID":
            orders.ship_order(shop, exchanged.order_id, ShipmentWrite(carrier="SF", tracking_no="SF1400000002"))
        if not exchanged.refund_ids:
            unit = {"sku_id": sku_id, "quantity": 1, "to_sku_id": sku_id}
            write = RefundRequest.model_validate({"type": "exchange", "reason": "屏幕有划痕，换一台", "items": [unit]})
            case = aftersales.request_case(shop, container.own_images, admin_id, exchanged.order_id, write)
            aftersales.approve_case(shop, case["refund_id"])
            aftersales.ship_return(shop, admin_id, exchanged.order_id, case["refund_id"], "SF", "SF1400000003")
        made += 1
    except DomainError:  # sold out, or an order moved on meanwhile: the demo goes without it
        pass
    return {"aftersales_cases": made}


def _address(container: Container, admin_id: str) -> str:
    book = profile.list_addresses(container.profile, admin_id)["items"]
    if book:
        return str(book[0]["address_id"])
    return str(profile.create_address(container.profile, admin_id, AddressWrite.model_validate(ADDRESS))["address_id"])


def _paid_order(container: Container, admin_id: str, address_id: str, sku_id: str, quantity: int, key: str) -> Any:
    shop = container.shop
    body = OrderCreate.model_validate({"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": quantity}]})
    order = placing.create_order(shop, admin_id, key, body)
    if orders.owned(shop, None, order["order_id"]).status == "PENDING_PAYMENT":
        orders.confirm_payment(shop, order["order_id"], f"pay_{key}", order["amounts"]["payable_fen"])
    return orders.owned(shop, None, order["order_id"])
