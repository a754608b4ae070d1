"""The typed behaviour and order events (the event catalogue), and the analytics routes' query and response models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, field_validator

from chalicelib.schema import BaseModel

ID = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
FEN = Annotated[int, Field(ge=0, le=10**12)]
QUANTITY = Annotated[int, Field(ge=1, le=100_000)]


class EventBase(BaseModel):
    """What every event carries: a unique id (deterministic for events that may be emitted twice), when it happened
    (timezone-aware), and who did it when known."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: ID
    occurred_at: AwareDatetime
    user_id: ID | None = None

    @field_validator("occurred_at")
    @classmethod
    def in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class ProductViewed(EventBase):
    """A product detail page was shown (forwarded by the catalog's view consumer)."""

    type: Literal["product_viewed"] = "product_viewed"
    product_id: ID
    category_id: ID | None = None


class SearchPerformed(EventBase):
    """A search was run."""

    type: Literal["search_performed"] = "search_performed"
    keyword: str = Field(max_length=200)
    results: int | None = Field(None, ge=0)
    category_id: ID | None = None


class FavoriteAdded(EventBase):
    """A product was newly favorited."""

    type: Literal["favorite_added"] = "favorite_added"
    product_id: ID
    category_id: ID | None = None


class CartItemAdded(EventBase):
    """A SKU was put in the cart (quantity added, not the line's new total)."""

    type: Literal["cart_item_added"] = "cart_item_added"
    product_id: ID
    sku_id: ID
    quantity: QUANTITY
    category_id: ID | None = None


class OrderLine(BaseModel):
    """One line of an order as the order snapshotted it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    product_id: ID
    sku_id: ID
    quantity: QUANTITY
    payable_fen: FEN
    title: str | None = Field(None, max_length=200)
    category_id: ID | None = None


class OrderEventBase(EventBase):
    order_id: ID
    amount_fen: FEN = Field(description="the order's payable_fen")
    lines: list[OrderLine] = Field(default_factory=list, max_length=100)


class OrderPlaced(OrderEventBase):
    """An order was created (event_id order_placed:<order_id>)."""

    type: Literal["order_placed"] = "order_placed"


class OrderPaid(OrderEventBase):
    """An order was paid (event_id order_paid:<order_id>); amount_fen is what was paid."""

    type: Literal["order_paid"] = "order_paid"
    payment_id: ID | None = None
    channel: str | None = Field(None, max_length=32)


class OrderReceived(EventBase):
    """An order was received, by the buyer or automatically (event_id order_received:<order_id>)."""

    type: Literal["order_received"] = "order_received"
    order_id: ID


class OrderRefunded(EventBase):
    """Money went back to the buyer (event_id order_refunded:<refund_id>)."""

    type: Literal["order_refunded"] = "order_refunded"
    order_id: ID
    refund_id: ID
    amount_fen: FEN


class ReviewPosted(EventBase):
    """A line of a received order was reviewed (event_id review_posted:<order_id>:<sku_id>)."""

    type: Literal["review_posted"] = "review_posted"
    order_id: ID
    product_id: ID
    sku_id: ID
    rating: int = Field(ge=1, le=5)
    category_id: ID | None = None


AnalyticsEvent = Annotated[
    ProductViewed
    | SearchPerformed
    | FavoriteAdded
    | CartItemAdded
    | OrderPlaced
    | OrderPaid
    | OrderReceived
    | OrderRefunded
    | ReviewPosted,
    Field(discriminator="type"),
]
# Built on first validation, like the models (chalicelib/schema.py): building it at import cost ~50 ms of cold start.
EVENT_ADAPTER: TypeAdapter[AnalyticsEvent] = TypeAdapter(AnalyticsEvent, config=ConfigDict(defer_build=True))
EVENT_TYPES = (
    "product_viewed",
    "search_performed",
    "favorite_added",
    "cart_item_added",
    "order_placed",
    "order_paid",
    "order_received",
    "order_refunded",
    "review_posted",
)


# ---------------------------------------------------------------- the admin reports

MAX_RANGE_DAYS = 366


class RangeQuery(BaseModel):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD: business days (Asia/Shanghai), both included, at most 366 days."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: date = Field(alias="from", description="first business day (Asia/Shanghai), YYYY-MM-DD")
    to: date = Field(description="last business day, included, YYYY-MM-DD; at most 366 days after from")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def strict_calendar_date(cls, value: object) -> object:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError("A date is written YYYY-MM-DD")
        return value


class ExportQuery(RangeQuery):
    """The range, and which table: the daily series (default) or every product of the range."""

    report: Literal["daily", "products"] = "daily"


class DailyFigures(BaseModel):
    date: str
    gmv_fen: int
    orders: int
    paid_orders: int
    buyers: int
    aov_fen: int
    views: int
    cart_adds: int
    payments: int
    refunds: int
    refunded_fen: int


class ProductFigures(BaseModel):
    product_id: str
    title: str | None
    category_id: str | None
    gmv_fen: int
    units: int
    paid_orders: int
    orders: int
    views: int
    cart_adds: int
    favorites: int


class CategoryShare(BaseModel):
    category_id: str
    gmv_fen: int
    units: int
    share: float = Field(description="gmv_fen over the paid lines' total, 4 decimals (not money)")


class Funnel(BaseModel):
    views: int
    cart_adds: int
    orders: int
    payments: int


class Behaviour(BaseModel):
    searches: int
    favorites: int
    receipts: int
    reviews: int


class Summary(BaseModel):
    """The figures of a range of business days, all from the daily roll-ups (definitions in docs/analytics.md)."""

    from_: str = Field(alias="from")
    to: str
    timezone: str
    gmv_fen: int
    orders: int
    paid_orders: int
    buyers: int
    aov_fen: int
    refunds: int
    refunded_fen: int
    net_gmv_fen: int
    daily: list[DailyFigures]
    top_products: list[ProductFigures]
    funnel: Funnel
    share_by_category: list[CategoryShare]
    behaviour: Behaviour
