"""Channels asking their provider about a trade (query) and closing it: signed answers are believed, anything else is
a provider in trouble (502, retried), never a payment; WeChat JSAPI's bridge parameters are signed by the merchant."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.errors import DependencyUnavailable, ValidationError
from chalicelib.payments.channels import PaymentRequest
from chalicelib.payments.channels.alipay import AlipayChannel
from chalicelib.payments.channels.wechat import WeChatJsapiChannel, WeChatPayChannel
from chalicelib.payments.config import AlipayConfig, WeChatPayConfig
from chalicelib.payments.transport import PaymentTransport, ProviderResponse
from local.providers.payments.alipay import alipay_answer
from local.providers.payments.keys import private_pem, public_pem
from local.providers.payments.wechat import wechat_signed_headers, wechat_transaction

APP_ID, MCH_ID, WX_APP_ID, SERIAL = "2021000000000042", "1900000042", "wxtestapp0000042", "PUB_KEY_ID_TEST"


class Scripted(PaymentTransport):
    """Answers each call with the next scripted answer, and keeps what was asked."""

    def __init__(self, *answers: ProviderResponse) -> None:
        self.answers: list[ProviderResponse] = list(answers)
        self.calls: list[tuple[str, str, bytes]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        self.calls.append(("POST", url, body))
        return self.answers.pop(0)

    def get(self, url: str, headers: dict[str, str]) -> ProviderResponse:
        self.calls.append(("GET", url, b""))
        return self.answers.pop(0)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("merchant", "provider")}


def wechat_config(keys: dict[str, rsa.RSAPrivateKey]) -> WeChatPayConfig:
    merchant, provider = private_pem(keys["merchant"]), public_pem(keys["provider"])
    return WeChatPayConfig(WX_APP_ID, MCH_ID, "MERCHANTSERIAL", merchant, provider, SERIAL, b"0" * 32,
                           "https://api.mch.weixin.example")  # fmt: skip


def wechat(keys: dict[str, rsa.RSAPrivateKey], transport: PaymentTransport) -> WeChatPayChannel:
    return WeChatPayChannel(wechat_config(keys), "https://shop.example/payments/wechat/notify", transport)


def signed_by_wechat(keys: dict[str, rsa.RSAPrivateKey], body: bytes, status: int = 200) -> ProviderResponse:
    headers = {k.lower(): v for k, v in wechat_signed_headers(keys["provider"], SERIAL, body).items()}
    return ProviderResponse(status, body, headers)


def alipay(keys: dict[str, rsa.RSAPrivateKey], transport: PaymentTransport) -> AlipayChannel:
    config = AlipayConfig(APP_ID, private_pem(keys["merchant"]), public_pem(keys["provider"]),
                          "https://openapi.alipay.example/gateway.do")  # fmt: skip
    return AlipayChannel(config, "https://shop.example/payments/alipay/notify", transport)


def test_a_wechat_query_answered_paid_and_signed_is_a_payment_at_the_providers_time(
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    paid = wechat_transaction(WX_APP_ID, MCH_ID, "pay_1", 1999, "4200000001")
    paid["success_time"] = "2026-11-24T16:00:00+08:00"
    transport = Scripted(signed_by_wechat(keys, json.dumps(paid).encode()))

    notice = wechat(keys, transport).query("pay_1")

    assert notice is not None and notice.success and notice.amount_fen == 1999
    assert notice.paid_at == "2026-11-24T08:00:00Z" and notice.transaction_id == "4200000001"
    assert transport.calls[0][:2] == (
        "GET",
        f"https://api.mch.weixin.example/v3/pay/transactions/out-trade-no/pay_1?mchid={MCH_ID}",
    )


def test_a_wechat_query_of_an_unknown_trade_is_none_and_an_unsigned_or_foreign_answer_is_a_provider_failure(
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    missing = ProviderResponse(404, b'{"code":"ORDER_NOT_EXIST","message":"no"}', {})
    assert wechat(keys, Scripted(missing)).query("pay_1") is None

    paid = json.dumps(wechat_transaction(WX_APP_ID, MCH_ID, "pay_1", 1999, "42")).encode()
    with pytest.raises(DependencyUnavailable):
        wechat(keys, Scripted(ProviderResponse(200, paid, {}))).query("pay_1")
    foreign = json.dumps(wechat_transaction("wxother", MCH_ID, "pay_1", 1999, "42")).encode()
    with pytest.raises(DependencyUnavailable):
        wechat(keys, Scripted(signed_by_wechat(keys, foreign))).query("pay_1")


def test_closing_a_wechat_trade_is_done_on_204_says_paid_on_orderpaid_and_retries_on_trouble(
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    assert wechat(keys, Scripted(signed_by_wechat(keys, b"", 204))).close("pay_1") is True
    orderpaid = ProviderResponse(400, b'{"code":"ORDERPAID","message":"paid"}', {})
    assert wechat(keys, Scripted(orderpaid)).close("pay_1") is False
    with pytest.raises(DependencyUnavailable):
        wechat(keys, Scripted(ProviderResponse(500, b'{"code":"SYSTEM_ERROR"}', {}))).close("pay_1")


def test_an_alipay_query_is_believed_only_when_alipay_signed_it(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    value = {"code": "10000", "msg": "Success", "out_trade_no": "pay_1", "trade_no": "2026", "total_amount": "19.99",
             "trade_status": "TRADE_SUCCESS", "send_pay_date": "2026-11-24 16:00:00"}  # fmt: skip
    answer = alipay_answer(keys["provider"], "alipay.trade.query", value).encode()

    notice = alipay(keys, Scripted(ProviderResponse(200, answer))).query("pay_1")

    assert notice is not None and (notice.success, notice.amount_fen, notice.paid_at) == (
        True, 1999, "2026-11-24T08:00:00Z")  # fmt: skip
    forged = alipay_answer(keys["merchant"], "alipay.trade.query", value).encode()
    with pytest.raises(DependencyUnavailable):
        alipay(keys, Scripted(ProviderResponse(200, forged))).query("pay_1")
    unknown = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
    missing = alipay_answer(keys["provider"], "alipay.trade.query", unknown).encode()
    assert alipay(keys, Scripted(ProviderResponse(200, missing))).query("pay_1") is None


def test_closing_an_alipay_trade_already_paid_says_so(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    paid = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
    answer = alipay_answer(keys["provider"], "alipay.trade.close", paid).encode()
    assert alipay(keys, Scripted(ProviderResponse(200, answer))).close("pay_1") is False
    closed = alipay_answer(keys["provider"], "alipay.trade.close", {"code": "10000", "out_trade_no": "pay_1"})
    assert alipay(keys, Scripted(ProviderResponse(200, closed.encode()))).close("pay_1") is True


def test_jsapi_bridge_parameters_are_signed_by_the_merchant_over_four_lines_and_an_openid_is_required(
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    transport = Scripted(signed_by_wechat(keys, b'{"prepay_id":"wx201410272009395522657a690389285100"}'))
    channel = WeChatJsapiChannel(wechat_config(keys), "https://shop.example/payments/wechat_jsapi/notify", transport)
    request = PaymentRequest("pay_1", "o_1", 1999, "茶叶", openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")

    params = channel.start(request)["pay_params"]

    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100" and params["signType"] == "RSA"
    message = f"{WX_APP_ID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    keys["merchant"].public_key().verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(),
                                         hashes.SHA256())  # fmt: skip
    placed = json.loads(transport.calls[0][2])
    assert placed["payer"] == {"openid": request.openid} and transport.calls[0][1].endswith(
        "/v3/pay/transactions/jsapi"
    )
    with pytest.raises(ValidationError):
        channel.start(PaymentRequest("pay_2", "o_1", 1999, "茶叶"))


def test_a_wechat_query_of_an_unpaid_trade_is_no_payment_even_without_an_amount(
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    unpaid = {"appid": WX_APP_ID, "mchid": MCH_ID, "out_trade_no": "pay_1", "trade_state": "NOTPAY"}
    notice = wechat(keys, Scripted(signed_by_wechat(keys, json.dumps(unpaid).encode()))).query("pay_1")

    assert notice is not None and (notice.success, notice.provider_status) == (False, "NOTPAY")
