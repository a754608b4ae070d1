"""Request, query and response models of the order routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from chalicelib.orders.repository import MAX_LINES
from chalicelib.pagination import PageQuery
from chalicelib.pricing.checkout import CouponRequest
from chalicelib.pricing.model import BEST_COUPON
from chalicelib.schema import BaseModel

OrderStatus = Literal[
    "PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED", "COMPLETED", "CANCELLED", "REFUNDING", "REFUNDED"
]  # fmt: skip
ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"


class OrderLineWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=ID_PATTERN)
    quantity: StrictInt = Field(ge=1, le=999)


class _OrderBody(BaseModel):
    """What POST /orders and its preview share: either items or from_cart (the cart's selected lines); prices
    always come from the catalog."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    items: list[OrderLineWrite] | None = Field(None, min_length=1, max_length=MAX_LINES)
    from_cart: StrictBool = False
    coupon_id: str | None = Field(None, pattern=ID_PATTERN, description="Omitted: the best applicable coupon (the "
                                  "cart's `best`); null: no coupon; an id: that coupon (409 COUPON_NOT_APPLICABLE "
                                  "when it takes nothing off)")  # fmt: skip
    points: StrictInt = Field(0, ge=0, le=100_000_000, description="A multiple of 100; at most half the goods")
    remark: str = Field("", max_length=200)
    expected_payable_fen: StrictInt | None = Field(None, ge=0, le=10**12, description="What the preview showed: "
                                                   "another amount -> 409 PRICE_CHANGED, nothing reserved")  # fmt: skip

    @model_validator(mode="after")
    def _one_source(self) -> _OrderBody:
        if (self.items is None) == (not self.from_cart):
            raise ValueError("Give either items or from_cart: true")
        return self

    def coupon_request(self) -> CouponRequest:
        """The coupon asked for: BEST_COUPON when coupon_id is omitted, None when it is null, else that id."""
        return self.coupon_id if "coupon_id" in self.model_fields_set else BEST_COUPON


class OrderCreate(_OrderBody):
    address_id: str = Field(pattern=ID_PATTERN)


class OrderPreviewRequest(_OrderBody):
    """The body of POST /orders; without address_id the default address prices the shipping."""

    address_id: str | None = Field(None, pattern=ID_PATTERN, description="Omitted or null: the default address "
                                   "(none: no shipping yet)")  # fmt: skip


class Amounts(BaseModel):
    items_fen: int
    discount_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    member_discount_fen: int = Field(0, description="What member prices take off (in discount_fen)")
    points_deduction_fen: int
    shipping_fen: int
    payable_fen: int
    refunded_fen: int = Field(0, description="What after-sales cases refunded so far")


class OrderLine(BaseModel):
    sku_id: str
    product_id: str
    title: str
    attributes: dict[str, str]
    image_url: str | None
    quantity: int
    list_price_fen: int
    unit_price_fen: int
    promotion_id: str | None
    line_total_fen: int
    payable_fen: int
    refunded_quantity: int = 0


class CouponApplicable(BaseModel):
    coupon_id: str
    name: str
    discount_fen: int = Field(description="What it takes off this order")


class CouponUnavailable(BaseModel):
    coupon_id: str
    name: str
    reason: str = Field(description="Why it takes nothing off this order, e.g. how much is missing to its threshold")


class PreviewCoupons(BaseModel):
    applicable: list[CouponApplicable] = Field(description="My usable coupons that take something off, best first")
    unavailable: list[CouponUnavailable] = Field(description="My usable coupons that take nothing off this order")


class PreviewPoints(BaseModel):
    balance: int
    max_usable: int = Field(description="The most points this order may use: half its goods, at most the balance, "
                            "in whole yuan")  # fmt: skip
    used: int
    deduction_fen: int


class OrderPreview(BaseModel):
    """What POST /orders would charge for the same body, now; nothing is written or reserved."""

    items: list[OrderLine]
    amounts: Amounts
    coupon_id: str | None = Field(description="The coupon applied (the best one when the body names none)")
    coupons: PreviewCoupons
    points: PreviewPoints
    address_id: str | None = Field(description="The address shipping is priced to (null: none, shipping 0)")


class TimelineEntry(BaseModel):
    status: OrderStatus
    at: str


class Order(BaseModel):
    order_id: str
    order_no: str
    kind: Literal["normal", "points_exchange", "flash_sale"] = Field(
        "normal", description="flash_sale: a won flash-sale attempt (promo price, its own short pay deadline)"
    )
    status: OrderStatus
    items: list[OrderLine]
    amounts: Amounts
    pay_deadline: str
    created_at: str
    address: dict[str, object]
    remark: str
    coupon_id: str | None
    points_used: int
    timeline: list[TimelineEntry]
    shipment: dict[str, object] | None
    refund_id: str | None = Field(None, description="The order's latest refund (GET /orders/{order_id}/refunds)")


RefundType = Literal["refund_only", "return_refund", "exchange", "repair"]
RefundStatus = Literal[
    "PENDING", "APPROVED", "REJECTED", "RETURN_SHIPPED", "RETURN_RECEIVED", "REFUNDED", "RESHIPPED", "CANCELLED"
]  # fmt: skip


class RefundItemWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=ID_PATTERN)
    quantity: StrictInt = Field(ge=1, le=999)
    to_sku_id: str | None = Field(None, pattern=ID_PATTERN, description="exchange: another SKU, same product and price")


class RefundRequest(BaseModel):
    """refund_only while PAID (nothing shipped); return_refund and exchange once SHIPPED or RECEIVED, within the
    return window; repair also once COMPLETED. No items: the whole order (exchange, repair: every unit left)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: RefundType
    reason: str = Field(min_length=1, max_length=200)
    items: list[RefundItemWrite] | None = Field(None, min_length=1, max_length=MAX_LINES)
    images: list[str] | None = Field(
        None,
        max_length=9,
        description="public_urls of my own completed uploads of purpose after_sales (or feedback); others: 400",
    )

    @field_validator("items")
    @classmethod
    def one_item_per_sku(cls, items: list[RefundItemWrite] | None) -> list[RefundItemWrite] | None:
        if items is not None and len({item.sku_id for item in items}) != len(items):
            raise ValueError("Each SKU may be named once.")
        return items


class RefundRejection(BaseModel):
    """Why the admin refuses (the customer sees it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=200)


class RefundCaseItem(BaseModel):
    sku_id: str
    quantity: int
    to_sku_id: str | None
    amount_fen: int


class ReturnShipment(BaseModel):
    carrier: str
    carrier_code: str | None
    tracking_no: str
    shipped_at: str


class CaseTimelineEntry(BaseModel):
    status: str
    at: str
    by: Literal["customer", "staff", "system"]


class Refund(BaseModel):
    refund_id: str
    order_id: str
    type: RefundType
    reason: str
    status: RefundStatus
    amount_fen: int = Field(description="What goes back through the paying channel, in fen")
    requested_at: str
    decided_at: str | None
    reject_reason: str | None
    refunded_at: str | None
    items: list[RefundCaseItem] = Field(description="The units of the case (empty: the whole order)")
    images: list[str]
    return_shipment: ReturnShipment | None
    reship: ReturnShipment | None
    timeline: list[CaseTimelineEntry]
    user_id: str | None = Field(None, description="The customer (admin views only)")


class RefundList(BaseModel):
    items: list[Refund]


class RefundPage(BaseModel):
    items: list[Refund]
    next_cursor: str | None


class RefundsQuery(PageQuery):
    status: RefundStatus | None = None
    type: RefundType | None = None


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None


class OrdersQuery(PageQuery):
    status: OrderStatus | None = None


class AdminOrdersQuery(OrdersQuery):
    """The admin's search: every filter is optional and they combine (all must hold)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    order_no: str | None = Field(None, pattern=r"^[0-9]{1,32}$", description="exactly this order number")
    user_id: str | None = Field(None, pattern=ID_PATTERN, description="the buyer's user id")
    phone: str | None = Field(
        None, pattern=r"^(\+86)?1[3-9][0-9]{9}$", description="the buyer's account phone (mainland mobile)"
    )
    from_: date | None = Field(None, alias="from", description="first day placed (Asia/Shanghai), YYYY-MM-DD")
    to: date | None = Field(None, description="last day placed, included (Asia/Shanghai), YYYY-MM-DD")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def strict_calendar_date(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or len(value) != 10):
            raise ValueError("A date is written YYYY-MM-DD")
        return value

    @field_validator("from_", "to")
    @classmethod
    def plausible_day(cls, value: date | None) -> date | None:
        if value is not None and not date(2000, 1, 1) <= value <= date(2099, 12, 31):
            raise ValueError("A day between 2000-01-01 and 2099-12-31")
        return value

    @model_validator(mode="after")
    def from_not_after_to(self) -> AdminOrdersQuery:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("The first day (from) must not be after the last (to)")
        return self


class ShipmentWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    carrier: str = Field(min_length=1, max_length=40)
    tracking_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class TrackingEvent(BaseModel):
    time: str = Field(description="When the carrier scanned it (ISO 8601 UTC)")
    context: str = Field(description="What the carrier reported (kuaidi100's context)")
    location: str
    status: str = Field(description="kuaidi100's status word of the event, e.g. 在途, 签收")
    description: str
    at: str


class Tracking(BaseModel):
    order_id: str
    carrier: str = Field(description="As the shipment named it")
    carrier_code: str | None = Field(description="kuaidi100's code; null for a carrier it does not know")
    tracking_no: str
    state: str | None = Field(description="kuaidi100's state: 0 在途, 1 揽收, 2 疑难, 3 签收, 4 退签, 5 派件, 6 退回")
    state_name: str | None
    is_signed: bool
    signed_at: str | None = None
    events: list[TrackingEvent] = Field(description="Newest first")


class OrdersExportQuery(BaseModel):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (Asia/Shanghai days, both included, at most 92) and ?status=."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: date = Field(alias="from", description="first day (Asia/Shanghai), YYYY-MM-DD")
    to: date = Field(description="last day, included, YYYY-MM-DD; at most 92 days after from")
    status: OrderStatus | None = None

    @field_validator("from_", "to", mode="before")
    @classmethod
    def strict_calendar_date(cls, value: object) -> object:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError("A date is written YYYY-MM-DD")
        return value
