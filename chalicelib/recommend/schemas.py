"""Query and response models of the recommendation routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.catalog.schemas import ProductSummary
from chalicelib.schema import BaseModel


class ThemeShelf(BaseModel):
    theme_id: str
    title: str
    subtitle: str = ""
    banner_url: str | None = None
    items: list[ProductSummary]


class HomeRecommendations(BaseModel):
    hot: list[ProductSummary] = Field(description="Most wanted now: views, cart adds and sales, decayed over days")
    new: list[ProductSummary] = Field(description="Recently listed, in stock")
    promotions: list[ProductSummary] = Field(description="Products of running promotions, deepest flash price first")
    themes: list[ThemeShelf] = Field(description="Themes (主题活动) open now, in their sort order")
    for_you: list[ProductSummary] = Field(description="Personal picks when signed in, else the hot list")
    personal: bool = Field(description="Whether for_you holds the signed-in shopper's own picks")
    for_you_source: Literal["behaviour", "segment", "hot"] = Field(
        description="Whose behaviour for_you comes from: the shopper's own, their audience segment's, or everyone's"
    )
    generated_at: str | None = Field(description="When the lists were refreshed; null before the first refresh")


class SimilarQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(10, ge=1, le=20, description="How many similar products")


class SimilarProducts(BaseModel):
    items: list[ProductSummary]


class RefreshRun(BaseModel):
    run_id: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED"]
    started_at: str
    finished_at: str | None
