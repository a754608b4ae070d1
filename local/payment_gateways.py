"""A local stand-in for Alipay's and WeChat Pay's gateways and the sandbox payer, signing as the providers sign."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.inputs import is_ascii_digits
from chalicelib.payments.channels import sandbox as sandbox_signing
from local.loopback import LoopbackService

CHINA = timezone(timedelta(hours=8))
ALIPAY_APP_ID = "2021000000000001"
ALIPAY_SELLER_ID = "2088000000000001"
WECHAT_APP_ID = "wxemulatedpay0001"
WECHAT_MCH_ID = "1900000001"
FAILURE_MODES = ("none", "error", "garbage", "slow", "reset")
CONTROL_PATH = "/__emulator__/failure"
NOTIFY_TIMEOUT_SECONDS = 10.0


# ---- signing exactly as each provider does (written here independently of the app's verifying code) ----


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sha256_rsa(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def sha256_rsa_ok(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def alipay_notify_body(alipay_key: rsa.RSAPrivateKey, fields: dict[str, str]) -> bytes:
    """An Alipay async notify: sign the sorted k=v of all fields but sign/sign_type, then form-encode everything."""
    content = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type"))
    return urlencode({**fields, "sign_type": "RSA2", "sign": sha256_rsa(alipay_key, content.encode())}).encode()


def alipay_notify_fields(
    app_id: str, out_trade_no: str, amount_fen: int, trade_no: str, status: str = "TRADE_SUCCESS"
) -> dict[str, str]:
    """The fields of a page/WAP pay notify, as Alipay sends them."""
    now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    total = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return {
        "gmt_create": now,
        "charset": "utf-8",
        "seller_email": "seller@emulated.example",
        "subject": "emulated",
        "buyer_id": "2088102177846880",
        "invoice_amount": total,
        "notify_id": secrets.token_hex(16),
        "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
        "notify_type": "trade_status_sync",
        "trade_status": status,
        "receipt_amount": total,
        "app_id": app_id,
        "buyer_pay_amount": total,
        "seller_id": ALIPAY_SELLER_ID,
        "gmt_payment": now,
        "notify_time": now,
        "version": "1.0",
        "out_trade_no": out_trade_no,
        "total_amount": total,
        "trade_no": trade_no,
        "auth_app_id": app_id,
        "point_amount": "0.00",
    }


def alipay_answer(alipay_key: rsa.RSAPrivateKey, method: str, value: dict[str, Any]) -> str:
    """An OpenAPI answer: Alipay signs the exact text of the <method>_response object."""
    content = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    key = method.replace(".", "_") + "_response"
    return f'{{"{key}":{content},"sign":"{sha256_rsa(alipay_key, content.encode())}"}}'


def wechat_resource(apiv3_key: bytes, plain: dict[str, Any], associated_data: str = "transaction") -> dict[str, str]:
    """A notify's encrypted resource: AES-256-GCM under the APIv3 key, base64(ciphertext || tag)."""
    nonce = secrets.token_hex(6)  # WeChat Pay uses 12 printable characters
    sealed = AESGCM(apiv3_key).encrypt(nonce.encode(), json.dumps(plain).encode(), associated_data.encode())
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def wechat_signed_headers(
    platform_key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The Wechatpay-* headers of an answer or notify: SHA256withRSA over TIMESTAMP\\nNONCE\\nBODY\\n."""
    stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16)
    message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sha256_rsa(platform_key, message),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechat_transaction(
    app_id: str, mch_id: str, out_trade_no: str, amount_fen: int, transaction_id: str, state: str = "SUCCESS"
) -> dict[str, Any]:
    """The decrypted resource of a TRANSACTION.SUCCESS notify."""
    return {
        "mchid": mch_id,
        "appid": app_id,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "trade_type": "NATIVE",
        "trade_state": state,
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": datetime.now(CHINA).isoformat(timespec="seconds"),
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY", "payer_currency": "CNY"},
    }


def wechat_notify(
    platform_key: rsa.RSAPrivateKey,
    serial: str,
    apiv3_key: bytes,
    transaction: dict[str, Any],
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a WeChat Pay v3 payment notify."""
    envelope = {
        "id": secrets.token_hex(18),
        "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": wechat_resource(apiv3_key, transaction),
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    headers = wechat_signed_headers(platform_key, serial, body, timestamp)
    return {**headers, "Content-Type": "application/json"}, body


def wechat_authorization_ok(
    merchant_key: rsa.RSAPublicKey, mch_id: str, method: str, target: str, body: bytes, auth: str
) -> bool:
    """Check a merchant's Authorization header the way WeChat Pay does."""
    scheme, _, rest = auth.partition(" ")
    if scheme != "WECHATPAY2-SHA256-RSA2048":
        return False
    parts = dict(item.split("=", 1) for item in rest.split(",") if "=" in item)
    values = {k.strip(): v.strip().strip('"') for k, v in parts.items()}
    if values.get("mchid") != mch_id or abs(time.time() - int(values.get("timestamp") or 0)) > 300:
        return False
    message = f"{method}\n{target}\n{values.get('timestamp')}\n{values.get('nonce_str')}\n".encode() + body + b"\n"
    return sha256_rsa_ok(merchant_key, message, values.get("signature", ""))


# ---- the emulator ----


@dataclass
class EmulatedPayment:
    channel: str
    payment_id: str
    amount_fen: int
    notify_url: str
    trade_no: str
    paid: bool = False
    refunded_fen: int = 0
    refunds: dict[str, int] = field(default_factory=dict)  # refund id -> amount


@dataclass
class GatewayKeys:
    """The providers' keys and the merchant's, all generated at start (the app gets the merchant's and public ones)."""

    alipay: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # Alipay's own
    alipay_app: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # the shop's Alipay app key
    wechat_platform: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # WeChat Pay's platform key
    wechat_merchant: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # the shop's merchant API key
    wechat_platform_serial: str = field(default_factory=lambda: "PUB_KEY_ID_" + secrets.token_hex(12).upper())
    wechat_merchant_serial: str = field(default_factory=lambda: secrets.token_hex(20).upper())
    apiv3_key: bytes = field(default_factory=lambda: secrets.token_hex(16).encode())
    sandbox_secret: bytes = field(default_factory=lambda: secrets.token_hex(32).encode())


@dataclass
class GatewayState:
    keys: GatewayKeys
    payments: dict[tuple[str, str], EmulatedPayment] = field(default_factory=dict)
    notifies: list[tuple[str, str, int]] = field(default_factory=list)  # (channel, payment id, app's status)
    failure: str = "none"
    failures_left: int | None = None  # the failure answers this many API calls, then "none" (None: until changed)
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # How notifies reach the app: an HTTP POST to the notify URL, or (tests without a server) a function.
    deliver: Callable[[str, bytes, dict[str, str]], tuple[int, str]] | None = None


class PaymentGateways(LoopbackService):
    """A threaded HTTP server on a loopback port; `env()` points the app's payment settings at it."""

    thread_name = "payment-gateways"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: GatewayKeys | None = None,
        deliver: Callable[[str, bytes, dict[str, str]], tuple[int, str]] | None = None,
    ) -> None:
        self.state = GatewayState(keys or GatewayKeys(), deliver=deliver)
        super().__init__(_handler_for(self.state), host, port)

    def fail(self, mode: str, slow_seconds: float | None = None, times: int | None = None) -> None:
        """Make the gateways' APIs answer an error, garbage, slowly, or drop the connection (for the next `times`
        API calls only, if given)."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"failure mode must be one of {FAILURE_MODES}")
        with self.state.lock:
            self.state.failure = mode
            self.state.failures_left = times
            if slow_seconds is not None:
                self.state.slow_seconds = slow_seconds

    def env(self, notify_base: str = "http://127.0.0.1:8000") -> dict[str, str]:
        """The app's payment settings for these gateways: merchant private keys, provider public keys, URLs."""
        keys = self.state.keys
        return {
            "PAYMENT_NOTIFY_BASE": notify_base,
            "PAYMENT_SANDBOX_GATEWAY": self.url,
            "PAYMENT_SANDBOX_SECRET": keys.sandbox_secret.decode(),
            "ALIPAY_APP_ID": ALIPAY_APP_ID,
            "ALIPAY_SELLER_ID": ALIPAY_SELLER_ID,
            "ALIPAY_PRIVATE_KEY": private_pem(keys.alipay_app),
            "ALIPAY_PUBLIC_KEY": public_pem(keys.alipay),
            "ALIPAY_GATEWAY": f"{self.url}/alipay/gateway.do",
            "WECHATPAY_APP_ID": WECHAT_APP_ID,
            "WECHATPAY_MCH_ID": WECHAT_MCH_ID,
            "WECHATPAY_MCH_SERIAL_NO": keys.wechat_merchant_serial,
            "WECHATPAY_PRIVATE_KEY": private_pem(keys.wechat_merchant),
            "WECHATPAY_PLATFORM_PUBLIC_KEY": public_pem(keys.wechat_platform),
            "WECHATPAY_PLATFORM_SERIAL": keys.wechat_platform_serial,
            "WECHATPAY_APIV3_KEY": keys.apiv3_key.decode(),
            "WECHATPAY_API_BASE": f"{self.url}/wechat",
        }

    def pay(
        self, channel: str, payment_id: str, amount_fen: int | None = None, success: bool = True
    ) -> tuple[int, str]:
        """Play the payer: the provider's signed notify for a started payment goes to its notify URL.
        Returns the app's (status, body); amount_fen other than the payment's plays a tampered notify."""
        return _pay(self.state, channel, payment_id, amount_fen, success)

    def payment(self, channel: str, payment_id: str) -> EmulatedPayment | None:
        with self.state.lock:
            return self.state.payments.get((channel, payment_id))


def start_payment_gateways(host: str = "127.0.0.1", port: int = 0) -> PaymentGateways:
    return PaymentGateways(host, port).start()


def _record(state: GatewayState, channel: str, payment_id: str, amount_fen: int, notify_url: str) -> EmulatedPayment:
    with state.lock:
        found = state.payments.get((channel, payment_id))
        if found is None or not found.paid:
            prefix = {"alipay": "2026", "wechat": "4200", "sandbox": "SBX"}[channel]
            found = EmulatedPayment(channel, payment_id, amount_fen, notify_url, prefix + secrets.token_hex(10))
            state.payments[(channel, payment_id)] = found
        return found


def _pay(state: GatewayState, channel: str, payment_id: str, amount_fen: int | None, success: bool) -> tuple[int, str]:
    with state.lock:
        payment = state.payments.get((channel, payment_id))
    if payment is None:
        return 404, f"no {channel} payment {payment_id} was started"
    amount = payment.amount_fen if amount_fen is None else amount_fen
    keys = state.keys
    if channel == "alipay":
        fields = alipay_notify_fields(
            ALIPAY_APP_ID, payment_id, amount, payment.trade_no, "TRADE_SUCCESS" if success else "TRADE_CLOSED"
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        body = alipay_notify_body(keys.alipay, fields)
    elif channel == "wechat":
        transaction = wechat_transaction(
            WECHAT_APP_ID, WECHAT_MCH_ID, payment_id, amount, payment.trade_no, "SUCCESS" if success else "CLOSED"
        )
        headers, body = wechat_notify(keys.wechat_platform, keys.wechat_platform_serial, keys.apiv3_key, transaction)
    else:
        notice = {
            "payment_id": payment_id,
            "amount_fen": amount,
            "trade_no": payment.trade_no,
            "status": "SUCCESS" if success else "CLOSED",
            "paid_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        headers, body = sandbox_signing.signed_headers(keys.sandbox_secret, notice), sandbox_signing.canonical(notice)
    with state.lock:
        payment.paid = payment.paid or success  # the payer paid: the trade is paid whatever the app answers
    status, text = (state.deliver or _post)(payment.notify_url, body, headers)
    with state.lock:
        state.notifies.append((channel, payment_id, status))
    return status, text


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the app is on loopback


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - the app's own URL
    try:
        with _NO_PROXY.open(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, f"notify failed: {error}"


# ---- the HTTP side ----


class _Answer:
    def __init__(self, status: int, body: str | bytes, content_type: str, headers: dict[str, str] | None = None):
        self.status, self.content_type, self.headers = status, content_type, headers or {}
        self.body = body.encode() if isinstance(body, str) else body


DROP = _Answer(0, b"", "")


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(body, ensure_ascii=False), "application/json; charset=utf-8", headers)


def _page(title: str, body: str, status: int = 200) -> _Answer:
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title>"
    return _Answer(status, f"<!doctype html><html><head>{head}</head><body>{body}</body></html>", "text/html")


def _handler_for(state: GatewayState) -> type[BaseHTTPRequestHandler]:
    class Handler(_GatewayHandler):
        shared = state

    return Handler


class _GatewayHandler(BaseHTTPRequestHandler):
    shared: GatewayState
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection (httpx pools them) is closed instead of holding a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app logs its own provider calls."""

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length) if length else b"")

    def _serve(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        route = ROUTES.get((method, parts.path))
        if parts.path == CONTROL_PATH and method == "POST":
            answer = _control(self.shared, body)
        elif route is None:
            answer = _json({"error": "not found", "path": parts.path}, 404)
        else:
            kind, function = route
            answer = self._failure() if kind == "api" else None
            if answer is DROP:
                self.close_connection = True
                return
            if answer is None:
                headers = {k: v for k, v in self.headers.items()}
                answer = function(self.shared, _Call(method, self.path, query, headers, body))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _failure(self) -> _Answer | None:
        with self.shared.lock:
            mode, slow = self.shared.failure, self.shared.slow_seconds
            if self.shared.failures_left is not None and mode != "none":
                self.shared.failures_left -= 1
                if self.shared.failures_left <= 0:
                    self.shared.failure, self.shared.failures_left = "none", None
        if mode == "slow":
            time.sleep(slow)
            return None
        if mode == "reset":
            return DROP
        if mode == "garbage":
            return _page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><hr>nginx", 502)
        if mode == "error":
            return _json({"code": "SYSTEM_ERROR", "message": "系统繁忙，请稍后重试"}, 500)
        return None


@dataclass(frozen=True)
class _Call:
    method: str
    target: str  # path and query, as a WeChat Pay signature covers it
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {**self.query, **dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))}


def _control(shared: GatewayState, body: bytes) -> _Answer:
    mode = dict(parse_qsl(body.decode("utf-8", "replace"))).get("mode", "none")
    if mode not in FAILURE_MODES:
        return _json({"error": f"mode must be one of {FAILURE_MODES}"}, 400)
    with shared.lock:
        shared.failure, shared.failures_left = mode, None
    return _json({"mode": mode})


# Alipay: one gateway URL; GET with page/WAP pay parameters opens the cashier, a POSTed form calls the API.


def _alipay_params_ok(shared: GatewayState, params: dict[str, str]) -> bool:
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    app_key = shared.keys.alipay_app.public_key()
    return params.get("app_id") == ALIPAY_APP_ID and sha256_rsa_ok(app_key, content.encode(), params.get("sign", ""))


def alipay_cashier(shared: GatewayState, call: _Call) -> _Answer:
    params = call.query
    if not _alipay_params_ok(shared, params):
        return _page("支付宝 - 错误", "<p>错误代码 invalid-signature 错误原因: 验签出错</p>", 400)
    if params.get("method") not in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
        return _page("支付宝 - 错误", "<p>错误代码 invalid-method</p>", 400)
    try:
        biz = json.loads(params.get("biz_content", ""))
        amount = int(Decimal(str(biz["total_amount"])) * 100)
        out_trade_no = str(biz["out_trade_no"])
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return _page("支付宝 - 错误", "<p>错误代码 invalid-parameter</p>", 400)
    _record(shared, "alipay", out_trade_no, amount, params.get("notify_url", ""))
    hidden = f"<input type='hidden' name='out_trade_no' value='{html.escape(out_trade_no)}'>"
    form = f"<form method='post' action='/alipay/pay'>{hidden}"
    return _page(
        "支付宝 - 网上支付",
        f"<h1>¥{biz['total_amount']}</h1><p>{html.escape(str(biz.get('subject')))}</p>{form}<button>确认付款</button></form>",
    )


ALIPAY_REFUND_ERRORS = {"unknown": "ACQ.TRADE_NOT_EXIST", "unpaid": "ACQ.TRADE_STATUS_ERROR"}


def alipay_api(shared: GatewayState, call: _Call) -> _Answer:
    params = call.form()
    method = params.get("method", "")
    if not _alipay_params_ok(shared, params):
        body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}
        key = method.replace(".", "_") + "_response"
        return _Answer(200, json.dumps({key: body}, ensure_ascii=False), "text/html;charset=utf-8")
    if method != "alipay.trade.refund":
        value = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_METHOD"}
        return _Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")
    try:
        biz = json.loads(params.get("biz_content") or "{}")
        amount = int(Decimal(str(biz.get("refund_amount") or 0)) * 100)
    except (ValueError, ArithmeticError, AttributeError):
        value = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER"}
        return _Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")
    payment_id, refund_id = str(biz.get("out_trade_no", "")), str(biz.get("out_request_no", ""))
    outcome = _refund(shared, "alipay", payment_id, refund_id, amount)
    if outcome in ("made", "again"):
        value = {"code": "10000", "msg": "Success", "trade_no": shared.payments[("alipay", payment_id)].trade_no}
        value |= {"out_trade_no": payment_id, "buyer_logon_id": "159****5620", "refund_fee": biz.get("refund_amount")}
        value["fund_change"] = "Y" if outcome == "made" else "N"
    else:
        sub_code = ALIPAY_REFUND_ERRORS.get(outcome, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
        value = {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_code}
    return _Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")


def _refund(shared: GatewayState, channel: str, payment_id: str, refund_id: str, amount: int) -> str:
    """made, again (this refund id was made before: nothing moves twice), or why not: unknown, unpaid, over."""
    with shared.lock:
        payment = shared.payments.get((channel, payment_id))
        if payment is None:
            return "unknown"
        if not payment.paid:
            return "unpaid"
        if refund_id in payment.refunds:
            return "again"
        if amount <= 0 or payment.refunded_fen + amount > payment.amount_fen:
            return "over"
        payment.refunded_fen += amount
        payment.refunds[refund_id] = amount
        return "made"


def alipay_payer(shared: GatewayState, call: _Call) -> _Answer:
    status, text = _pay(shared, "alipay", call.form().get("out_trade_no", ""), None, True)
    return _json({"notify_status": status, "notify_answer": text})


# WeChat Pay v3: JSON APIs authorized by the merchant's signature, answers signed by the platform key.


def _wechat_answer(shared: GatewayState, body: dict[str, Any], status: int = 200) -> _Answer:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = wechat_signed_headers(shared.keys.wechat_platform, shared.keys.wechat_platform_serial, raw)
    return _Answer(status, raw, "application/json", headers)


def _wechat_authorized(shared: GatewayState, call: _Call) -> dict[str, Any] | None:
    merchant = shared.keys.wechat_merchant.public_key()
    auth = call.headers.get("Authorization", "")
    if not wechat_authorization_ok(merchant, WECHAT_MCH_ID, call.method, call.target, call.body, auth):
        return None
    try:
        fields = json.loads(call.body)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def wechat_native(shared: GatewayState, call: _Call) -> _Answer:
    fields = _wechat_authorized(shared, call)
    if fields is None:
        return _json({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    if fields.get("mchid") != WECHAT_MCH_ID or fields.get("appid") != WECHAT_APP_ID:
        return _json({"code": "PARAM_ERROR", "message": "appid和mch_id不匹配"}, 400)
    amount = (fields.get("amount") or {}).get("total")
    if type(amount) is not int or amount <= 0 or not fields.get("out_trade_no"):
        return _json({"code": "PARAM_ERROR", "message": "参数错误"}, 400)
    _record(shared, "wechat", str(fields["out_trade_no"]), amount, str(fields.get("notify_url", "")))
    return _wechat_answer(shared, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"})


def wechat_refund(shared: GatewayState, call: _Call) -> _Answer:
    fields = _wechat_authorized(shared, call)
    if fields is None:
        return _json({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    payment_id, refund_id = str(fields.get("out_trade_no", "")), str(fields.get("out_refund_no", ""))
    amount = (fields.get("amount") or {}).get("refund")
    outcome = _refund(shared, "wechat", payment_id, refund_id, amount if type(amount) is int else 0)
    if outcome == "unknown":
        return _json({"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, 404)
    if outcome not in ("made", "again"):
        return _json({"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}, 400)
    with shared.lock:
        payment = shared.payments[("wechat", payment_id)]
        answer = {
            "refund_id": "5030" + secrets.token_hex(10),
            "out_refund_no": refund_id,
            "transaction_id": payment.trade_no,
            "out_trade_no": payment_id,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
            "status": "SUCCESS",
            "amount": {"total": payment.amount_fen, "refund": payment.refunds[refund_id], "currency": "CNY"},
        }
    return _wechat_answer(shared, answer)


def wechat_payer(shared: GatewayState, call: _Call) -> _Answer:
    status, text = _pay(shared, "wechat", call.form().get("out_trade_no", ""), None, True)
    return _json({"notify_status": status, "notify_answer": text})


# The sandbox: GET pay_url shows the payer's page; POST pay_url pays (the gateway notifies the app).


def _sandbox_started(shared: GatewayState, query: dict[str, str]) -> EmulatedPayment | None:
    fields = {k: v for k, v in query.items() if k != "sign"}
    if not sandbox_signing.same(sandbox_signing.sign(shared.keys.sandbox_secret, 0, fields), query.get("sign", "")):
        return None
    if not is_ascii_digits(fields.get("amount_fen", "")) or not fields.get("payment_id"):
        return None
    return _record(shared, "sandbox", fields["payment_id"], int(fields["amount_fen"]), fields.get("notify_url", ""))


def sandbox_page(shared: GatewayState, call: _Call) -> _Answer:
    payment = _sandbox_started(shared, call.query)
    if payment is None:
        return _page("Sandbox", "<p>This pay_url is not signed by the shop.</p>", 400)
    action = html.escape(call.target)
    fen = payment.amount_fen
    return _page(
        "Sandbox payer",
        f"<h1>Pay ¥{fen // 100}.{fen % 100:02d}</h1><form method='post' action='{action}'><button>Pay</button></form>",
    )


def sandbox_pay(shared: GatewayState, call: _Call) -> _Answer:
    payment = _sandbox_started(shared, call.query)
    if payment is None:
        return _json({"error": "this pay_url is not signed by the shop"}, 400)
    status, text = _pay(shared, "sandbox", payment.payment_id, None, call.query.get("fail") != "1")
    return _json({"payment_id": payment.payment_id, "notify_status": status, "notify_answer": text})


def sandbox_refund(shared: GatewayState, call: _Call) -> _Answer:
    fields = sandbox_signing.check_signed(shared.keys.sandbox_secret, call.headers, call.body)
    if fields is None:
        return _json({"code": "BAD_SIGNATURE", "message": "not signed by the shop"}, 401)
    payment_id, refund_id, amount = (
        str(fields.get("payment_id")),
        str(fields.get("refund_id")),
        fields.get("amount_fen"),
    )
    outcome = _refund(shared, "sandbox", payment_id, refund_id, amount if type(amount) is int else 0)
    if outcome not in ("made", "again"):
        return _json({"code": outcome.upper(), "message": f"refund refused: {outcome}"}, 409)
    answer = {"refund_id": refund_id, "payment_id": payment_id, "amount_fen": amount, "status": "SUCCESS"}
    answer["gateway_refund_id"] = "SBXR" + refund_id
    headers = sandbox_signing.signed_headers(shared.keys.sandbox_secret, answer)
    return _Answer(200, sandbox_signing.canonical(answer), "application/json", headers)


ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/alipay/gateway.do"): ("page", alipay_cashier),
    ("POST", "/alipay/gateway.do"): ("api", alipay_api),
    ("POST", "/alipay/pay"): ("page", alipay_payer),
    ("POST", "/wechat/v3/pay/transactions/native"): ("api", wechat_native),
    ("POST", "/wechat/v3/refund/domestic/refunds"): ("api", wechat_refund),
    ("POST", "/wechat/pay"): ("page", wechat_payer),
    ("GET", "/sandbox/pay"): ("page", sandbox_page),
    ("POST", "/sandbox/pay"): ("page", sandbox_pay),
    ("POST", "/sandbox/refund"): ("api", sandbox_refund),
}
