"""Text messages through the SMS services of China's clouds, which SNS does not reach from Beijing or Ningxia.

Aliyun SMS (dysmsapi `SendSms`, version 2017-05-25) signs with the RPC signature v1 (HMAC-SHA1 over the sorted,
percent-encoded parameters); Tencent Cloud SMS (`SendSms`, version 2021-01-11) with TC3-HMAC-SHA256 (a key derived
from the date and the service, over the canonical request). Both send a template the provider approved, under the
shop's approved signature (签名): a verification code through SMS_CODE_TEMPLATE, every other text through
SMS_NOTICE_TEMPLATE whose one variable carries it. `SMS_PROVIDER` (sns, aliyun, tencent) picks the sender per stage.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from chalicelib import outbound
from chalicelib.errors import DependencyUnavailable
from chalicelib.observability import logger

PROVIDERS = ("sns", "aliyun", "tencent")
SMS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class SmsSettings:
    """The SMS_* settings of a stage (docs/deploy.md, "SMS")."""

    provider: str = "sns"
    sign_name: str = "Shop"  # the approved signature (签名), shown as 【Shop】
    code_template: str = ""  # the verification-code template (Aliyun: SMS_123456789; Tencent: a numeric id)
    notice_template: str = ""  # the notice template; its one variable (Aliyun: ${content}) carries the text
    access_key_id: str = ""  # Aliyun AccessKey ID / Tencent SecretId
    access_key_secret: str = ""  # Aliyun AccessKey secret / Tencent SecretKey
    sdk_app_id: str = ""  # Tencent only: the SMS application's SdkAppId
    region: str = ""  # Aliyun: cn-hangzhou; Tencent: ap-guangzhou (the defaults)
    endpoint: str = ""  # the provider's API (the defaults), or a local emulator

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmsSettings:
        e = os.environ if env is None else env
        if arn := e.get("SMS_SECRETS_ARN"):  # the secret key from Secrets Manager, never from the template
            e = {**e, **_secret_values(arn)}
        provider = e.get("SMS_PROVIDER", "sns").strip().lower() or "sns"
        if provider not in PROVIDERS:
            raise ValueError(f"SMS_PROVIDER must be one of {', '.join(PROVIDERS)}, got {provider!r}")
        return cls(
            provider=provider,
            sign_name=e.get("SMS_SIGN_NAME", "Shop"),
            code_template=e.get("SMS_CODE_TEMPLATE", ""),
            notice_template=e.get("SMS_NOTICE_TEMPLATE", ""),
            access_key_id=e.get("SMS_ACCESS_KEY_ID", ""),
            access_key_secret=e.get("SMS_ACCESS_KEY_SECRET", ""),
            sdk_app_id=e.get("SMS_SDK_APP_ID", ""),
            region=e.get("SMS_REGION", ""),
            endpoint=e.get("SMS_ENDPOINT", ""),
        )


@functools.lru_cache(maxsize=2)
def _secret_values(arn: str) -> dict[str, str]:
    """SMS_ACCESS_KEY_SECRET (and SMS_ACCESS_KEY_ID) from the SMS_SECRETS_ARN secret, a JSON object (once per cold
    start)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.aws import client

    try:
        values = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
    except (BotoCoreError, ClientError, ValueError, KeyError) as error:
        raise DependencyUnavailable("The SMS secrets could not be read") from error
    return {k: str(v) for k, v in values.items() if k in ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET")}


Post = Callable[[str, bytes, dict[str, str]], tuple[int, bytes]]


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    response = outbound.request("POST", url, SMS_TIMEOUT_SECONDS, content=body, headers=headers)
    return response.status_code, response.content


# -- Aliyun: RPC signature v1 --------------------------------------------------------------------------------------

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"


def percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun specifies it: only A-Z a-z 0-9 - _ . ~ stay; a space is %20, `*` is %2A."""
    return quote(value, safe="~")


def aliyun_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", METHOD&%2F&encode(sorted encoded pairs))), Signature itself left out."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunSmsSender:
    """SmsSender on Aliyun SMS: a POSTed form, signed with the RPC signature v1."""

    def __init__(self, settings: SmsSettings, post: Post = _post, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self._post = post
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, phone: str, text: str) -> None:
        self._send(phone, self.settings.notice_template, {"content": text})

    def send_code(self, phone: str, code: str) -> None:
        self._send(phone, self.settings.code_template, {"code": code})

    def request(self, phone: str, template: str, variables: dict[str, str]) -> dict[str, str]:
        """The signed parameters of one SendSms call."""
        params = {
            "AccessKeyId": self.settings.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.settings.region or "cn-hangzhou",
            "SignName": self.settings.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(variables, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        return {**params, "Signature": aliyun_signature("POST", params, self.settings.access_key_secret)}

    def _send(self, phone: str, template: str, variables: dict[str, str]) -> None:
        body = urlencode(self.request(phone, template, variables), quote_via=quote).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"}
        status, answer = self._post(self.settings.endpoint or ALIYUN_ENDPOINT, body, headers)
        parsed = _json(answer)
        if status != 200 or parsed.get("Code") != "OK":
            _refused("aliyun", status, parsed.get("Code"), parsed.get("Message"))


# -- Tencent Cloud: TC3-HMAC-SHA256 --------------------------------------------------------------------------------

TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com/"
TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_string_to_sign(host: str, service: str, timestamp: int, payload: bytes) -> str:
    """The string to sign of a POST with a JSON body, signing content-type and host (Tencent's documented form)."""
    canonical_request = "\n".join(
        ("POST", "/", "", f"content-type:{TENCENT_CONTENT_TYPE}\nhost:{host}\n", "content-type;host",
         hashlib.sha256(payload).hexdigest())
    )  # fmt: skip
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    hashed = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hashed}"


def tc3_signature(secret_key: str, service: str, string_to_sign: str) -> str:
    """Hex(HMAC-SHA256(key derived from "TC3"+SecretKey, the date and the service, the string to sign))."""
    date = string_to_sign.split("\n")[2].split("/")[0]
    signing_key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class TencentSmsSender:
    """SmsSender on Tencent Cloud SMS: a JSON POST with a TC3-HMAC-SHA256 Authorization header."""

    service = "sms"

    def __init__(self, settings: SmsSettings, post: Post = _post, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self._post = post
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, phone: str, text: str) -> None:
        self._send(phone, self.settings.notice_template, [text])

    def send_code(self, phone: str, code: str) -> None:
        self._send(phone, self.settings.code_template, [code])

    def request(self, phone: str, template: str, variables: list[str]) -> tuple[bytes, dict[str, str]]:
        """The body and signed headers of one SendSms call."""
        endpoint = self.settings.endpoint or TENCENT_ENDPOINT
        host = urlsplit(endpoint).netloc
        body = {
            "PhoneNumberSet": [f"+86{phone}"],
            "SmsSdkAppId": self.settings.sdk_app_id,
            "SignName": self.settings.sign_name,
            "TemplateId": template,
            "TemplateParamSet": variables,
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self._clock().timestamp())
        string_to_sign = tc3_string_to_sign(host, self.service, timestamp, payload)
        scope = string_to_sign.split("\n")[2]
        signature = tc3_signature(self.settings.access_key_secret, self.service, string_to_sign)
        authorization = (
            f"TC3-HMAC-SHA256 Credential={self.settings.access_key_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": TENCENT_CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.settings.region or "ap-guangzhou",
        }
        return payload, headers

    def _send(self, phone: str, template: str, variables: list[str]) -> None:
        payload, headers = self.request(phone, template, variables)
        status, answer = self._post(self.settings.endpoint or TENCENT_ENDPOINT, payload, headers)
        response = _json(answer).get("Response") or {}
        if "Error" in response:
            _refused("tencent", status, response["Error"].get("Code"), response["Error"].get("Message"))
        sent = response.get("SendStatusSet") or [{}]
        if status != 200 or sent[0].get("Code") != "Ok":
            _refused("tencent", status, sent[0].get("Code"), sent[0].get("Message"))


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _refused(provider: str, status: int, code: Any, message: Any) -> None:
    logger.error("SMS refused", extra={"sms_provider": provider, "status": status, "code": code, "why": message})
    raise DependencyUnavailable("The SMS could not be sent, try again shortly")
