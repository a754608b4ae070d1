"""Request and response models of the payment routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.schema import BaseModel


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["sandbox", "alipay", "wechat"] = Field(description="Only the channels configured on this stage")


class PayParams(BaseModel):
    code_url: str = Field(description="WeChat Pay native: the weixin:// link to show as a QR code")


class PaymentStarted(BaseModel):
    payment_id: str = Field(description="The same for a repeated /pay of the same order and channel while unpaid")
    channel: str
    amount_fen: int = Field(description="The order's payable amount")
    pay_url: str | None = Field(None, description="sandbox and alipay: where the payer goes (sandbox: POST it to pay)")
    pay_params: PayParams | None = Field(None, description="wechat: what the payer's client needs")
