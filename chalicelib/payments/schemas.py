"""Request and response models of the payment routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool

from chalicelib.schema import BaseModel

Channel = Literal["sandbox", "alipay", "alipay_wap", "wechat", "wechat_jsapi", "wechat_h5"]


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field(description="Only the channels configured on this stage")
    openid: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="wechat_jsapi (required there): the payer's openid for the shop's official account",
    )
    return_url: str | None = Field(
        None,
        min_length=1,
        max_length=2048,
        description="alipay, alipay_wap, wechat_h5: the shop page the payer comes back to; on the sign-in redirect "
        "allow-list, else 400",
    )


class PayParams(BaseModel):
    code_url: str | None = Field(None, description="wechat (native): the weixin:// link to show as a QR code")
    appId: str | None = Field(None, description="wechat_jsapi: WeixinJSBridge getBrandWCPayRequest's parameters")
    timeStamp: str | None = None
    nonceStr: str | None = None
    package: str | None = Field(None, description="prepay_id=...")
    signType: str | None = Field(None, description="RSA")
    paySign: str | None = Field(
        None, description="SHA256withRSA by the merchant key over appId, timeStamp, nonceStr, package (one a line)"
    )


class PaymentStarted(BaseModel):
    payment_id: str = Field(description="The same for a repeated /pay of the same order and channel while unpaid")
    channel: str
    amount_fen: int = Field(description="The order's payable amount")
    pay_url: str | None = Field(
        None, description="sandbox, alipay, alipay_wap: where the payer goes (sandbox: POST it to pay)"
    )
    pay_params: PayParams | None = Field(None, description="wechat, wechat_jsapi: what the payer's client needs")
    h5_url: str | None = Field(None, description="wechat_h5: opens WeChat to pay, from a phone browser")


class PaymentListed(BaseModel):
    payment_id: str
    channel: str
    amount_fen: int
    status: Literal["PENDING", "PAID", "CLOSED", "REFUNDED", "PARTIALLY_REFUNDED"]
    refunded_fen: int = Field(description="What the provider has paid back")
    trade_no: str | None = Field(None, description="The provider's trade number, once paid")
    late: bool = Field(description="Paid after the order was cancelled or paid otherwise: refunded in full")
    late_reason: str | None = None
    created_at: str
    paid_at: str | None = None


class OrderPayments(BaseModel):
    items: list[PaymentListed]


class DevPayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notify: StrictBool = Field(True, description="false: the trade is paid at the provider but no notify is sent")


class DevPaid(BaseModel):
    payment_id: str
    channel: str
    notified: bool
    notify_status: int | None = Field(None, description="The app's answer to the notify, when one was sent")
    notify_answer: str | None = None
    payment: PaymentListed
