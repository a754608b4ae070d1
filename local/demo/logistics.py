"""The demo's logistics: a few freight templates, and the admin's own shipped order whose 顺丰 parcel has tracking
events, kept from pushes signed as kuaidi100 signs them (with the subscription salt the emulator handed the app)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.bootstrap import Container
from chalicelib.clock import clock_at, iso, utcnow
from chalicelib.errors import DomainError
from chalicelib.logistics import config
from chalicelib.logistics.schemas import FreightTemplateWrite
from chalicelib.orders import parcels, placing
from chalicelib.orders import service as orders
from chalicelib.orders.schemas import OrderCreate, ShipmentWrite
from chalicelib.profile import service as profile
from chalicelib.profile.schemas import AddressWrite

FAR_WEST = ["新疆维吾尔自治区", "西藏自治区", "青海省", "内蒙古自治区"]
TEMPLATES: dict[str, dict[str, Any]] = {
    "ft_demo_standard": {
        "name": "标准快递（满99包邮）",
        "default": {"first_weight_g": 1000, "first_fee_fen": 800, "extra_weight_g": 1000, "extra_fee_fen": 500},
        "regions": [
            {
                "provinces": FAR_WEST,
                "first_weight_g": 1000,
                "first_fee_fen": 2000,
                "extra_weight_g": 1000,
                "extra_fee_fen": 1000,
            },
        ],
        "free_over_fen": 9900,
    },
    "ft_demo_bulky": {
        "name": "大件物流",
        "default": {"first_weight_g": 5000, "first_fee_fen": 3000, "extra_weight_g": 1000, "extra_fee_fen": 300},
        "excluded_provinces": ["香港特别行政区", "澳门特别行政区", "台湾省"],
    },
    "ft_demo_free": {
        "name": "全国包邮（偏远地区除外）",
        "default": {"first_weight_g": 1000, "first_fee_fen": 0, "extra_weight_g": 1000, "extra_fee_fen": 0},
        "excluded_provinces": ["新疆维吾尔自治区", "西藏自治区"],
    },
}
TRACKING_NO = "SF1400000001"
# (hours before now, kuaidi100 state, context, area): the parcel's route so far, oldest first.
ROUTE = (
    (46, "1", "【深圳市】顺丰速运 已收取快件", "广东省深圳市"),
    (40, "0", "快件已到达【深圳宝安中转场】", "广东省深圳市"),
    (30, "0", "快件已从【深圳宝安中转场】发出，正在发往【上海浦东中转场】", "广东省深圳市"),
    (8, "0", "快件已到达【上海浦东中转场】", "上海市"),
    (2, "5", "快件交给顺丰快递员，正在派送途中（派件人：王师傅）", "上海市浦东新区"),
)
ADDRESS = {"receiver": "演示管理员", "phone": "13800138000", "province": "上海市", "city": "上海市",
           "district": "浦东新区", "detail": "世纪大道 1 号"}  # fmt: skip


def seed_logistics(container: Container, admin_id: str, product: dict[str, Any]) -> dict[str, Any]:
    """The templates and the tracked order, unless they are there already; what the banner says of them."""
    for template_id, body in TEMPLATES.items():
        if container.freight.template(template_id) is None:
            now = iso(utcnow())
            write = FreightTemplateWrite.model_validate(body)
            template = {**write.model_dump(), "template_id": template_id, "created_at": now, "updated_at": now}
            container.freight.save_template(template, create=True)
    tracked = _tracked_order(container, admin_id, product)
    return {"freight_templates": len(TEMPLATES), "tracked_parcel": TRACKING_NO if tracked else "none"}


def _tracked_order(container: Container, admin_id: str, product: dict[str, Any]) -> bool:
    """The admin's order of one unit, paid and shipped two days ago with 顺丰, and its parcel's events pushed."""
    shop, now = container.shop, utcnow()
    salt = config.subscription_salt()
    sku = next((s for s in product["skus"] if s.get("stock", 0) > 1), None)
    if not salt or sku is None:
        return False
    book = profile.list_addresses(container.profile, admin_id)["items"]
    address_id = book[0]["address_id"] if book else None
    if address_id is None:
        write = AddressWrite.model_validate(ADDRESS)
        address_id = profile.create_address(container.profile, admin_id, write)["address_id"]
    body = OrderCreate.model_validate({"address_id": address_id, "items": [{"sku_id": sku["sku_id"], "quantity": 1}]})
    try:
        with clock_at(now - timedelta(hours=50)):
            order = placing.create_order(shop, admin_id, "demo-tracked-parcel", body)
        order_id = order["order_id"]
        if orders.owned(shop, None, order_id).status == "PENDING_PAYMENT":
            with clock_at(now - timedelta(hours=49, minutes=55)):
                orders.confirm_payment(shop, order_id, "pay_demo_tracked", order["amounts"]["payable_fen"])
            with clock_at(now - timedelta(hours=47)):
                orders.ship_order(shop, order_id, ShipmentWrite(carrier="SF", tracking_no=TRACKING_NO))
    except DomainError:  # sold out, or the order moved on meanwhile: the demo goes without it
        return False
    if container.parcels.events(TRACKING_NO, "shunfeng"):
        return True  # pushed already (its times were those of that seed)
    param = json.dumps(_push(now), ensure_ascii=False)
    sign = hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()
    parcels.receive_push(shop, container.parcels, urlencode({"param": param, "sign": sign}))
    return True


def _push(now: datetime) -> dict[str, Any]:
    """kuaidi100's push of the route so far (newest first, Beijing times)."""
    data = []
    for hours, _state, context, area in reversed(ROUTE):
        at = (now - timedelta(hours=hours) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
        data.append({"context": context, "time": at, "ftime": at, "areaName": area, "status": "在途"})
    last = {"message": "ok", "state": ROUTE[-1][1], "status": "200", "ischeck": "0", "com": "shunfeng"}
    return {"status": "polling", "message": "", "lastResult": {**last, "nu": TRACKING_NO, "data": data}}
