"""Request and response models of themes."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from chalicelib.catalog.schemas import ID_PATTERN, MAX_PRICE_FEN, ProductSummary
from chalicelib.schema import BaseModel


class ThemeRule(BaseModel):
    """Rule-based items: products of a category (leaf or root) and/or brand, optionally under a price."""

    model_config = ConfigDict(extra="forbid")

    category_id: str | None = Field(None, pattern=ID_PATTERN)
    brand_id: str | None = Field(None, pattern=ID_PATTERN)
    max_price_fen: int | None = Field(None, ge=1, le=MAX_PRICE_FEN)


class ThemeWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=40)
    subtitle: str = Field("", max_length=120)
    banner_url: str | None = Field(None, pattern=r"^https://\S{1,490}$")
    product_ids: list[str] = Field(default_factory=list, max_length=50, description="Curated items, in this order")
    rule: ThemeRule | None = Field(None, description="Or items chosen by a rule")
    starts_at: datetime
    ends_at: datetime
    sort_order: int = Field(0, ge=0, le=10_000)

    @model_validator(mode="after")
    def items_and_window(self) -> ThemeWrite:
        if bool(self.product_ids) == (self.rule is not None):
            raise ValueError("Give either product_ids or a rule")
        if self.rule is not None and not (self.rule.category_id or self.rule.brand_id):
            raise ValueError("A rule needs a category_id or a brand_id")
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("Times need a time zone, e.g. 2026-11-24T08:00:00Z")
        if self.ends_at <= self.starts_at:
            raise ValueError("Give an ends_at after starts_at")
        return self


class Theme(BaseModel):
    theme_id: str
    title: str
    subtitle: str
    banner_url: str | None
    product_ids: list[str]
    rule: ThemeRule | None
    starts_at: str
    ends_at: str
    sort_order: int
    active: bool


class ThemeList(BaseModel):
    items: list[Theme]


class ThemeWithItems(Theme):
    items: list[ProductSummary]


class ThemeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items_limit: int = Field(12, ge=1, le=50, description="How many products to show")
