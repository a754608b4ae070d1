"""Payment settings read from the environment: app ids, keys (PEM, a PEM file or base64 DER), gateway URLs."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.config import stage_of

ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
WECHATPAY_API_BASE = "https://api.mch.weixin.qq.com"
LOCAL_NOTIFY_BASE = "http://127.0.0.1:8000"
DEFAULT_HTTP_TIMEOUT_SECONDS = 5.0
# Names a Secrets Manager secret (PAYMENT_SECRETS_ARN, a JSON object) may hold instead of the environment.
SECRET_NAMES = frozenset({"PAYMENT_SANDBOX_SECRET", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY", "WECHATPAY_PRIVATE_KEY",
                          "WECHATPAY_PLATFORM_PUBLIC_KEY", "WECHATPAY_APIV3_KEY"})  # fmt: skip


@dataclass(frozen=True)
class SandboxConfig:
    """The local/dev gateway: where pay_url points, and the HMAC secret both sides share."""

    gateway_base: str
    secret: bytes

    @property
    def configured(self) -> bool:
        return bool(self.gateway_base and self.secret)


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key: str  # the app's RSA2 private key
    alipay_public_key: str  # Alipay's public key (from the open platform console), verifies notifies and answers
    gateway: str
    seller_id: str = ""  # when set, a notify for another seller is refused

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.private_key and self.alipay_public_key)


@dataclass(frozen=True)
class WeChatPayConfig:
    app_id: str
    mch_id: str
    mch_serial_no: str  # serial of the merchant API certificate whose private key signs our requests
    private_key: str
    platform_public_key: str  # the WeChat Pay public key (or platform certificate) that signs notifies and answers
    platform_serial: str  # its serial / public key id, sent as Wechatpay-Serial
    apiv3_key: bytes  # 32 bytes: decrypts notify resources
    api_base: str

    @property
    def configured(self) -> bool:
        keys = self.private_key and self.platform_public_key and len(self.apiv3_key) == 32
        return bool(self.app_id and self.mch_id and self.mch_serial_no and self.platform_serial and keys)


@dataclass(frozen=True)
class PaymentSettings:
    stage: str
    notify_base: str  # the app's public base URL: notifies go to {notify_base}/payments/{channel}/notify
    http_timeout_seconds: float
    sandbox: SandboxConfig
    alipay: AlipayConfig
    wechat: WeChatPayConfig
    emulator_url: str = ""  # local/dev: the providers' emulator that plays the payer (POST /dev/payments/{id}/pay)

    def notify_url(self, channel: str) -> str:
        return f"{self.notify_base}/payments/{channel}/notify"

    def available(self) -> tuple[str, ...]:
        configured = {
            "sandbox": self.sandbox.configured,
            "alipay": self.alipay.configured,
            "alipay_wap": self.alipay.configured,
            "wechat": self.wechat.configured,
            "wechat_jsapi": self.wechat.configured,
            "wechat_h5": self.wechat.configured,
        }
        return tuple(name for name, ready in configured.items() if ready)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PaymentSettings:
        e = _with_secrets(os.environ if env is None else env)
        stage = stage_of(e)
        sandbox_allowed = stage in ("local", "dev")
        return cls(
            stage=stage,
            notify_base=(e.get("PAYMENT_NOTIFY_BASE") or (LOCAL_NOTIFY_BASE if sandbox_allowed else "")).rstrip("/"),
            http_timeout_seconds=float(e.get("PAYMENT_HTTP_TIMEOUT_SECONDS") or DEFAULT_HTTP_TIMEOUT_SECONDS),
            sandbox=SandboxConfig(
                gateway_base=(e.get("PAYMENT_SANDBOX_GATEWAY", "") if sandbox_allowed else "").rstrip("/"),
                secret=_sandbox_secret(e) if sandbox_allowed else b"",
            ),
            alipay=AlipayConfig(
                app_id=e.get("ALIPAY_APP_ID", ""),
                private_key=e.get("ALIPAY_PRIVATE_KEY", ""),
                alipay_public_key=e.get("ALIPAY_PUBLIC_KEY", ""),
                gateway=e.get("ALIPAY_GATEWAY") or ALIPAY_GATEWAY,
                seller_id=e.get("ALIPAY_SELLER_ID", ""),
            ),
            wechat=WeChatPayConfig(
                app_id=e.get("WECHATPAY_APP_ID", ""),
                mch_id=e.get("WECHATPAY_MCH_ID", ""),
                mch_serial_no=e.get("WECHATPAY_MCH_SERIAL_NO", ""),
                private_key=e.get("WECHATPAY_PRIVATE_KEY", ""),
                platform_public_key=e.get("WECHATPAY_PLATFORM_PUBLIC_KEY", ""),
                platform_serial=e.get("WECHATPAY_PLATFORM_SERIAL", ""),
                apiv3_key=e.get("WECHATPAY_APIV3_KEY", "").encode(),
                api_base=(e.get("WECHATPAY_API_BASE") or WECHATPAY_API_BASE).rstrip("/"),
            ),
            emulator_url=(e.get("PAYMENT_EMULATOR_URL", "") if sandbox_allowed else "").rstrip("/"),
        )


def _sandbox_secret(e: Mapping[str, str]) -> bytes:
    """PAYMENT_SANDBOX_SECRET, else derived from the token secret so it is never a constant on dev."""
    if secret := e.get("PAYMENT_SANDBOX_SECRET"):
        return secret.encode()
    from chalicelib.keys import jwt_secret

    try:
        return hmac.new(jwt_secret().encode(), b"payment-sandbox", hashlib.sha256).digest()
    except RuntimeError:
        return b""  # dev without a token secret: no sandbox rather than a guessable one


def _with_secrets(e: Mapping[str, str]) -> Mapping[str, str]:
    """The environment, with the keys of the PAYMENT_SECRETS_ARN secret (read once per cold start) over it."""
    arn = e.get("PAYMENT_SECRETS_ARN")
    return {**e, **_secret_values(arn)} if arn else e


@functools.lru_cache(maxsize=4)
def _secret_values(arn: str) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.aws import client
    from chalicelib.errors import DependencyUnavailable

    try:
        values = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
    except (BotoCoreError, ClientError, ValueError, KeyError) as error:
        raise DependencyUnavailable("The payment secrets could not be read") from error
    return {name: str(value) for name, value in values.items() if name in SECRET_NAMES}
