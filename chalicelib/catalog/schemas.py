"""Request, query and response models of the catalog routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.pagination import PageQuery
from chalicelib.schema import BaseModel

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_PRICE_FEN = 100_000_000  # 1,000,000 yuan
MAX_STOCK = 10_000_000
MAX_WEIGHT_G = 10_000_000  # 10 tonnes


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Category(BaseModel):
    category_id: str
    name: str
    parent_id: str | None
    sort_order: int = 0


class CategoryList(BaseModel):
    items: list[Category]


class CategoryNode(BaseModel):
    category_id: str
    name: str
    children: list[CategoryNode] = Field(description="Its sub-categories, in display order")


class CategoryTree(BaseModel):
    items: list[CategoryNode] = Field(description="The top-level categories, each once, with their children")


class Brand(BaseModel):
    brand_id: str
    name: str
    logo_url: str | None = None


class BrandList(BaseModel):
    items: list[Brand]


class CategoryWrite(WriteModel):
    category_id: str | None = Field(None, pattern=ID_PATTERN, description="Omit to have one generated")
    name: str = Field(min_length=1, max_length=40)
    parent_id: str | None = Field(None, pattern=ID_PATTERN, description="A root category; omit for a root")
    sort_order: int = Field(0, ge=0, le=10_000)


class BrandWrite(WriteModel):
    brand_id: str | None = Field(None, pattern=ID_PATTERN, description="Omit to have one generated")
    name: str = Field(min_length=1, max_length=60)
    logo_url: str | None = Field(None, max_length=500)


class Spec(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    values: list[str] = Field(min_length=1, max_length=30)

    @field_validator("values")
    @classmethod
    def values_are_distinct_and_short(cls, values: list[str]) -> list[str]:
        if any(not 1 <= len(value) <= 40 for value in values) or len(set(values)) != len(values):
            raise ValueError("Spec values must be distinct, each 1..40 characters")
        return values


class SkuWrite(WriteModel):
    sku_id: str | None = Field(None, pattern=ID_PATTERN, description="Keep an existing SKU by naming it")
    attributes: dict[str, str] = Field(default_factory=dict, description="spec name -> one of its values")
    price_fen: int = Field(ge=1, le=MAX_PRICE_FEN)
    stock: int = Field(0, ge=0, le=MAX_STOCK, description="Initial stock of a new SKU (existing SKUs keep theirs)")
    low_stock_threshold: int = Field(10, ge=0, le=MAX_STOCK)
    weight_g: int | None = Field(None, ge=0, le=MAX_WEIGHT_G, description="Weight of one unit, for freight templates")


class ProductWrite(WriteModel):
    title: str = Field(min_length=1, max_length=120)
    subtitle: str = Field("", max_length=200)
    description: str = Field("", max_length=20_000)
    category_id: str = Field(pattern=ID_PATTERN)
    brand_id: str = Field(pattern=ID_PATTERN)
    images: list[str] = Field(default_factory=list, max_length=20)
    specs: list[Spec] = Field(default_factory=list, max_length=10)
    skus: list[SkuWrite] = Field(min_length=1, max_length=90)
    after_sales: list[str] = Field(default_factory=list, max_length=20)
    on_sale: bool = True
    freight_template_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Its freight template (none: free from 99 yuan, else 10 yuan)"
    )

    @field_validator("images", "after_sales")
    @classmethod
    def short_strings(cls, values: list[str]) -> list[str]:
        if any(not 1 <= len(value) <= 500 for value in values):
            raise ValueError("Each entry must be 1..500 characters")
        return values

    @model_validator(mode="after")
    def skus_match_specs(self) -> ProductWrite:
        allowed = {spec.name: set(spec.values) for spec in self.specs}
        if len(allowed) != len(self.specs):
            raise ValueError("Spec names must be distinct")
        combos = set()
        for sku in self.skus:
            if set(sku.attributes) != set(allowed) or any(v not in allowed[k] for k, v in sku.attributes.items()):
                raise ValueError("Every SKU must pick exactly one value of every spec")
            combo = tuple(sorted(sku.attributes.items()))
            if combo in combos:
                raise ValueError("Two SKUs have the same attributes: give each its own")
            combos.add(combo)
        ids = [sku.sku_id for sku in self.skus if sku.sku_id]
        if len(ids) != len(set(ids)):
            raise ValueError("SKU ids must be distinct")
        return self


class StockWrite(WriteModel):
    stock: int = Field(ge=0, le=MAX_STOCK)


class ProductListQuery(PageQuery):
    category_id: str | None = Field(None, max_length=64, description="A leaf or a top-level category")
    brand_id: str | None = Field(None, max_length=64)


class ProductSummary(BaseModel):
    product_id: str
    title: str
    price_fen: int
    image_url: str | None
    sales: int
    rating_avg: float
    category_id: str
    brand_id: str


class ProductPage(BaseModel):
    items: list[ProductSummary]
    next_cursor: str | None


class LevelPrice(BaseModel):
    level: int
    name: str
    price_fen: int


class Sku(BaseModel):
    sku_id: str
    attributes: dict[str, str]
    price_fen: int = Field(description="Today's price: a running promotional price, else the list price")
    list_price_fen: int
    promotion_id: str | None = Field(description="The promotion giving price_fen, if any")
    stock: int
    available: bool
    member_price_fen: int | None = Field(
        None, description="My level's member price; null when signed out or when it is not below price_fen"
    )
    member_prices: list[LevelPrice] = Field(default_factory=list, description="The price at every member level")
    weight_g: int | None = Field(None, description="Weight of one unit (freight templates price by it)")


class ProductDetail(BaseModel):
    product_id: str
    title: str
    subtitle: str
    description: str
    images: list[str]
    category_id: str
    brand_id: str
    specs: list[Spec]
    skus: list[Sku]
    after_sales: list[str]
    price_fen: int
    sales: int
    rating_avg: float
    review_count: int
    view_count: int
    favorite_count: int
    on_sale: bool
    created_at: str
    updated_at: str
    freight_template_id: str | None = None


class SkuStock(BaseModel):
    sku_id: str
    product_id: str
    stock: int
    available: bool


class AdminProductQuery(PageQuery):
    q: str | None = Field(None, max_length=60, description="Part of the title")
    status: Literal["ON_SALE", "OFF_SALE", "ARCHIVED"] | None = Field(None, description="Omit for every status")
    category_id: str | None = Field(None, max_length=64, description="A leaf or a top-level category")


class AdminProduct(BaseModel):
    product_id: str
    title: str
    status: Literal["ON_SALE", "OFF_SALE", "ARCHIVED"]
    category_id: str
    brand_id: str
    price_fen: int = Field(description="The lowest list price of its SKUs")
    stock: int = Field(description="The sum of its SKUs' stock")
    sales: int
    updated_at: str


class AdminProductPage(BaseModel):
    items: list[AdminProduct]
    next_cursor: str | None
