"""Request, query and response models of the order routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, model_validator

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
    points_deduction_fen: int
    shipping_fen: int
    payable_fen: int


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


RefundType = Literal["refund_only", "return_refund"]
RefundStatus = Literal["PENDING", "APPROVED", "REJECTED", "REFUNDED"]


class RefundRequest(BaseModel):
    """refund_only while PAID (nothing shipped); return_refund once SHIPPED or RECEIVED, within the return window."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: RefundType
    reason: str = Field(min_length=1, max_length=200)


class RefundRejection(BaseModel):
    """Why the admin refuses (the customer sees it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=200)


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
    user_id: str | None = Field(None, description="The customer (admin views only)")


class RefundList(BaseModel):
    items: list[Refund]


class RefundPage(BaseModel):
    items: list[Refund]
    next_cursor: str | None


class RefundsQuery(PageQuery):
    status: RefundStatus | None = None


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None


class OrdersQuery(PageQuery):
    status: OrderStatus | None = None


class ShipmentWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    carrier: str = Field(min_length=1, max_length=40)
    tracking_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class TrackingEvent(BaseModel):
    status: str
    description: str
    at: str


class Tracking(BaseModel):
    order_id: str
    carrier: str
    tracking_no: str
    events: list[TrackingEvent]
