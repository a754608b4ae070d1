"""Every provider's documented error codes through our one mapping: a refusal of what the client brought (a code, the
redirect it was issued for, the user's choice, the trade or refund asked for) is a 4xx; only our own set-up's or the
provider's trouble is a 502. Attacker input must never set off the 5xx alarms."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.accounts.oauth.providers import (
    ProviderAnswer,
    parse_qq_me,
    parse_qq_token,
    parse_wechat_token,
    parse_wechat_user,
    parse_weibo_token,
    parse_weibo_user,
)
from chalicelib.errors import DomainError
from chalicelib.payments.channels import PaymentRequest
from chalicelib.payments.channels.alipay import AlipayChannel
from chalicelib.payments.channels.wechat import WeChatPayChannel
from chalicelib.payments.config import AlipayConfig, WeChatPayConfig
from chalicelib.payments.transport import PaymentTransport, ProviderResponse
from local.providers.payments.alipay import alipay_answer
from local.providers.payments.keys import private_pem, public_pem

CLIENT, OURS = 400, 502  # what a refusal of client input and what our/the provider's trouble answer

# WeChat (sns/oauth2/access_token, sns/userinfo): the global return codes of the Open Platform documentation.
WECHAT = {
    40029: CLIENT,  # invalid code
    40163: CLIENT,  # code been used
    41008: CLIENT,  # missing code
    42003: CLIENT,  # code expired
    40226: CLIENT,  # high-risk user: WeChat refuses this user's sign-in
    50001: CLIENT,  # the user did not authorize the API
    -1: OURS,  # system busy
    40001: OURS,  # invalid credential (our token)
    40013: OURS,  # invalid appid
    40125: OURS,  # invalid appsecret
    40164: OURS,  # our server's IP is not on the whitelist
    41002: OURS,  # appid missing
    41004: OURS,  # appsecret missing
    42001: OURS,  # access_token expired
    45011: OURS,  # API minute-quota reached
    48001: OURS,  # API unauthorized for our app
}

# Weibo OAuth2 error codes (with their OAuth error names).
WEIBO = {
    (21322, "redirect_uri_mismatch"): CLIENT,
    (21325, "invalid_grant"): CLIENT,
    (21330, "access_denied"): CLIENT,
    (21323, "invalid_request"): OURS,
    (21324, "invalid_client"): OURS,
    (21326, "unauthorized_client"): OURS,
    (21327, "expired_token"): OURS,
    (21328, "unsupported_grant_type"): OURS,
    (21329, "unsupported_response_type"): OURS,
    (21331, "temporarily_unavailable"): OURS,
    (21332, "invalid_access_token"): OURS,
    (10001, "system error!"): OURS,
}

# QQ Connect (graph.qq.com oauth2.0) error codes 100000-100031.
QQ_CLIENT = {100005, 100010, 100018, 100019, 100020, 100030}  # missing/unreadable/bad/reused code, other redirect,
QQ = {code: CLIENT if code in QQ_CLIENT else OURS for code in range(100000, 100032)}  # user refused the API


def status_of(action: object) -> int:
    with pytest.raises(DomainError) as raised:
        action()  # type: ignore[operator]
    return raised.value.status


@pytest.mark.parametrize(("errcode", "expected"), WECHAT.items())
def test_wechat_sign_in_errors_are_400_for_the_clients_code_and_502_for_ours(errcode: int, expected: int) -> None:
    answer = ProviderAnswer(200, json.dumps({"errcode": errcode, "errmsg": "documented"}))

    assert status_of(lambda: parse_wechat_token(answer)) == expected
    assert status_of(lambda: parse_wechat_user(answer, {"openid": "o1", "access_token": "t"})) == expected


@pytest.mark.parametrize(("error", "expected"), WEIBO.items())
def test_weibo_sign_in_errors_are_400_for_the_clients_code_and_502_for_ours(
    error: tuple[int, str], expected: int
) -> None:
    code, name = error
    answer = ProviderAnswer(400, json.dumps({"error": name, "error_code": code, "request": "/oauth2/access_token"}))
    unnumbered = ProviderAnswer(400, json.dumps({"error": name, "error_description": "..."}))

    assert status_of(lambda: parse_weibo_token(answer)) == expected
    assert status_of(lambda: parse_weibo_token(unnumbered)) == expected
    assert status_of(lambda: parse_weibo_user(answer, "123")) == expected


@pytest.mark.parametrize(("code", "expected"), QQ.items())
def test_qq_sign_in_errors_are_400_for_the_clients_code_and_502_for_ours(code: int, expected: int) -> None:
    as_json = ProviderAnswer(200, json.dumps({"error": code, "error_description": "documented"}))
    as_jsonp = ProviderAnswer(200, f'callback( {{"error":{code},"error_description":"documented"}} );\n')
    as_form = ProviderAnswer(200, f"error={code}&error_description=documented")

    for answer in (as_json, as_jsonp, as_form):
        assert status_of(lambda answer=answer: parse_qq_token(answer)) == expected  # type: ignore[misc]
    assert status_of(lambda: parse_qq_me(as_jsonp)) == expected


def test_error_numbers_in_other_digits_are_no_documented_code() -> None:
    """A provider answer (or a man in the middle) writing １００010 does not pass for QQ's 100010."""
    answer = ProviderAnswer(200, json.dumps({"error": "１０００１０"}))

    assert status_of(lambda: parse_qq_token(answer)) == OURS


# ---- payments: the answers to calls a client's request sets off (paying, refunding) ----


class Answering(PaymentTransport):
    """A provider that answers every call with one recorded answer."""

    def __init__(self, status: int, body: bytes) -> None:
        self.answer = ProviderResponse(status, body, {})

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        return self.answer


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("merchant", "provider")}


# alipay.trade.refund: (code, sub_code) -> the refund is refused (409) or Alipay/our set-up failed (502).
ALIPAY_REFUND = {
    ("40004", "ACQ.TRADE_NOT_EXIST"): 409,
    ("40004", "ACQ.TRADE_STATUS_ERROR"): 409,
    ("40004", "ACQ.TRADE_HAS_FINISHED"): 409,
    ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"): 409,
    ("40004", "ACQ.REASON_TRADE_BEEN_FREEZEN"): 409,
    ("40004", "ACQ.DISCORDANT_REPEAT_REQUEST"): 409,
    ("40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR"): 409,
    ("40004", "ACQ.TRADE_NOT_ALLOW_REFUND"): 409,
    ("40004", "ACQ.BUYER_ERROR"): 409,
    ("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH"): 409,
    ("40004", "ACQ.SYSTEM_ERROR"): OURS,
    ("20000", "ACQ.SYSTEM_ERROR"): OURS,
    ("20000", "isp.unknow-error"): OURS,
    ("20001", "aop.invalid-auth-token"): OURS,
    ("40001", "isv.missing-method"): OURS,
    ("40002", "isv.invalid-signature"): OURS,
    ("40002", "isv.invalid-app-id"): OURS,
    ("40006", "isv.insufficient-isv-permissions"): OURS,
}


@pytest.mark.parametrize(("answer", "expected"), ALIPAY_REFUND.items())
def test_alipay_refund_answers_are_409_for_the_refund_asked_and_502_for_alipays_or_our_trouble(
    keys: dict[str, rsa.RSAPrivateKey], answer: tuple[str, str], expected: int
) -> None:
    code, sub_code = answer
    value = {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": "documented"}
    text = alipay_answer(keys["provider"], "alipay.trade.refund", value)
    config = AlipayConfig("2021000000000042", private_pem(keys["merchant"]), public_pem(keys["provider"]), "https://a")
    channel = AlipayChannel(config, "https://shop.example/n", Answering(200, text.encode()))

    assert status_of(lambda: channel.refund("P1", "R1", 100, 100)) == expected


# WeChat Pay API v3 (native prepay, domestic refunds): (HTTP status, code) -> what we answer.
WECHATPAY = {
    (400, "PARAM_ERROR"): 409,
    (400, "INVALID_REQUEST"): 409,
    (400, "ORDER_CLOSED"): 409,
    (403, "OUT_TRADE_NO_USED"): 409,
    (403, "ORDERPAID"): 409,
    (403, "RULE_LIMIT"): 409,
    (403, "TRADE_ERROR"): 409,
    (403, "NOT_ENOUGH"): 409,
    (403, "USER_ACCOUNT_ABNORMAL"): 409,
    (404, "ORDER_NOT_EXIST"): 409,
    (404, "RESOURCE_NOT_EXISTS"): 409,
    (400, "APPID_MCHID_NOT_MATCH"): OURS,
    (400, "MCH_NOT_EXISTS"): OURS,
    (401, "SIGN_ERROR"): OURS,
    (403, "NO_AUTH"): OURS,
    (429, "FREQUENCY_LIMITED"): OURS,
    (500, "SYSTEM_ERROR"): OURS,
    (500, "BANK_ERROR"): OURS,
}


@pytest.mark.parametrize(("answer", "expected"), WECHATPAY.items())
def test_wechat_pay_answers_are_409_for_what_was_asked_and_502_for_wechat_pays_or_our_trouble(
    keys: dict[str, rsa.RSAPrivateKey], answer: tuple[int, str], expected: int
) -> None:
    status, code = answer
    body = json.dumps({"code": code, "message": "documented"}).encode()
    config = WeChatPayConfig("wx1", "1900000042", "SERIAL", private_pem(keys["merchant"]), public_pem(keys["provider"]),
                             "PUB_KEY_ID", b"0" * 32, "https://api.mch.weixin.example")  # fmt: skip
    channel = WeChatPayChannel(config, "https://shop.example/n", Answering(status, body))

    assert status_of(lambda: channel.start(PaymentRequest("P1", "O1", 100, "商品"))) == expected
    assert status_of(lambda: channel.refund("P1", "R1", 100, 100)) == expected
