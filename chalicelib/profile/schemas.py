"""Request, query and response models of the personal center's routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool

from chalicelib.accounts.domain import PHONE_PATTERN, normalize_phone
from chalicelib.catalog.schemas import ProductSummary
from chalicelib.schema import BaseModel


class AddressWrite(BaseModel):
    """A whole address (PUT replaces every field); text is trimmed before its length is checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    receiver: str = Field(min_length=1, max_length=20)
    phone: str = Field(pattern=PHONE_PATTERN, description="Mainland mobile, optional +86 (stored as 11 digits)")
    province: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=20)
    district: str = Field(min_length=1, max_length=20)
    detail: str = Field(min_length=1, max_length=120)
    is_default: StrictBool | None = Field(
        None,
        description="true makes it the one default (the previous default stops being it); false stops it being "
        "the default. Omitted: on POST false (but a user's first address is the default), on PUT unchanged.",
    )

    def fields(self) -> dict[str, Any]:
        """The stored fields, phone normalised."""
        return {
            "receiver": self.receiver,
            "phone": normalize_phone(self.phone),
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "detail": self.detail,
        }


class Address(BaseModel):
    address_id: str
    receiver: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    is_default: bool
    created_at: str
    updated_at: str


class AddressList(BaseModel):
    """The user's addresses (at most 20): the default first, then newest first; never paged."""

    items: list[Address]
    next_cursor: str | None = None


class Favorite(BaseModel):
    product_id: str
    favorited: bool
    favorited_at: str | None = Field(description="when I favorited it; null when not a favorite")


class FavoriteStatus(BaseModel):
    product_id: str
    favorited_at: str
    newly_added: bool = Field(description="false when the product was a favorite already (nothing changed)")


class FavoriteItem(ProductSummary):
    available: bool = Field(description="false while the product is off sale")
    favorited_at: str


class FavoritePage(BaseModel):
    items: list[FavoriteItem]
    next_cursor: str | None


class FootprintItem(ProductSummary):
    available: bool = Field(description="false while the product is off sale")
    viewed_at: str


class FootprintList(BaseModel):
    """The last 100 products viewed in the last 90 days, newest first, one entry per product; never paged."""

    items: list[FootprintItem]
    next_cursor: str | None = None


class SearchEntry(BaseModel):
    keyword: str
    searched_at: str


class SearchHistory(BaseModel):
    """The last 20 distinct keywords (case and spacing ignored), newest first; never paged."""

    items: list[SearchEntry]
    next_cursor: str | None = None
