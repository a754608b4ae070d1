"""Payment channels on their own: notifies signed as each provider signs them are accepted, anything else refused."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.bootstrap.payments import CHANNELS as REGISTERED
from chalicelib.errors import DependencyUnavailable, NotFound
from chalicelib.payments.channels import (
    InvalidNotification,
    PaymentRequest,
    fen_from_yuan,
    yuan,
)
from chalicelib.payments.channels.alipay import (
    AlipayChannel,
    notify_sign_content,
    request_sign_content,
    signed_response,
)
from chalicelib.payments.channels.sandbox import SandboxChannel, canonical, signed_headers
from chalicelib.payments.channels.wechat import WeChatPayChannel, request_message
from chalicelib.payments.config import AlipayConfig, PaymentSettings, SandboxConfig, WeChatPayConfig
from chalicelib.payments.crypto import aes_gcm_decrypt, load_public_key, rsa_verify
from chalicelib.payments.transport import PaymentTransport, ProviderResponse
from local.providers.payments.alipay import alipay_answer, alipay_notify_body, alipay_notify_fields
from local.providers.payments.keys import private_pem, public_pem
from local.providers.payments.wechat import wechat_notify, wechat_resource, wechat_signed_headers, wechat_transaction

APP_ID, MCH_ID, WX_APP_ID = "2021000000000042", "1900000042", "wxtestapp0000042"
PLATFORM_SERIAL, APIV3_KEY = "PUB_KEY_ID_TEST", b"0123456789abcdef0123456789abcdef"


class NoNetwork(PaymentTransport):
    """A transport that must not be used: these tests never reach a provider."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        raise AssertionError(f"unexpected call to {url}")


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    """Our own key pairs: the merchant's and each provider's."""
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("merchant", "provider")}


@pytest.fixture
def alipay(keys: dict[str, rsa.RSAPrivateKey]) -> AlipayChannel:
    config = AlipayConfig(
        app_id=APP_ID,
        private_key=private_pem(keys["merchant"]),
        alipay_public_key=public_pem(keys["provider"]),
        gateway="https://openapi.alipay.example/gateway.do",
    )
    return AlipayChannel(config, "https://shop.example/payments/alipay/notify", NoNetwork())


@pytest.fixture
def wechat(keys: dict[str, rsa.RSAPrivateKey]) -> WeChatPayChannel:
    config = WeChatPayConfig(
        app_id=WX_APP_ID,
        mch_id=MCH_ID,
        mch_serial_no="MERCHANTSERIAL",
        private_key=private_pem(keys["merchant"]),
        platform_public_key=public_pem(keys["provider"]),
        platform_serial=PLATFORM_SERIAL,
        apiv3_key=APIV3_KEY,
        api_base="https://api.mch.weixin.example",
    )
    return WeChatPayChannel(config, "https://shop.example/payments/wechat/notify", NoNetwork())


@pytest.fixture
def sandbox() -> SandboxChannel:
    config = SandboxConfig(gateway_base="http://127.0.0.1:9", secret=b"sandbox-test-secret")
    return SandboxChannel(config, "http://127.0.0.1:8000/payments/sandbox/notify", NoNetwork())


# ---- amounts ----


@pytest.mark.parametrize(("text", "fen"), [("0.01", 1), ("12.34", 1234), ("100", 10000), ("99.9", 9990)])
def test_yuan_amounts_become_exact_fen(text: str, fen: int) -> None:
    assert fen_from_yuan(text) == fen
    assert fen_from_yuan(yuan(fen)) == fen


@pytest.mark.parametrize("text", ["12.345", "-1.00", "1e3", "", "12.", "NaN", " 1.00", "１.00"])
def test_anything_but_plain_yuan_with_two_decimals_is_no_amount(text: str) -> None:
    assert fen_from_yuan(text) is None


# ---- Alipay ----


def test_alipay_page_pay_url_is_signed_rsa2_over_the_sorted_parameters(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    started = alipay.start(PaymentRequest("P20261124001", "O1", 12345, "华为 Mate 70 等2件"))

    url = urlsplit(started["pay_url"])
    params = dict(parse_qsl(url.query))
    biz = json.loads(params["biz_content"])
    assert url.netloc == "openapi.alipay.example"
    assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2"
    assert biz == {
        "out_trade_no": "P20261124001",
        "total_amount": "123.45",
        "subject": "华为 Mate 70 等2件",
        "product_code": "FAST_INSTANT_TRADE_PAY",
    }
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    assert rsa_verify(keys["merchant"].public_key(), content.encode(), params["sign"])


def test_alipay_on_a_phone_uses_wap_pay(alipay: AlipayChannel) -> None:
    started = alipay.start(PaymentRequest("P2", "O2", 100, "t", client="h5", return_url="https://shop.example/r"))

    params = dict(parse_qsl(urlsplit(started["pay_url"]).query))
    assert params["method"] == "alipay.trade.wap.pay"
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_WAP_WAY"
    assert params["return_url"] == "https://shop.example/r"


def test_alipay_request_signing_skips_sign_and_empty_values_and_notify_signing_also_skips_sign_type() -> None:
    params = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "empty": ""}

    assert request_sign_content(params) == "a=1&b=2&sign_type=RSA2"
    assert notify_sign_content(params) == "a=1&b=2&empty="


def test_a_notify_signed_by_alipay_is_a_successful_payment(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    fields = alipay_notify_fields(APP_ID, "P20261124001", 12345, "2026112422001400001")
    fields["gmt_payment"] = "2026-11-24 16:00:05"

    notice = alipay.verify_notify({}, alipay_notify_body(keys["provider"], fields))

    assert (notice.payment_id, notice.amount_fen, notice.success) == ("P20261124001", 12345, True)
    assert notice.transaction_id == "2026112422001400001"
    assert notice.paid_at == "2026-11-24T08:00:05Z"
    assert alipay.notify_ack() == (200, "text/plain; charset=utf-8", b"success")
    assert alipay.notify_ack(InvalidNotification("forged"))[2] == b"failure"


def test_a_closed_alipay_trade_is_a_verified_notice_of_no_payment(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    fields = alipay_notify_fields(APP_ID, "P3", 100, "T3", status="TRADE_CLOSED")

    notice = alipay.verify_notify({}, alipay_notify_body(keys["provider"], fields))

    assert not notice.success and notice.paid_at is None and notice.provider_status == "TRADE_CLOSED"


def test_an_alipay_notify_signed_with_another_key_is_refused(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    body = alipay_notify_body(keys["merchant"], alipay_notify_fields(APP_ID, "P1", 100, "T1"))

    with pytest.raises(InvalidNotification, match="signature"):
        alipay.verify_notify({}, body)


def test_an_alipay_notify_with_a_tampered_amount_is_refused(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    params = dict(
        parse_qsl(alipay_notify_body(keys["provider"], alipay_notify_fields(APP_ID, "P1", 100, "T1")).decode())
    )
    params["total_amount"] = "0.01"

    with pytest.raises(InvalidNotification, match="signature"):
        alipay.verify_notify({}, urlencode(params).encode())


def test_an_alipay_notify_for_another_app_is_refused(alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]) -> None:
    body = alipay_notify_body(keys["provider"], alipay_notify_fields("2021999999999999", "P1", 100, "T1"))

    with pytest.raises(InvalidNotification, match="another app"):
        alipay.verify_notify({}, body)


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe", b"not a form", b"a=1&a=2", b"sign=abc&app_id=1", json.dumps({"sign": "x"}).encode()],
)
def test_a_malformed_alipay_notify_is_refused(alipay: AlipayChannel, body: bytes) -> None:
    with pytest.raises(InvalidNotification):
        alipay.verify_notify({}, body)


def test_an_alipay_notify_with_an_amount_of_three_decimals_is_refused_even_when_signed(
    alipay: AlipayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    fields = alipay_notify_fields(APP_ID, "P1", 100, "T1") | {"total_amount": "1.001"}

    with pytest.raises(InvalidNotification, match="amount"):
        alipay.verify_notify({}, alipay_notify_body(keys["provider"], fields))


def test_alipay_answers_are_verified_on_the_exact_text_alipay_signed(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    value = {"code": "10000", "msg": "Success", "refund_fee": "1.00", "note": '含中文 and "quotes"'}
    text = alipay_answer(keys["provider"], "alipay.trade.refund", value)

    content, parsed, sign = signed_response(text, "alipay.trade.refund") or ("", {}, "")

    assert parsed == value
    assert rsa_verify(keys["provider"].public_key(), content.encode(), sign)
    assert signed_response("<html>busy</html>", "alipay.trade.refund") is None


# ---- WeChat Pay ----


def test_wechat_authorization_signs_method_url_timestamp_nonce_and_body(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    body = '{"appid":"wx"}'
    url = "https://api.mch.weixin.example/v3/pay/transactions/native?x=1"

    auth = wechat.authorization("POST", url, body, timestamp=1764000000, nonce="NONCE123")

    scheme, _, rest = auth.partition(" ")
    values = {k: v.strip('"') for k, v in (item.split("=", 1) for item in rest.split(","))}
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    assert values["mchid"] == MCH_ID and values["serial_no"] == "MERCHANTSERIAL"
    message = "POST\n/v3/pay/transactions/native?x=1\n1764000000\nNONCE123\n" + body + "\n"
    assert request_message("POST", url, "1764000000", "NONCE123", body) == message
    assert rsa_verify(keys["merchant"].public_key(), message.encode(), values["signature"])


def test_a_wechat_notify_signed_by_the_platform_decrypts_to_a_successful_payment(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    transaction = wechat_transaction(WX_APP_ID, MCH_ID, "P20261124001", 12345, "4200000000202611240001")
    transaction["success_time"] = "2026-11-24T16:00:05+08:00"
    headers, body = wechat_notify(keys["provider"], PLATFORM_SERIAL, APIV3_KEY, transaction)

    notice = wechat.verify_notify(headers, body)

    assert (notice.payment_id, notice.amount_fen, notice.success) == ("P20261124001", 12345, True)
    assert notice.transaction_id == "4200000000202611240001"
    assert notice.paid_at == "2026-11-24T08:00:05Z"
    assert wechat.notify_ack()[0] == 204
    assert wechat.notify_ack(InvalidNotification("forged"))[:2] == (400, "application/json")
    status, _, fail_body = wechat.notify_ack(DependencyUnavailable("down"))
    assert status == 502 and json.loads(fail_body)["code"] == "FAIL"


def test_wechat_notify_headers_are_read_whatever_their_case(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    headers, body = wechat_notify(
        keys["provider"], PLATFORM_SERIAL, APIV3_KEY, wechat_transaction(WX_APP_ID, MCH_ID, "P1", 1, "T1")
    )

    assert wechat.verify_notify({k.lower(): v for k, v in headers.items()}, body).amount_fen == 1


def test_a_wechat_notify_signed_with_another_key_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    transaction = wechat_transaction(WX_APP_ID, MCH_ID, "P1", 100, "T1")
    headers, body = wechat_notify(keys["merchant"], PLATFORM_SERIAL, APIV3_KEY, transaction)

    with pytest.raises(InvalidNotification, match="signature"):
        wechat.verify_notify(headers, body)


def test_a_wechat_notify_under_an_unknown_serial_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    transaction = wechat_transaction(WX_APP_ID, MCH_ID, "P1", 100, "T1")
    headers, body = wechat_notify(keys["provider"], "PUB_KEY_ID_OTHER", APIV3_KEY, transaction)

    with pytest.raises(InvalidNotification):
        wechat.verify_notify(headers, body)


def test_a_wechat_notify_older_than_five_minutes_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    transaction = wechat_transaction(WX_APP_ID, MCH_ID, "P1", 100, "T1")
    stale = int(time.time()) - 301
    headers, body = wechat_notify(keys["provider"], PLATFORM_SERIAL, APIV3_KEY, transaction, timestamp=stale)

    with pytest.raises(InvalidNotification, match="stale"):
        wechat.verify_notify(headers, body)


def test_a_wechat_notify_with_a_tampered_amount_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    """The amount is inside the encrypted resource: swapping the resource breaks the platform signature."""
    headers, body = wechat_notify(
        keys["provider"], PLATFORM_SERIAL, APIV3_KEY, wechat_transaction(WX_APP_ID, MCH_ID, "P1", 10000, "T1")
    )
    envelope = json.loads(body)
    envelope["resource"] = wechat_resource(APIV3_KEY, wechat_transaction(WX_APP_ID, MCH_ID, "P1", 1, "T1"))

    with pytest.raises(InvalidNotification, match="signature"):
        wechat.verify_notify(headers, json.dumps(envelope, ensure_ascii=False).encode())


def test_a_wechat_resource_encrypted_under_another_apiv3_key_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    transaction = wechat_transaction(WX_APP_ID, MCH_ID, "P1", 100, "T1")
    headers, body = wechat_notify(keys["provider"], PLATFORM_SERIAL, b"f" * 32, transaction)

    with pytest.raises(InvalidNotification, match="decrypt"):
        wechat.verify_notify(headers, body)


@pytest.mark.parametrize(("app_id", "mch_id"), [("wxsomeoneelse", MCH_ID), (WX_APP_ID, "1900000099")])
def test_a_wechat_notify_for_another_app_or_merchant_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey], app_id: str, mch_id: str
) -> None:
    transaction = wechat_transaction(app_id, mch_id, "P1", 100, "T1")
    headers, body = wechat_notify(keys["provider"], PLATFORM_SERIAL, APIV3_KEY, transaction)

    with pytest.raises(InvalidNotification, match="another merchant"):
        wechat.verify_notify(headers, body)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b"{}", b'{"resource": "x"}', b'{"resource": {"algorithm": "AEAD_AES_256_GCM"}}'],
)
def test_a_malformed_wechat_notify_is_refused_even_when_signed(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey], body: bytes
) -> None:
    headers = wechat_signed_headers(keys["provider"], PLATFORM_SERIAL, body)

    with pytest.raises(InvalidNotification):
        wechat.verify_notify(headers, body)


def test_a_signed_wechat_resource_that_is_not_a_transaction_is_refused(
    wechat: WeChatPayChannel, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    envelope = {"event_type": "TRANSACTION.SUCCESS", "resource": wechat_resource(APIV3_KEY, {"mchid": MCH_ID})}
    body = json.dumps(envelope).encode()

    with pytest.raises(InvalidNotification, match="malformed"):
        wechat.verify_notify(wechat_signed_headers(keys["provider"], PLATFORM_SERIAL, body), body)


def test_aes_gcm_opens_a_resource_built_like_wechats_and_nothing_altered() -> None:
    resource = wechat_resource(APIV3_KEY, {"out_trade_no": "P1"}, associated_data="transaction")
    sealed = base64.b64decode(resource["ciphertext"])
    flipped = base64.b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1])).decode()

    assert json.loads(aes_gcm_decrypt(APIV3_KEY, resource["nonce"], resource["ciphertext"], "transaction") or b"") == {
        "out_trade_no": "P1"
    }
    assert aes_gcm_decrypt(APIV3_KEY, resource["nonce"], resource["ciphertext"], "other") is None
    assert aes_gcm_decrypt(APIV3_KEY, resource["nonce"], flipped, "transaction") is None
    assert aes_gcm_decrypt(APIV3_KEY, resource["nonce"], "%%%", "transaction") is None


# ---- sandbox ----


def test_a_sandbox_notify_signed_with_the_stage_secret_is_a_payment(sandbox: SandboxChannel) -> None:
    notice = {
        "payment_id": "P1",
        "amount_fen": 990,
        "trade_no": "SBX1",
        "status": "SUCCESS",
        "paid_at": "2026-11-24T08:00:00Z",
    }

    verified = sandbox.verify_notify(signed_headers(b"sandbox-test-secret", notice), canonical(notice))

    assert (verified.payment_id, verified.amount_fen, verified.success) == ("P1", 990, True)
    assert verified.paid_at == "2026-11-24T08:00:00Z"


@pytest.mark.parametrize(
    ("secret", "signed_change", "sent_change", "age"),
    [
        (b"another-secret", {}, {}, 0),
        (b"sandbox-test-secret", {}, {"amount_fen": 1}, 0),
        (b"sandbox-test-secret", {}, {}, 301),
        (b"sandbox-test-secret", {"amount_fen": "990"}, {"amount_fen": "990"}, 0),
        (b"sandbox-test-secret", {"status": "MAYBE"}, {"status": "MAYBE"}, 0),
    ],
    ids=["wrong secret", "tampered amount", "stale", "amount not an integer", "unknown status"],
)
def test_a_sandbox_notify_that_is_not_signed_fresh_and_well_formed_is_refused(
    sandbox: SandboxChannel, secret: bytes, signed_change: dict[str, object], sent_change: dict[str, object], age: int
) -> None:
    notice: dict[str, object] = {"payment_id": "P1", "amount_fen": 990, "trade_no": "SBX1", "status": "SUCCESS"}
    headers = signed_headers(secret, notice | signed_change, int(time.time()) - age)

    with pytest.raises(InvalidNotification):
        sandbox.verify_notify(headers, canonical(notice | sent_change))


def test_a_sandbox_pay_url_points_at_the_local_gateway(sandbox: SandboxChannel) -> None:
    started = sandbox.start(PaymentRequest("P1", "O1", 990, "测试", expires_at=datetime(2026, 11, 24, tzinfo=UTC)))

    url = urlsplit(started["pay_url"])
    assert (url.netloc, url.path) == ("127.0.0.1:9", "/sandbox/pay")
    assert dict(parse_qsl(url.query))["amount_fen"] == "990"


# ---- configuration ----


def test_an_unconfigured_channel_is_not_found() -> None:
    settings = PaymentSettings.from_env({"SHOP_STAGE": "prod", "JWT_SECRET": "x"})

    assert settings.available() == ()
    with pytest.raises(NotFound):
        REGISTERED.channel("alipay", settings)
    with pytest.raises(NotFound):
        REGISTERED.channel("paypal", settings)


def test_the_sandbox_never_exists_on_prod() -> None:
    settings = PaymentSettings.from_env(
        {"SHOP_STAGE": "prod", "PAYMENT_SANDBOX_GATEWAY": "http://x", "PAYMENT_SANDBOX_SECRET": "s"}
    )

    assert "sandbox" not in settings.available()


def test_keys_are_read_as_pem_a_pem_file_or_bare_base64(keys: dict[str, rsa.RSAPrivateKey], tmp_path: Path) -> None:
    pem = public_pem(keys["provider"])
    path = tmp_path / "alipay_public.pem"
    path.write_text(pem)
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    numbers = keys["provider"].public_key().public_numbers()

    for form in (pem, str(path), bare):
        assert load_public_key(form).public_numbers() == numbers
