"""Request and response models of the members club routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from chalicelib.schema import BaseModel


class MemberLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: StrictInt = Field(ge=1, le=20)
    name: StrictStr = Field(min_length=1, max_length=20)
    min_growth: StrictInt = Field(ge=0, le=100_000_000)
    discount_percent: StrictInt = Field(ge=1, le=100, description="member price = price * this // 100; 100: none")
    benefits: list[Annotated[StrictStr, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=10
    )


class MembershipRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    growth_per_yuan: StrictInt = Field(ge=0, le=1000)
    growth_per_review: StrictInt = Field(ge=0, le=100_000)
    checkin_points: StrictInt = Field(ge=0, le=100_000)
    checkin_growth: StrictInt = Field(ge=0, le=100_000)


class LevelTable(BaseModel):
    items: list[MemberLevel]
    rules: MembershipRules


class LevelTableWrite(BaseModel):
    """Levels 1..n in order, min_growth rising from 0; rules kept as they are when left out."""

    model_config = ConfigDict(extra="forbid")

    items: list[MemberLevel] = Field(min_length=1, max_length=20)
    rules: MembershipRules | None = None


class NextLevel(BaseModel):
    level: int
    name: str
    min_growth: int


class Membership(BaseModel):
    level: int
    name: str
    growth: int
    discount_percent: int
    next_level: NextLevel | None
    growth_to_next: int
    benefits: list[str]
    checked_in_today: bool = Field(description="Today's (Asia/Shanghai) check-in is done: POST /me/checkins is 409")
    checkin_streak: int = Field(description="Consecutive check-in days up to today or yesterday; 0 once broken")


class GrowthEntry(BaseModel):
    delta: int
    reason: Literal["order", "refund", "review", "checkin"]
    ref: str
    at: str


class GrowthPage(BaseModel):
    items: list[GrowthEntry]
    next_cursor: str | None = None


class CheckIn(BaseModel):
    date: str = Field(description="YYYY-MM-DD, Asia/Shanghai")
    points: int
    growth: int
    streak: int = Field(description="consecutive days checked in, today included")


class MemberPriceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: StrictInt = Field(ge=1, le=20)
    price_fen: StrictInt = Field(ge=1, le=100_000_000)


class MemberPricesWrite(BaseModel):
    """Staff's member prices of one SKU, replacing the ones it had (an empty list: the levels' discounts only)."""

    model_config = ConfigDict(extra="forbid")

    items: list[MemberPriceWrite] = Field(max_length=20)


class MemberPrice(BaseModel):
    level: int
    name: str
    price_fen: int


class MemberPrices(BaseModel):
    sku_id: str
    items: list[MemberPrice]
