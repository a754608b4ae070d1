"""Request and response models of inventory's routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.schema import BaseModel


class ReservationWrite(BaseModel):
    """Reserve a sold-out SKU: its restock is texted to the user's bound phone, once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")


class Reservation(BaseModel):
    sku_id: str
    product_id: str
    title: str
    image_url: str | None
    attributes: dict[str, str]
    price_fen: int | None = Field(description="null once the SKU is gone from the catalog")
    stock: int = Field(description="the SKU's stock now")
    available: bool = Field(description="in stock and on sale now")
    reserved_at: str
    notified_at: str | None = Field(description="when the restock was told (null: still waiting)")
    notify_result: str | None = Field(
        description="sent: texted to the bound phone; no_phone: nothing to text to (the user had no phone bound)"
    )


class ReservationCreated(Reservation):
    newly_reserved: bool = Field(
        description="false when the user was already waiting for this SKU (nothing changed); a reservation that "
        "was already notified is replaced by a new one (true), which will be notified at the next restock"
    )


class ReservationList(BaseModel):
    """The user's reservations (at most 50), newest first; never paged."""

    items: list[Reservation]
    next_cursor: str | None = None


class LowStockItem(BaseModel):
    sku_id: str
    product_id: str
    title: str
    stock: int
    threshold: int = Field(description="the SKU's low_stock_threshold: it is listed while stock < threshold")
    since: str = Field(description="when its stock fell under the threshold")


class LowStockPage(BaseModel):
    """SKUs under their low-stock threshold, by sku_id."""

    items: list[LowStockItem]
    next_cursor: str | None
