"""Request, query and response models of the coupon routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, StrictBool, model_validator

from chalicelib.pagination import PageQuery
from chalicelib.schema import BaseModel

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_FEN = 100_000_000  # 1,000,000 yuan
MAX_TOTAL = 10_000_000


class TemplateWrite(BaseModel):
    """A coupon template. Validity is either fixed (valid_from..valid_to, claimable until valid_to) or valid_days
    from the claim (then valid_from / valid_to, both optional, bound the claim window)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    template_id: str | None = Field(None, pattern=ID_PATTERN, description="Omit to have one generated")
    name: str = Field(min_length=1, max_length=40)
    type: Literal["amount_off", "percent_off"]
    amount_off_fen: int | None = Field(None, ge=1, le=MAX_FEN, description="amount_off only: fen taken off")
    percent_off: int | None = Field(None, ge=1, le=99, description="percent_off only: the share taken off (5 = 95折)")
    max_discount_fen: int | None = Field(None, ge=1, le=MAX_FEN, description="percent_off only: the most taken off")
    threshold_fen: int = Field(0, ge=0, le=MAX_FEN, description="the scoped subtotal must reach this (满 X)")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    valid_days: int | None = Field(None, ge=1, le=365, description="valid this many days from the claim")
    scope: Literal["all", "category", "product"] = "all"
    scope_ids: list[str] = Field(default_factory=list, max_length=50, description="categories or products")
    per_user_limit: int = Field(1, ge=1, le=100)
    total: int = Field(ge=1, le=MAX_TOTAL, description="how many coupons may be issued, claims and exchanges")
    claimable: StrictBool = Field(True, description="false: not listed by GET /coupons nor claimable (409 "
                                  "NOT_CLAIMABLE), only issued otherwise, e.g. sold in the points store")  # fmt: skip

    @model_validator(mode="after")
    def terms_are_consistent(self) -> TemplateWrite:
        if self.type == "amount_off" and (self.amount_off_fen is None or self.percent_off is not None):
            raise ValueError("An amount_off coupon takes amount_off_fen (and no percent_off)")
        if self.type == "percent_off" and (self.percent_off is None or self.amount_off_fen is not None):
            raise ValueError("A percent_off coupon takes percent_off (and no amount_off_fen)")
        if self.type == "amount_off" and self.max_discount_fen is not None:
            raise ValueError("Only percent_off coupons take max_discount_fen")
        _check_window(self.valid_from, self.valid_to, self.valid_days)
        if (self.scope == "all") != (not self.scope_ids):
            raise ValueError("A category or product scope names 1..50 scope_ids; the scope all names none")
        if any(not _is_id(value) for value in self.scope_ids):
            raise ValueError("Every scope_ids entry must be an id")
        return self


class TemplateUpdate(BaseModel):
    """What may change on a template, issued or not: the name, the window and the total (never below what was
    issued). Its terms never change: make a new template instead. Issued coupons keep their own window."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=40)
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    valid_days: int | None = Field(None, ge=1, le=365, description="only on a template that has valid_days")
    total: int | None = Field(None, ge=1, le=MAX_TOTAL)
    claimable: StrictBool | None = Field(None, description="whether customers may claim it (GET /coupons)")


def _is_id(value: str) -> bool:
    return re.fullmatch(ID_PATTERN, value) is not None


def _check_window(valid_from: datetime | None, valid_to: datetime | None, valid_days: int | None) -> None:
    if valid_days is None and (valid_from is None or valid_to is None):
        raise ValueError("Give valid_from and valid_to, or valid_days")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise ValueError("Give a valid_to after valid_from")


class Template(BaseModel):
    template_id: str
    name: str
    type: Literal["amount_off", "percent_off"]
    threshold_fen: int
    amount_off_fen: int | None = None
    percent_off: int | None = None
    max_discount_fen: int | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    valid_days: int | None = None
    scope: Literal["all", "category", "product"]
    scope_ids: list[str]
    per_user_limit: int
    total: int
    remaining: int
    claimable: bool = Field(description="false: only issued otherwise (e.g. sold in the points store)")


class AdminTemplate(Template):
    issued: int
    created_at: str
    updated_at: str


class ClaimableTemplate(Template):
    claimed: int | None = Field(None, description="how many the signed-in caller has claimed (absent anonymously)")


class ClaimablePage(BaseModel):
    items: list[ClaimableTemplate]
    next_cursor: str | None


class AdminTemplatePage(BaseModel):
    items: list[AdminTemplate]
    next_cursor: str | None


class Claimed(BaseModel):
    coupon_id: str
    template_id: str
    valid_from: str
    valid_to: str


class MyCouponsQuery(PageQuery):
    status: Literal["unused", "locked", "used", "expired"] | None = Field(
        None, description="used also lists coupons locked to an unpaid order (status locked)"
    )


class MyCoupon(BaseModel):
    coupon_id: str
    template_id: str
    name: str
    type: Literal["amount_off", "percent_off"]
    threshold_fen: int
    amount_off_fen: int | None = None
    percent_off: int | None = None
    max_discount_fen: int | None = None
    scope: Literal["all", "category", "product"]
    scope_ids: list[str]
    valid_from: str
    valid_to: str
    status: Literal["unused", "locked", "used", "expired"]
    claimed_at: str
    source: str
    order_id: str | None = Field(None, description="the order holding (locked) or that used it")
    used_at: str | None = None


class MyCouponPage(BaseModel):
    items: list[MyCoupon]
    next_cursor: str | None
