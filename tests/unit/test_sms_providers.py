"""SMS through Aliyun SMS and Tencent Cloud SMS: the signatures match the providers' published examples, and each
sender's requests pass its provider's checks in a local emulator that recomputes them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import pytest

from chalicelib.accounts.sms_providers import (
    AliyunSmsSender,
    SmsSettings,
    TencentSmsSender,
    aliyun_signature,
    percent_encode,
    tc3_signature,
    tc3_string_to_sign,
)
from chalicelib.accounts.sms_sender import OutboxRecordingSender, SnsSmsSender, sms_sender
from chalicelib.errors import DependencyUnavailable
from local.providers.sms.server import CODE_TEMPLATE, NOTICE_TEMPLATE, SmsEmulator, start_sms_emulator
from tests.unit.fakes import FakeSecurityRepository

# Aliyun's worked example of the RPC signature (ECS DescribeRegions, AccessKeySecret "testsecret").
ALIYUN_DOC_PARAMS = {
    "Timestamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
# Tencent Cloud's worked example of TC3-HMAC-SHA256 (CVM DescribeInstances at 1551113065).
TENCENT_DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_the_aliyun_signature_matches_aliyuns_published_example() -> None:
    assert aliyun_signature("GET", ALIYUN_DOC_PARAMS, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_percent_encoding_keeps_only_the_unreserved_characters() -> None:
    assert percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


def test_the_tencent_signature_matches_tencents_published_example() -> None:
    assert hashlib.sha256(TENCENT_DOC_PAYLOAD).hexdigest() == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    to_sign = tc3_string_to_sign("cvm.tencentcloudapi.com", "cvm", 1551113065, TENCENT_DOC_PAYLOAD)
    assert to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", to_sign) == (
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[SmsEmulator]:
    running = start_sms_emulator()
    yield running
    running.stop()


def settings_for(emulator: SmsEmulator, provider: str) -> SmsSettings:
    return SmsSettings.from_env(emulator.env(provider))


@pytest.mark.parametrize("sender_class", [AliyunSmsSender, TencentSmsSender])
def test_a_code_and_a_notice_go_out_through_the_approved_templates_under_the_shops_signature(
    emulator: SmsEmulator, sender_class: type[AliyunSmsSender] | type[TencentSmsSender]
) -> None:
    # GIVEN a sender set up with the stage's signature and templates
    provider = "aliyun" if sender_class is AliyunSmsSender else "tencent"
    sender = sender_class(settings_for(emulator, provider))
    before = len(emulator.state.sent)

    # WHEN it sends a verification code and a notice
    sender.send_code("13800138000", "123456")
    sender.send("13800138000", "您的订单已发货")

    # THEN the provider accepted both signatures and sent each through its template
    sent = emulator.state.sent[before:]
    assert [(m.provider, m.sign_name, m.template) for m in sent] == [
        (provider, "Shop", CODE_TEMPLATE),
        (provider, "Shop", NOTICE_TEMPLATE),
    ]
    if provider == "aliyun":
        assert sent[0].phone == "13800138000"
        assert [m.params for m in sent] == [{"code": "123456"}, {"content": "您的订单已发货"}]
    else:
        assert sent[0].phone == "+8613800138000"
        assert [m.params for m in sent] == [["123456"], ["您的订单已发货"]]


@pytest.mark.parametrize(
    ("sender_class", "refusal"),
    [(AliyunSmsSender, "SignatureDoesNotMatch"), (TencentSmsSender, "AuthFailure.SignatureFailure")],
)
def test_a_request_signed_with_the_wrong_secret_is_refused_and_reported_as_unavailable(
    emulator: SmsEmulator, sender_class: type[AliyunSmsSender] | type[TencentSmsSender], refusal: str
) -> None:
    provider = "aliyun" if sender_class is AliyunSmsSender else "tencent"
    sender = sender_class(replace(settings_for(emulator, provider), access_key_secret="not-the-secret"))
    before = len(emulator.state.sent)

    with pytest.raises(DependencyUnavailable):
        sender.send_code("13800138000", "654321")

    assert emulator.state.refusals[-1] == refusal
    assert len(emulator.state.sent) == before


def test_an_unapproved_template_is_refused(emulator: SmsEmulator) -> None:
    sender = AliyunSmsSender(replace(settings_for(emulator, "aliyun"), notice_template="SMS_NOT_APPROVED"))

    with pytest.raises(DependencyUnavailable):
        sender.send("13800138000", "hello")

    assert emulator.state.refusals[-1] == "isv.SMS_TEMPLATE_ILLEGAL"


@pytest.mark.parametrize(
    ("provider", "expected"), [("sns", SnsSmsSender), ("aliyun", AliyunSmsSender), ("tencent", TencentSmsSender)]
)
def test_the_stage_picks_its_sender_and_only_the_local_stage_keeps_an_outbox(
    monkeypatch: pytest.MonkeyPatch, provider: str, expected: type
) -> None:
    monkeypatch.setenv("SMS_PROVIDER", provider)

    deployed = sms_sender(FakeSecurityRepository(), is_local=False)
    local = sms_sender(FakeSecurityRepository(), is_local=True)

    assert isinstance(deployed, expected)
    assert isinstance(local, OutboxRecordingSender) and isinstance(local.inner, expected)


def test_an_unknown_provider_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="SMS_PROVIDER"):
        SmsSettings.from_env({"SMS_PROVIDER": "pigeon"})


def test_the_local_outbox_keeps_the_code_text_of_any_provider(emulator: SmsEmulator) -> None:
    security = FakeSecurityRepository()
    sender = OutboxRecordingSender(AliyunSmsSender(settings_for(emulator, "aliyun")), security)

    sender.send_code("13900139000", "112233")

    assert "112233" in security.outbox("13900139000")[0]["text"]
