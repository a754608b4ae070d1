"""Request and response models of logistics: freight templates, kuaidi100's push answer, the dev push."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.schema import BaseModel

MAX_FEE_FEN = 10_000_000
MAX_WEIGHT_G = 10_000_000


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _provinces(values: list[str]) -> list[str]:
    if any(not 1 <= len(value) <= 20 for value in values) or len(set(values)) != len(values):
        raise ValueError("Provinces must be distinct, each 1..20 characters")
    return values


class FeeFields(WriteModel):
    first_weight_g: int = Field(ge=0, le=MAX_WEIGHT_G, description="The first fee covers up to this weight")
    first_fee_fen: int = Field(ge=0, le=MAX_FEE_FEN)
    extra_weight_g: int = Field(ge=1, le=MAX_WEIGHT_G, description="Each started step of this weight beyond...")
    extra_fee_fen: int = Field(ge=0, le=MAX_FEE_FEN, description="...adds this fee")


class RegionFees(FeeFields):
    provinces: list[str] = Field(min_length=1, max_length=40, description="Province names as addresses write them")

    @field_validator("provinces")
    @classmethod
    def distinct_provinces(cls, values: list[str]) -> list[str]:
        return _provinces(values)


class FreightTemplateWrite(WriteModel):
    name: str = Field(min_length=1, max_length=60)
    default: FeeFields
    regions: list[RegionFees] = Field(default_factory=list, max_length=40)
    free_over_fen: int | None = Field(None, ge=0, le=1_000_000_000, description="Free once the goods reach this")
    excluded_provinces: list[str] = Field(default_factory=list, max_length=40, description="Not delivered to")

    @field_validator("excluded_provinces")
    @classmethod
    def distinct_provinces(cls, values: list[str]) -> list[str]:
        return _provinces(values)

    @model_validator(mode="after")
    def each_province_once(self) -> FreightTemplateWrite:
        named = [province for region in self.regions for province in region.provinces]
        if len(named) != len(set(named)):
            raise ValueError("A province belongs to at most one region")
        return self


class FreightTemplate(BaseModel):
    template_id: str
    name: str
    default: FeeFields
    regions: list[RegionFees]
    free_over_fen: int | None
    excluded_provinces: list[str]
    products_using: int = Field(description="How many products use it (it cannot be deleted while some do)")
    created_at: str
    updated_at: str


class FreightTemplateList(BaseModel):
    items: list[FreightTemplate]
    next_cursor: str | None = None


class PushAnswer(BaseModel):
    """What kuaidi100 expects back from a push it delivered."""

    result: bool
    returnCode: str
    message: str


class DevPush(WriteModel):
    tracking_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")
    state: str = Field(pattern=r"^[0-9]{1,3}$", description="kuaidi100's state: 0 在途 ... 3 签收 ... 6 退回")
    context: str = Field(min_length=1, max_length=500)
    location: str | None = Field(None, max_length=200)
    carrier_code: str | None = Field(None, pattern=r"^[a-z0-9]{1,40}$", description="When the number is ambiguous")


class DevPushResult(BaseModel):
    tracking_no: str
    carrier_code: str
    pushed: bool = Field(description="Whether the shop's notify accepted the emulator's push")
    notify_status: int | None = None
    notify_answer: dict[str, object] | None = None
