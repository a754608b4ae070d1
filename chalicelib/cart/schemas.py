"""Request and response models of the cart routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt

from chalicelib.cart.domain import MAX_QUANTITY
from chalicelib.schema import BaseModel

SKU_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"


class CartQuery(BaseModel):
    """?address_id=: the address shipping is priced to (else the default one)."""

    model_config = ConfigDict(extra="ignore")

    address_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_\-]{1,64}$")


class CartItemWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=SKU_ID_PATTERN)
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY, description="Added to the quantity already in the cart")


class CartItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: StrictInt | None = Field(None, ge=1, le=MAX_QUANTITY, description="The new quantity")
    selected: StrictBool | None = Field(None, description="Whether the line counts toward the totals and orders")


class CartLine(BaseModel):
    sku_id: str
    quantity: int
    selected: bool
    added_at: str


class MovedToFavorites(BaseModel):
    sku_id: str
    product_id: str
    favorited_at: str


class CartItem(BaseModel):
    sku_id: str
    product_id: str
    title: str
    attributes: dict[str, str]
    image_url: str | None
    price_fen: int | None = Field(description="Today's unit price (a running promotional price if lower); null if "
                                  "the SKU is gone")  # fmt: skip
    list_price_fen: int | None
    promotion_id: str | None = Field(description="The time-limited promotion giving price_fen, if any")
    member_price_fen: int | None = Field(
        None, description="My member price (my level's), when it is below price_fen; line_total_fen is at it"
    )
    quantity: int
    selected: bool
    available: bool = Field(description="false when the SKU is gone, off sale, or has less stock than the quantity")
    unavailable_reason: Literal["gone", "off_sale", "sold_out", "not_enough_stock"] | None
    stock: int
    line_total_fen: int | None
    added_at: str


class CartSummary(BaseModel):
    subtotal_fen: int = Field(description="Selected, available lines at list price")
    discount_fen: int = Field(description="Promotions, member prices and the best coupon")
    payable_fen: int = Field(description="subtotal - discount + shipping (points are chosen at checkout)")
    promotion_discount_fen: int
    coupon_discount_fen: int
    member_discount_fen: int = Field(0, description="What member prices take off (in discount_fen)")
    shipping_fen: int
    selected_quantity: int
    applied_promotions: list[str]


class CouponOption(BaseModel):
    coupon_id: str
    template_id: str
    name: str
    type: Literal["amount_off", "percent_off"]
    threshold_fen: int
    amount_off_fen: int | None
    percent_off: int | None
    max_discount_fen: int | None
    scope: Literal["all", "category", "product"]
    scope_ids: list[str]
    valid_to: str
    discount_fen: int = Field(description="What it would take off this cart")


class CartCoupons(BaseModel):
    applicable: list[CouponOption] = Field(description="The user's coupons that take something off, best first")
    best: CouponOption | None


class Cart(BaseModel):
    items: list[CartItem]
    summary: CartSummary
    coupons: CartCoupons


class GuestCart(BaseModel):
    guest_cart_token: str = Field(description="Send it in the X-Guest-Cart header of the cart routes")
    expires_at: str = Field(description="When the cart goes if it does not change before (30 days from a change)")


class CartMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guest_cart_token: str = Field(min_length=1, max_length=2048)


class NotMerged(BaseModel):
    sku_id: str
    quantity: int = Field(description="How many of the guest line did not fit")
    reason: Literal["quantity_limit", "cart_full"]


class MergedCart(Cart):
    not_merged: list[NotMerged]
