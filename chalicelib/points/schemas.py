"""Request, query and response models of the points routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, model_validator

from chalicelib.schema import BaseModel

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
REF_PATTERN = r"^[A-Za-z0-9_\-:.#]{1,100}$"
MAX_POINTS = 100_000_000
MAX_STOCK = 10_000_000
MAX_CASH_FEN = 100_000_000
MAX_EXCHANGE_QUANTITY = 99


class Rules(BaseModel):
    points_per_yuan_earned: int
    points_per_yuan_deduction: int
    max_deduction_share_percent: int
    deduction_step_points: int
    earned_when: str
    expires: bool
    summary: list[str]
    content: str = Field(description="积分规则说明, Markdown")
    updated_at: str | None = Field(description="When an admin last changed them (null: the defaults)")


SummaryLine = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RulesWrite(BaseModel):
    """The rules from now on: orders placed before keep the ones they were placed under."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points_per_yuan_earned: int = Field(ge=0, le=1000, description="Points an order earns per whole yuan paid")
    points_per_yuan_deduction: int = Field(ge=1, le=100_000, description="Points that take 1 yuan off")
    max_deduction_share_percent: int = Field(ge=0, le=100, description="Share of an order's goods points may pay")
    summary: Annotated[list[SummaryLine], Field(max_length=20)] | SummaryLine = Field(
        description="Short lines for the store, at most 20 (a single text is one line)"
    )
    content: str = Field(max_length=20_000, description="积分规则说明, Markdown")


class LedgerEntry(BaseModel):
    entry_id: str
    delta: int = Field(description="positive: credited, negative: spent")
    reason: str
    ref: str
    at: str


class MyPoints(BaseModel):
    balance: int
    items: list[LedgerEntry]
    next_cursor: str | None


class GrantWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str = Field(pattern=ID_PATTERN)
    points: int = Field(ge=1, le=MAX_POINTS)
    reason: str = Field(min_length=1, max_length=100)
    ref: str | None = Field(
        None, pattern=REF_PATTERN, description="Idempotency: a grant with a ref already granted changes nothing"
    )


class Grant(BaseModel):
    grant_id: str
    user_id: str
    points: int
    ref: str
    newly_granted: bool
    balance: int


class RewardWrite(BaseModel):
    """A coupon reward issues one coupon of coupon_template_id; a goods reward has title, image_url and stock."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reward_id: str | None = Field(None, pattern=ID_PATTERN, description="Omit to have one generated")
    kind: Literal["coupon", "goods"]
    title: str | None = Field(None, min_length=1, max_length=60, description="goods: required; coupon: its name")
    image_url: str | None = Field(None, max_length=500)
    points: int = Field(ge=1, le=MAX_POINTS)
    coupon_template_id: str | None = Field(None, pattern=ID_PATTERN)
    stock: int | None = Field(None, ge=0, le=MAX_STOCK)
    cash_fen: int = Field(0, ge=0, le=MAX_CASH_FEN, description="goods only: paid on top of the points (0: none)")
    active: StrictBool = True

    @model_validator(mode="after")
    def kind_fields(self) -> RewardWrite:
        if self.kind == "coupon" and (self.coupon_template_id is None or self.stock is not None):
            raise ValueError("A coupon reward takes coupon_template_id (its stock is the template's)")
        if self.kind == "coupon" and self.cash_fen:
            raise ValueError("Points plus cash is for goods rewards only: a coupon reward takes no cash_fen")
        if self.kind == "goods" and (self.title is None or self.stock is None or self.coupon_template_id):
            raise ValueError("A goods reward takes title and stock (and no coupon_template_id)")
        return self


class RewardUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=60)
    image_url: str | None = Field(None, max_length=500)
    points: int | None = Field(None, ge=1, le=MAX_POINTS)
    stock: int | None = Field(None, ge=0, le=MAX_STOCK, description="goods only: the stock from now on")
    cash_fen: int | None = Field(None, ge=0, le=MAX_CASH_FEN, description="goods only: for exchanges from now on")
    active: StrictBool | None = None


class Reward(BaseModel):
    reward_id: str
    kind: Literal["coupon", "goods"]
    title: str
    image_url: str | None = None
    points: int
    coupon_template_id: str | None = None
    cash_fen: int = Field(0, description="Paid on top of the points, in fen (0: points only)")
    remaining: int = Field(description="goods: stock; coupon: coupons of the template left")


class AdminReward(Reward):
    stock: int | None = None
    exchanged: int
    active: bool
    created_at: str
    updated_at: str


class RewardPage(BaseModel):
    items: list[Reward]
    next_cursor: str | None


class AdminRewardPage(BaseModel):
    items: list[AdminReward]
    next_cursor: str | None


class ExchangeWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: str = Field(pattern=ID_PATTERN)
    address_id: str | None = Field(None, pattern=ID_PATTERN, description="goods: where to ship them (one of mine)")
    quantity: int = Field(1, ge=1, le=MAX_EXCHANGE_QUANTITY, description="coupon rewards: 1")


class Exchange(BaseModel):
    exchange_id: str
    reward_id: str
    kind: Literal["coupon", "goods"]
    title: str
    points_spent: int
    quantity: int = 1
    cash_fen: int = Field(0, description="The cash part of the whole exchange (the order's payable_fen)")
    order_id: str | None = Field(None, description="goods: the points_exchange order that ships them")
    coupon_id: str | None = None
    at: str


class ExchangePage(BaseModel):
    items: list[Exchange]
    next_cursor: str | None
