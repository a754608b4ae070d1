"""Query and response models of the search routes and the search-log message (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from chalicelib.catalog.schemas import MAX_PRICE_FEN
from chalicelib.schema import BaseModel

MAX_QUERY_CHARS = 100
MAX_PAGE = 50  # the engine answers no deeper (nobody reads past 1,000 results); deeper is a 400, not a wrong page
Sort = Literal["relevance", "sales", "price_asc", "price_desc", "newest", "rating"]


class SearchParams(BaseModel):
    """?q=&category_id=&brand_id=&price_min_fen=&price_max_fen=&in_stock=&sort=&page=&page_size= of GET /search."""

    model_config = ConfigDict(extra="ignore")

    q: str = Field("", max_length=MAX_QUERY_CHARS, description="Words, Chinese or pinyin; any syntax is taken as text")
    category_id: str | None = Field(None, max_length=64, description="A category; its sub-categories are included")
    brand_id: str | None = Field(None, max_length=64)
    price_min_fen: int | None = Field(None, ge=0, le=MAX_PRICE_FEN)
    price_max_fen: int | None = Field(None, ge=0, le=MAX_PRICE_FEN)
    in_stock: bool | None = Field(None, description="true: only goods with a SKU in stock")
    sort: Sort = "relevance"
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def price_range_is_ordered(self) -> SearchParams:
        low, high = self.price_min_fen, self.price_max_fen
        if low is not None and high is not None and low > high:
            raise ValueError("Give a price_min_fen no higher than price_max_fen")
        return self


class SearchHit(BaseModel):
    """One product of a result page (the engine may add fields, e.g. highlights)."""

    model_config = ConfigDict(extra="allow")

    product_id: str
    title: str
    price_fen: int
    image_url: str | None = None
    sales: int = 0
    rating_avg: float = 0


class FacetValue(BaseModel):
    id: str
    name: str
    count: int


class Facets(BaseModel):
    category: list[FacetValue]
    brand: list[FacetValue]


class SearchPage(BaseModel):
    """A page of results. `relaxed` is true when nothing matched every word and these match some of them;
    `suggestions` are other queries worth trying when nothing matched at all, `did_you_mean` the one most likely
    meant."""

    items: list[SearchHit]
    total: int
    page: int
    facets: Facets
    recommendations: list[dict[str, Any]]
    recommendations_source: Literal["behaviour", "segment", "hot"] = Field(
        "hot", description="Whose behaviour the recommendations come from: the shopper's, their segment's, or all"
    )
    relaxed: bool = False
    suggestions: list[str] = []  # noqa: RUF012 - a pydantic field (pydantic copies the default)
    did_you_mean: str | None = Field(
        None, description="When nothing matched: a near query that finds something on its own terms, or null"
    )


class SuggestParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str = Field("", max_length=MAX_QUERY_CHARS, description="A prefix: Chinese, full pinyin or initials")


class Suggestion(BaseModel):
    text: str


class Suggestions(BaseModel):
    suggestions: list[Suggestion]


class HotWord(BaseModel):
    keyword: str
    count: int = Field(description="Searches for it over the last days (ranked with the recent ones weighing more)")


class HotWords(BaseModel):
    items: list[HotWord]


class SearchLogged(BaseModel):
    """The search-log SQS message: one search as the user typed it."""

    model_config = ConfigDict(extra="ignore")

    keyword: str = Field(max_length=1000)
    user_id: str | None = None
    at: str
    total: int = 0
    relaxed: bool = False  # the results came only through relaxed matching: not the query's own
    source: str | None = None  # who searched, for hot words: u:<user_id>, or ip:<hash> for an anonymous searcher
