"""Request and response models of the flash-sale routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from chalicelib.flashsale.domain import MAX_ITEMS
from chalicelib.pagination import PageQuery
from chalicelib.schema import BaseModel

ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
MAX_PRICE_FEN = 100_000_000
MAX_PROMO_STOCK = 1_000_000
MAX_LIMIT = 99


class FlashItemWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=ID_PATTERN)
    promo_price_fen: int = Field(ge=1, le=MAX_PRICE_FEN, description="The flash price, below the SKU's price")
    promo_stock: int = Field(ge=1, le=MAX_PROMO_STOCK, description="Units set aside from the SKU's stock at once")
    per_user_limit: int = Field(ge=1, le=MAX_LIMIT, description="Units one buyer may hold (queued and won)")


class SessionWrite(BaseModel):
    """A whole session (PUT replaces every field, before it starts)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=60)
    starts_at: AwareDatetime = Field(description="ISO 8601 with a zone; a past start runs at once")
    ends_at: AwareDatetime = Field(description="ISO 8601 with a zone, after starts_at and ahead")
    items: list[FlashItemWrite] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def consistent(self) -> SessionWrite:
        if self.ends_at <= self.starts_at:
            raise ValueError("Give an ends_at after starts_at")
        if len({item.sku_id for item in self.items}) != len(self.items):
            raise ValueError("Name each SKU at most once in items")
        return self


class FlashItemView(BaseModel):
    sku_id: str
    product_id: str
    title: str
    image_url: str | None
    price_fen: int
    promo_price_fen: int
    promo_stock: int
    remaining: int = Field(description="Units not yet won (0 once the session has ended)")
    per_user_limit: int


class FlashSessionView(BaseModel):
    session_id: str
    title: str
    starts_at: str
    ends_at: str
    status: Literal["UPCOMING", "ACTIVE", "ENDED"]
    items: list[FlashItemView]


class AdminFlashSession(FlashSessionView):
    created_at: str
    updated_at: str
    closed_at: str | None = Field(None, description="When the unsold rest went back to the SKUs")


class FlashSessionList(BaseModel):
    items: list[FlashSessionView]
    next_cursor: str | None = None


class AdminFlashSessionPage(BaseModel):
    items: list[AdminFlashSession]
    next_cursor: str | None


class AttemptWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=ID_PATTERN)
    quantity: int = Field(1, ge=1, le=MAX_LIMIT)
    address_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Where a won unit ships; the default address when omitted"
    )


class AttemptQueued(BaseModel):
    attempt_id: str
    status: Literal["QUEUED"]


class AttemptView(BaseModel):
    attempt_id: str
    session_id: str
    sku_id: str
    quantity: int
    status: Literal["QUEUED", "WON", "LOST"]
    order_id: str | None = Field(None, description="WON: the order to pay (kind flash_sale)")
    reason: str | None = Field(None, description="LOST: SOLD_OUT | LIMIT_REACHED | ENDED")
    created_at: str
    decided_at: str | None


class AdminSessionsQuery(PageQuery):
    pass
