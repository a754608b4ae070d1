"""WeChat Pay API v3: native pay (code_url), signed notifies with AES-256-GCM resources, domestic refunds."""

from __future__ import annotations

import functools
import json
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from chalicelib.clock import SHANGHAI, epoch_seconds, iso
from chalicelib.errors import DependencyUnavailable, DomainError, InvalidState, ValidationError
from chalicelib.inputs import is_ascii_digits, loads_json
from chalicelib.payments.channels import (
    InvalidNotification,
    NotifyAck,
    PaymentChannel,
    PaymentNotice,
    PaymentRequest,
    RefundRefused,
    RefundResult,
    header,
)
from chalicelib.payments.config import WeChatPayConfig
from chalicelib.payments.crypto import aes_gcm_decrypt, load_private_key, load_public_key, rsa_sign, rsa_verify
from chalicelib.payments.transport import PaymentTransport, ProviderResponse

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_SECONDS = 300
NATIVE_PATH, REFUND_PATH = "/v3/pay/transactions/native", "/v3/refund/domestic/refunds"
JSAPI_PATH, H5_PATH = "/v3/pay/transactions/jsapi", "/v3/pay/transactions/h5"
TRADE_PATH = "/v3/pay/transactions/out-trade-no/{out_trade_no}"  # GET ?mchid= queries; POST .../close closes
# Answers that mean our own set-up is wrong or WeChat Pay is busy: the caller should retry later, not give up (502).
# Every other documented refusal (PARAM_ERROR, INVALID_REQUEST, ORDER_CLOSED, ORDERPAID, OUT_TRADE_NO_USED,
# RULE_LIMIT, TRADE_ERROR, ORDER_NOT_EXIST, NOT_ENOUGH, USER_ACCOUNT_ABNORMAL, RESOURCE_NOT_EXISTS) refuses what the
# request asked for: 409, never a 5xx.
UPSTREAM_CODES = frozenset(
    {"SIGN_ERROR", "MCH_NOT_EXISTS", "APPID_MCHID_NOT_MATCH", "NO_AUTH", "SYSTEM_ERROR", "BANK_ERROR",
     "FREQUENCY_LIMITED"}
)  # fmt: skip


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> str:
    """What a merchant signs: METHOD\\nURL (path and query)\\nTIMESTAMP\\nNONCE\\nBODY\\n."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{method}\n{target}\n{timestamp}\n{nonce}\n{body}\n"


def answer_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What WeChat Pay signs on its answers and notifies: TIMESTAMP\\nNONCE\\nBODY\\n."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def rfc3339_china(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


class WeChatPayChannel(PaymentChannel):
    name = "wechat"

    def __init__(self, config: WeChatPayConfig, notify_url: str, transport: PaymentTransport) -> None:
        self.config, self.notify_url, self.transport = config, notify_url, transport

    @functools.cached_property
    def _private_key(self) -> RSAPrivateKey:
        return load_private_key(self.config.private_key)

    @functools.cached_property
    def _platform_key(self) -> RSAPublicKey:
        return load_public_key(self.config.platform_public_key)

    def authorization(self, method: str, url: str, body: str, timestamp: int | None = None, nonce: str = "") -> str:
        """The Authorization header of a v3 API call."""
        stamp, nonce = str(epoch_seconds() if timestamp is None else timestamp), nonce or secrets.token_hex(16).upper()
        signature = rsa_sign(self._private_key, request_message(method, url, stamp, nonce, body).encode())
        return (
            f'{AUTH_SCHEME} mchid="{self.config.mch_id}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{stamp}",serial_no="{self.config.mch_serial_no}"'
        )

    def signed_by_wechat(self, headers: dict[str, str], body: bytes) -> bool:
        """Whether WeChat Pay's platform key signed this body, recently, under the serial we know."""
        stamp, nonce = header(headers, "Wechatpay-Timestamp"), header(headers, "Wechatpay-Nonce")
        signature, serial = header(headers, "Wechatpay-Signature"), header(headers, "Wechatpay-Serial")
        if not (is_ascii_digits(stamp) and nonce.isascii() and nonce and signature.isascii() and signature):
            return False  # only ASCII 0-9 make a timestamp: int() would also take '²' and full-width digits
        if serial != self.config.platform_serial:
            return False
        if abs(epoch_seconds() - int(stamp)) > MAX_CLOCK_SKEW_SECONDS:
            return False
        return rsa_verify(self._platform_key, answer_message(stamp, nonce, body), signature)

    def _call(self, path: str, fields: dict[str, Any] | None) -> tuple[ProviderResponse, dict[str, Any]]:
        """POST fields as JSON, or GET (fields None; the path carries the query); the answer once checked."""
        url = f"{self.config.api_base}{path}"
        body = "" if fields is None else json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Authorization": self.authorization("GET" if fields is None else "POST", url, body),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if fields is None:
            response = self.transport.get(url, headers)
        else:
            response = self.transport.post(url, body.encode(), headers)
        try:
            answer = json.loads(response.body) if response.body else {}
        except (ValueError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, dict) or response.status >= 500 or response.status == 429:
            raise DependencyUnavailable("WeChat Pay failed or answered nonsense")
        if response.status < 300 and not self.signed_by_wechat(response.headers, response.body):
            raise DependencyUnavailable("WeChat Pay's answer is not signed by WeChat Pay")
        if response.status >= 300 and response.status not in (400, 403, 404):
            raise DependencyUnavailable(f"WeChat Pay answered {response.status}")
        if response.status >= 300 and str(answer.get("code")) in UPSTREAM_CODES:
            raise DependencyUnavailable(f"WeChat Pay refused our call: {answer.get('code')}")
        return response, answer

    def order_fields(self, request: PaymentRequest) -> dict[str, Any]:
        """The fields every v3 order placement (native, JSAPI, H5) sends."""
        fields: dict[str, Any] = {
            "appid": self.config.app_id,
            "mchid": self.config.mch_id,
            "description": request.subject[:127],
            "out_trade_no": request.payment_id,
            "notify_url": self.notify_url,
            "amount": {"total": request.amount_fen, "currency": "CNY"},
        }
        if request.expires_at is not None:
            fields["time_expire"] = rfc3339_china(request.expires_at)
        return fields

    def place(self, path: str, fields: dict[str, Any], wanted: str) -> str:
        """Place the order at WeChat Pay; its answer's `wanted` field (code_url, prepay_id, h5_url)."""
        response, answer = self._call(path, fields)
        if response.status >= 300:
            raise InvalidState(f"WeChat Pay: {answer.get('message') or answer.get('code')}")
        value = answer.get(wanted)
        if not isinstance(value, str) or not value:
            raise DependencyUnavailable(f"WeChat Pay answered without a {wanted}")
        return value

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        """pay_params.code_url: the weixin:// link the page shows as a QR code for the payer to scan."""
        return {"pay_params": {"code_url": self.place(NATIVE_PATH, self.order_fields(request), "code_url")}}

    def verify_notify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        if not self.signed_by_wechat(headers, body):
            raise InvalidNotification("Bad, stale or unknown WeChat Pay signature")
        try:
            envelope = loads_json(body)
            resource = envelope["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise InvalidNotification("Unknown resource algorithm")
            plain = aes_gcm_decrypt(
                self.config.apiv3_key,
                str(resource["nonce"]),
                str(resource["ciphertext"]),
                str(resource.get("associated_data") or ""),
            )
            if plain is None:
                raise InvalidNotification("The notify's resource does not decrypt with our APIv3 key")
            transaction = loads_json(plain)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise InvalidNotification("The WeChat Pay notify is malformed") from None
        return self._notice(transaction)

    def _notice(self, transaction: Any) -> PaymentNotice:
        """A transaction (a notify's decrypted resource, or a query's answer) of this merchant and app."""
        try:
            total = transaction["amount"]["total"]
            payment_id, state = transaction["out_trade_no"], transaction["trade_state"]
            transaction_id = transaction.get("transaction_id") or ""
        except (KeyError, TypeError, AttributeError):
            raise InvalidNotification("The WeChat Pay transaction is malformed") from None
        if transaction.get("mchid") != self.config.mch_id or transaction.get("appid") != self.config.app_id:
            raise InvalidNotification("The WeChat Pay notify is for another merchant or app")
        if type(total) is not int or total < 0 or not isinstance(payment_id, str) or not isinstance(state, str):
            raise InvalidNotification("The WeChat Pay notify has no valid amount")
        success = state == "SUCCESS"
        return PaymentNotice(
            channel=self.name,
            payment_id=payment_id,
            amount_fen=total,
            transaction_id=str(transaction_id),
            paid_at=_utc(transaction.get("success_time")) if success else None,
            success=success,
            provider_status=state,
        )

    def notify_ack(self, error: DomainError | None = None) -> NotifyAck | None:
        """204 without a body on success; a 4xx/5xx with {"code": "FAIL", "message"} makes WeChat Pay notify again
        (up to 15 times over 24 hours): 400 for a notify we refuse, our 5xx when we failed after verifying it."""
        if error is None:
            return 204, "application/json", b""
        body = json.dumps({"code": "FAIL", "message": error.message}, ensure_ascii=False).encode()
        return (error.status if error.status >= 500 else 400), "application/json", body

    def refund(self, payment_id: str, refund_id: str, amount_fen: int, total_fen: int) -> RefundResult:
        """POST /v3/refund/domestic/refunds; out_refund_no = refund_id, so a retry is the same refund."""
        fields = {
            "out_trade_no": payment_id,
            "out_refund_no": refund_id,
            "amount": {"refund": amount_fen, "total": total_fen, "currency": "CNY"},
        }
        response, answer = self._call(REFUND_PATH, fields)
        if response.status >= 300:
            raise RefundRefused(f"WeChat Pay: {answer.get('message') or answer.get('code')}")
        status = answer.get("status")
        if status in ("CLOSED", "ABNORMAL"):
            raise RefundRefused(f"WeChat Pay: the refund is {status}")
        if status not in ("SUCCESS", "PROCESSING") or answer.get("out_refund_no") != refund_id:
            raise DependencyUnavailable("WeChat Pay answered a refund we did not ask for")
        return RefundResult(refund_id, payment_id, amount_fen, status, str(answer.get("refund_id", "")))

    def query(self, payment_id: str) -> PaymentNotice | None:
        """GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=: the signed trade (None: ORDER_NOT_EXIST)."""
        path = TRADE_PATH.format(out_trade_no=quote(payment_id, safe="")) + f"?mchid={quote(self.config.mch_id)}"
        response, answer = self._call(path, None)
        if response.status == 404 or (response.status >= 300 and answer.get("code") == "ORDER_NOT_EXIST"):
            return None
        if response.status >= 300:
            raise DependencyUnavailable(f"WeChat Pay refused the query: {answer.get('code')}")
        if answer.get("trade_state") != "SUCCESS" and not isinstance((answer.get("amount") or {}).get("total"), int):
            answer = {**answer, "amount": {"total": 0}}  # an unpaid trade's answer may leave the amount out
        try:
            return self._notice(answer)
        except InvalidNotification as why:
            raise DependencyUnavailable(f"WeChat Pay answered a query we cannot read: {why.message}") from None

    def close(self, payment_id: str) -> bool:
        """POST .../out-trade-no/{out_trade_no}/close {mchid}: 204 closed; ORDERPAID: paid already (False)."""
        path = TRADE_PATH.format(out_trade_no=quote(payment_id, safe="")) + "/close"
        response, answer = self._call(path, {"mchid": self.config.mch_id})
        if response.status < 300 or answer.get("code") in ("ORDER_NOT_EXIST", "ORDER_CLOSED"):
            return True
        if answer.get("code") == "ORDERPAID":
            return False
        raise DependencyUnavailable(f"WeChat Pay could not close the trade: {answer.get('code')}")


class WeChatJsapiChannel(WeChatPayChannel):
    """JSAPI inside WeChat: the order is placed for the payer's openid, and the page calls WeixinJSBridge
    getBrandWCPayRequest with pay_params signed by the merchant key (appId\\ntimeStamp\\nnonceStr\\npackage\\n)."""

    name = "wechat_jsapi"
    needs_openid = True

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        if not request.openid:
            raise ValidationError("wechat_jsapi needs the payer's openid", errors=[{"field": "openid"}])
        fields = {**self.order_fields(request), "payer": {"openid": request.openid}}
        prepay_id = self.place(JSAPI_PATH, fields, "prepay_id")
        return {"pay_params": self.bridge_params(prepay_id)}

    def bridge_params(self, prepay_id: str, timestamp: int | None = None, nonce: str = "") -> dict[str, str]:
        """getBrandWCPayRequest's parameters; signType is not signed."""
        params = {
            "appId": self.config.app_id,
            "timeStamp": str(epoch_seconds() if timestamp is None else timestamp),
            "nonceStr": nonce or secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
        }
        message = "".join(f"{params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package"))
        return {**params, "signType": "RSA", "paySign": rsa_sign(self._private_key, message.encode())}


class WeChatH5Channel(WeChatPayChannel):
    """H5 in a phone browser outside WeChat: h5_url opens WeChat to pay (redirect_url brings the browser back)."""

    name = "wechat_h5"

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        scene = {"payer_client_ip": request.client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}}
        h5_url = self.place(H5_PATH, {**self.order_fields(request), "scene_info": scene}, "h5_url")
        if request.return_url:
            h5_url += ("&" if "?" in h5_url else "?") + urlencode({"redirect_url": request.return_url})
        return {"h5_url": h5_url}


def _utc(text: Any) -> str | None:
    try:
        return iso(datetime.fromisoformat(str(text)).astimezone(UTC))
    except ValueError:
        return None
