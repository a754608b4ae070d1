"""Request, query and response models of the promotion routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from chalicelib.schema import BaseModel

ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
MAX_PRICE_FEN = 100_000_000
MAX_SKU_PRICES = 100  # one BatchGetItem checks them all
MAX_TIERS = 5
MAX_SCOPE_IDS = 50


class SkuPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: str = Field(pattern=ID_PATTERN)
    price_fen: int = Field(ge=1, le=MAX_PRICE_FEN, description="The promotional unit price, below the list price")


class TierWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold_fen: int = Field(ge=1, le=MAX_PRICE_FEN, description="Spend at least this in scope (满)")
    off_fen: int = Field(ge=1, le=MAX_PRICE_FEN, description="Get this off (减), less than the threshold")


class PromotionWrite(BaseModel):
    """A whole promotion (PUT replaces every field). flash_price: sku_prices; threshold: tiers and a scope."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    promotion_id: str | None = Field(
        None, pattern=r"^pr_[A-Za-z0-9_\-]{1,60}$", description="POST: omit to have one generated; PUT: ignored"
    )
    name: str = Field(min_length=1, max_length=40)
    kind: Literal["flash_price", "threshold"]
    starts_at: AwareDatetime = Field(description="ISO 8601 with a zone; the promotion runs from this instant")
    ends_at: AwareDatetime = Field(description="ISO 8601 with a zone; the promotion stops at this instant")
    sku_prices: list[SkuPrice] = Field(default_factory=list, max_length=MAX_SKU_PRICES)
    tiers: list[TierWrite] = Field(default_factory=list, max_length=MAX_TIERS)
    scope: Literal["all", "category", "product"] = "all"
    scope_ids: list[str] = Field(default_factory=list, max_length=MAX_SCOPE_IDS)

    @model_validator(mode="after")
    def consistent(self) -> PromotionWrite:
        if self.ends_at <= self.starts_at:
            raise ValueError("Give an ends_at after starts_at")
        if self.kind == "flash_price":
            if not self.sku_prices or self.tiers or self.scope != "all" or self.scope_ids:
                raise ValueError("A flash_price promotion has sku_prices and no tiers or scope")
            if len({entry.sku_id for entry in self.sku_prices}) != len(self.sku_prices):
                raise ValueError("Name each SKU at most once in sku_prices")
            return self
        if not self.tiers or self.sku_prices:
            raise ValueError("A threshold promotion has tiers and no sku_prices")
        for lower, higher in zip(self.tiers, self.tiers[1:], strict=False):
            if not (lower.threshold_fen < higher.threshold_fen and lower.off_fen < higher.off_fen):
                raise ValueError("Tiers must be ascending: each threshold and discount above the previous one")
        if any(tier.off_fen >= tier.threshold_fen for tier in self.tiers):
            raise ValueError("A tier's discount must be less than its threshold")
        if (self.scope == "all") != (not self.scope_ids):
            raise ValueError("The scope all takes no scope_ids; category and product scopes need them")
        if any(not isinstance(i, str) or not 1 <= len(i) <= 128 for i in self.scope_ids):
            raise ValueError("Every scope_ids entry must be an id")
        return self


class ActiveQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    active: Literal["true", "false"] = Field(
        "true", description="true (default): running now; false: running now or starting later"
    )


class Tier(BaseModel):
    threshold_fen: int
    off_fen: int


class Promotion(BaseModel):
    promotion_id: str
    name: str
    kind: Literal["flash_price", "threshold"]
    starts_at: str
    ends_at: str
    sku_prices: list[SkuPrice]
    tiers: list[Tier]
    scope: Literal["all", "category", "product"]
    scope_ids: list[str]
    status: Literal["scheduled", "running", "ended"] = Field(description="As of the time of the answer")


class AdminPromotion(Promotion):
    created_at: str
    updated_at: str
    version: int


class PromotionList(BaseModel):
    items: list[Promotion]
    next_cursor: str | None = None


class AdminPromotionList(BaseModel):
    items: list[AdminPromotion]
    next_cursor: str | None = None
