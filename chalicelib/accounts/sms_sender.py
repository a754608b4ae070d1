"""Text messages: SNS Publish to the phone number, or a China cloud's SMS service (accounts/sms_providers.py), chosen
per stage by SMS_PROVIDER; the local stage also keeps every message in an outbox (`GET /dev/outbox`)."""

from __future__ import annotations

from chalicelib.accounts.guards import SmsSender
from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.aws import client
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.errors import DependencyUnavailable
from chalicelib.observability import logger

OUTBOX_SECONDS = 86400


def verification_text(sign_name: str, code: str) -> str:
    """The text of a verification code where the sender writes the whole text (SNS)."""
    return f"【{sign_name}】您的验证码是{code}，5分钟内有效。如非本人操作，请忽略本短信。"


class SnsSmsSender:
    """SmsSender on SNS (transactional SMS to +86 numbers; not offered in AWS's China regions)."""

    def __init__(self, sign_name: str = "Shop") -> None:
        self.sign_name = sign_name

    def send(self, phone: str, text: str) -> None:
        try:
            client("sns").publish(
                PhoneNumber=f"+86{phone}",
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except Exception as error:
            logger.exception("SMS could not be sent")
            raise DependencyUnavailable("The SMS could not be sent, try again shortly") from error

    def send_code(self, phone: str, code: str) -> None:
        self.send(phone, verification_text(self.sign_name, code))


class OutboxRecordingSender:
    """The local stage's sender: sends through `inner`, then keeps a copy that /dev/outbox reads (local only: a
    deployed dev stage texts for real and keeps nothing)."""

    def __init__(self, inner: SmsSender, security: SecurityRepository, sign_name: str = "Shop") -> None:
        self.inner = inner
        self.security = security
        self.sign_name = sign_name

    def send(self, phone: str, text: str) -> None:
        self.inner.send(phone, text)
        self._record(phone, text)

    def send_code(self, phone: str, code: str) -> None:
        self.inner.send_code(phone, code)
        self._record(phone, verification_text(self.sign_name, code))

    def _record(self, phone: str, text: str) -> None:
        self.security.record_outbox(phone, text, now_iso(), epoch_seconds() + OUTBOX_SECONDS)


def sms_sender(security: SecurityRepository, is_local: bool) -> SmsSender:
    """The stage's sender (SMS_PROVIDER: sns, aliyun or tencent), wrapped in the outbox on the local stage."""
    from chalicelib.accounts.sms_providers import AliyunSmsSender, SmsSettings, TencentSmsSender

    settings = SmsSettings.from_env()
    sender: SmsSender
    if settings.provider == "aliyun":
        sender = AliyunSmsSender(settings)
    elif settings.provider == "tencent":
        sender = TencentSmsSender(settings)
    else:
        sender = SnsSmsSender(settings.sign_name)
    return OutboxRecordingSender(sender, security, settings.sign_name) if is_local else sender
