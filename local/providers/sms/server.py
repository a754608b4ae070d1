"""Aliyun SMS and Tencent Cloud SMS on one loopback port, each checking a request as its provider does: the signature
recomputed with the account's secret, the timestamp's freshness (Aliyun: 15 minutes and a nonce used once; Tencent:
5 minutes), the signature name and template it knows. A message that passes is kept in `sent`; one that does not
gets the provider's own error answer (SignatureDoesNotMatch, AuthFailure.SignatureFailure...).

`SMS_PROVIDER=aliyun|tencent` with `env()` points the app at it (tests; `make run` keeps SNS and /dev/outbox).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.accounts.sms_providers import aliyun_signature, tc3_signature, tc3_string_to_sign
from local.loopback import Answer, LoopbackService, json_answer, send

ACCESS_KEY_ID = "LTAI-emulator-id"
ACCESS_KEY_SECRET = "emulator-secret-key"  # noqa: S105 - the emulator's own test account
SDK_APP_ID = "1400000001"
SIGN_NAME = "Shop"
CODE_TEMPLATE = "SMS_100000001"
NOTICE_TEMPLATE = "SMS_100000002"
ALIYUN_FRESH_SECONDS = 900
TENCENT_FRESH_SECONDS = 300


@dataclass
class SentMessage:
    provider: str
    phone: str
    sign_name: str
    template: str
    params: Any


@dataclass
class SmsEmulatorState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: list[SentMessage] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)  # the error codes answered, in order


class SmsEmulator(LoopbackService):
    thread_name = "sms-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = SmsEmulatorState()
        state = self.state

        class Handler(_SmsHandler):
            shared = state

        super().__init__(Handler, host, port)

    def env(self, provider: str) -> dict[str, str]:
        """The app's SMS_* settings for this emulator as `provider` (aliyun or tencent)."""
        return {
            "SMS_PROVIDER": provider,
            "SMS_ENDPOINT": f"{self.url}/{provider}/",
            "SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
            "SMS_SDK_APP_ID": SDK_APP_ID,
            "SMS_SIGN_NAME": SIGN_NAME,
            "SMS_CODE_TEMPLATE": CODE_TEMPLATE,
            "SMS_NOTICE_TEMPLATE": NOTICE_TEMPLATE,
        }


def start_sms_emulator(host: str = "127.0.0.1", port: int = 0) -> SmsEmulator:
    return SmsEmulator(host, port).start()


class _SmsHandler(BaseHTTPRequestHandler):
    shared: SmsEmulatorState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.startswith("/aliyun/"):
            answer = aliyun_send_sms(self.shared, body)
        elif self.path.startswith("/tencent/"):
            answer = tencent_send_sms(self.shared, headers, body)
        else:
            answer = json_answer({"error": "not found"}, 404)
        send(self, answer)


# -- Aliyun dysmsapi SendSms -----------------------------------------------------------------------------------------


def _aliyun_error(state: SmsEmulatorState, status: int, code: str, message: str) -> Answer:
    with state.lock:
        state.refusals.append(code)
    return json_answer({"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}, status)


def aliyun_send_sms(state: SmsEmulatorState, body: bytes) -> Answer:
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = params.pop("Signature", "")
    if params.get("AccessKeyId") != ACCESS_KEY_ID:
        return _aliyun_error(state, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if aliyun_signature("POST", params, ACCESS_KEY_SECRET) != signature:
        return _aliyun_error(state, 400, "SignatureDoesNotMatch", "Specified signature is not matched.")
    try:
        at = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _aliyun_error(state, 400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
    if abs(time.time() - at.timestamp()) > ALIYUN_FRESH_SECONDS:
        return _aliyun_error(state, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date is expired.")
    with state.lock:
        if params.get("SignatureNonce", "") in state.nonces:
            state.refusals.append("SignatureNonceUsed")
            return json_answer({"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used."}, 400)
        state.nonces.add(params.get("SignatureNonce", ""))
    if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
        return _aliyun_error(state, 400, "InvalidAction.NotFound", "Specified api is not found.")
    if params.get("SignName") != SIGN_NAME:
        return _aliyun_error(state, 200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
    if params.get("TemplateCode") not in (CODE_TEMPLATE, NOTICE_TEMPLATE):
        return _aliyun_error(state, 200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
    try:
        variables = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return _aliyun_error(state, 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
    with state.lock:
        state.sent.append(
            SentMessage("aliyun", params["PhoneNumbers"], params["SignName"], params["TemplateCode"], variables)
        )
    return json_answer({"Code": "OK", "Message": "OK", "BizId": uuid.uuid4().hex[:20], "RequestId": str(uuid.uuid4())})


# -- Tencent Cloud SMS SendSms ---------------------------------------------------------------------------------------


def _tencent_error(state: SmsEmulatorState, code: str, message: str) -> Answer:
    with state.lock:
        state.refusals.append(code)
    return json_answer({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}})


def tencent_send_sms(state: SmsEmulatorState, headers: dict[str, str], body: bytes) -> Answer:
    authorization = headers.get("authorization", "")
    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("TC3-HMAC-SHA256 ").split(","))
    credential = fields.get("Credential", "").split("/")
    if not authorization.startswith("TC3-HMAC-SHA256 ") or len(credential) != 4:
        return _tencent_error(state, "AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256.")
    if credential[0] != ACCESS_KEY_ID:
        return _tencent_error(state, "AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    try:
        timestamp = int(headers.get("x-tc-timestamp", ""))
    except ValueError:
        return _tencent_error(state, "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing.")
    if abs(time.time() - timestamp) > TENCENT_FRESH_SECONDS:
        return _tencent_error(state, "AuthFailure.SignatureExpire", "The signature expired.")
    if fields.get("SignedHeaders") != "content-type;host" or headers.get("content-type") != (
        "application/json; charset=utf-8"
    ):
        return _tencent_error(state, "AuthFailure.SignatureFailure", "The signed headers do not match.")
    expected = tc3_signature(
        ACCESS_KEY_SECRET, "sms", tc3_string_to_sign(headers.get("host", ""), "sms", timestamp, body)
    )
    if fields.get("Signature") != expected or "/".join(credential[1:]) != f"{_date(timestamp)}/sms/tc3_request":
        return _tencent_error(state, "AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
        return _tencent_error(state, "InvalidAction", "The action is not found.")
    request = json.loads(body or b"{}")
    if request.get("SmsSdkAppId") != SDK_APP_ID:
        return _tencent_error(state, "FailedOperation.SdkAppIdNotFound", "SdkAppId not found.")
    if request.get("SignName") != SIGN_NAME:
        return _tencent_error(state, "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误")
    if request.get("TemplateId") not in (CODE_TEMPLATE, NOTICE_TEMPLATE):
        return _tencent_error(state, "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配")
    statuses = []
    for phone in request.get("PhoneNumberSet") or []:
        with state.lock:
            state.sent.append(
                SentMessage("tencent", phone, request["SignName"], request["TemplateId"], request["TemplateParamSet"])
            )
        statuses.append(
            {"SerialNo": uuid.uuid4().hex, "PhoneNumber": phone, "Fee": 1, "Code": "Ok", "Message": "send success"}
        )
    return json_answer({"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}})


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
