"""Alipay: page and WAP pay parameters signed RSA2, async notify verified with Alipay's key, alipay.trade.refund."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from chalicelib.clock import SHANGHAI, iso, utcnow
from chalicelib.errors import DependencyUnavailable, DomainError
from chalicelib.payments.channels import (
    InvalidNotification,
    NotifyAck,
    PaymentChannel,
    PaymentNotice,
    PaymentRequest,
    RefundRefused,
    RefundResult,
    fen_from_yuan,
    yuan,
)
from chalicelib.payments.config import AlipayConfig
from chalicelib.payments.crypto import load_private_key, load_public_key, rsa_sign, rsa_verify
from chalicelib.payments.transport import PaymentTransport

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
UNPAID_STATUSES = frozenset({"WAIT_BUYER_PAY", "TRADE_CLOSED"})
REQUIRED_NOTIFY_FIELDS = ("sign", "app_id", "out_trade_no", "trade_no", "trade_status", "total_amount")
# 40004 (business failure) answers whose sub_code is Alipay's trouble, not a refusal of the refund asked for: 502.
# Every other 40004 (ACQ.TRADE_NOT_EXIST, ACQ.TRADE_STATUS_ERROR, ACQ.REFUND_AMT_NOT_EQUAL_TOTAL, ...) is a 409.
RETRYABLE_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR"})
GMT_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", re.ASCII)
PAGE_PAY, WAP_PAY = ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"), ("alipay.trade.wap.pay", "QUICK_WAP_WAY")


def request_sign_content(params: dict[str, str]) -> str:
    """What Alipay checks on a request: every parameter but sign and empty ones, sorted by name, as k=v&k=v."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def notify_sign_content(params: dict[str, str]) -> str:
    """What Alipay signs in a notify: every parameter but sign and sign_type, URL-decoded, sorted by name."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type"))


def china_time(moment: datetime) -> str:
    """Alipay's timestamps: yyyy-MM-dd HH:mm:ss in Beijing time."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def signed_response(text: str, method: str) -> tuple[str, dict[str, Any], str] | None:
    """(the exact text of <method>_response that Alipay signed, its value, the sign) from an answer; None if absent."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    key = method.replace(".", "_") + "_response"
    marker = text.find(f'"{key}"')
    if not isinstance(document, dict) or marker < 0 or not isinstance(document.get(key), dict):
        return None
    start = text.index(":", marker + len(key) + 2) + 1
    while text[start] in " \t\r\n":
        start += 1
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return text[start:end], value, str(document.get("sign") or "")


class AlipayChannel(PaymentChannel):
    name = "alipay"

    def __init__(self, config: AlipayConfig, notify_url: str, transport: PaymentTransport) -> None:
        self.config, self.notify_url, self.transport = config, notify_url, transport

    @functools.cached_property
    def _private_key(self) -> RSAPrivateKey:
        return load_private_key(self.config.private_key)

    @functools.cached_property
    def _alipay_key(self) -> RSAPublicKey:
        return load_public_key(self.config.alipay_public_key)

    def signed_params(self, method: str, biz_content: dict[str, Any], **extra: str) -> dict[str, str]:
        """The common parameters of an OpenAPI call with biz_content, signed RSA2."""
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": china_time(utcnow()),
            "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
            **{k: v for k, v in extra.items() if v},
        }
        params["sign"] = rsa_sign(self._private_key, request_sign_content(params).encode())
        return params

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        """pay_url: the signed gateway URL to send the browser to (page pay on pc, WAP pay on h5)."""
        method, product_code = WAP_PAY if request.client == "h5" else PAGE_PAY
        biz: dict[str, Any] = {
            "out_trade_no": request.payment_id,
            "total_amount": yuan(request.amount_fen),
            "subject": request.subject[:256],
            "product_code": product_code,
        }
        if request.expires_at is not None:
            biz["time_expire"] = china_time(request.expires_at)
        params = self.signed_params(method, biz, notify_url=self.notify_url, return_url=request.return_url or "")
        return {"pay_url": f"{self.config.gateway}?{urlencode(params)}"}

    def verify_notify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("The Alipay notify is not a form") from None
        params = dict(pairs)
        if len(params) != len(pairs) or any(not params.get(name) for name in REQUIRED_NOTIFY_FIELDS):
            raise InvalidNotification("The Alipay notify lacks required fields")
        if params.get("sign_type", "RSA2") != "RSA2":
            raise InvalidNotification("Only RSA2 notifies are accepted")
        if not rsa_verify(self._alipay_key, notify_sign_content(params).encode(), params["sign"]):
            raise InvalidNotification("Bad Alipay signature")
        if params["app_id"] != self.config.app_id:
            raise InvalidNotification("The Alipay notify is for another app")
        if self.config.seller_id and params.get("seller_id") != self.config.seller_id:
            raise InvalidNotification("The Alipay notify is for another seller")
        status, amount = params["trade_status"], fen_from_yuan(params["total_amount"])
        if status not in PAID_STATUSES | UNPAID_STATUSES or amount is None:
            raise InvalidNotification("The Alipay notify has no valid status or amount")
        success = status in PAID_STATUSES
        return PaymentNotice(
            channel=self.name,
            payment_id=params["out_trade_no"],
            amount_fen=amount,
            transaction_id=params["trade_no"],
            paid_at=_utc(params.get("gmt_payment", "")) if success else None,
            success=success,
            provider_status=status,
        )

    def notify_ack(self, error: DomainError | None = None) -> NotifyAck | None:
        """Alipay reads the plain text success; anything else and it notifies again (up to 8 times over 25 hours).
        Alipay reads only the body, so a refusal is a 200 with failure (our error bodies would hide the word)."""
        return 200, "text/plain; charset=utf-8", b"success" if error is None else b"failure"

    def refund(self, payment_id: str, refund_id: str, amount_fen: int, total_fen: int) -> RefundResult:
        """alipay.trade.refund; out_request_no = refund_id, so a retried refund is the same refund (fund_change N)."""
        method = "alipay.trade.refund"
        biz = {"out_trade_no": payment_id, "refund_amount": yuan(amount_fen), "out_request_no": refund_id}
        code, value = self._api(method, biz)
        if code == "40004" and str(value.get("sub_code", "")) not in RETRYABLE_SUB_CODES:
            raise RefundRefused(f"Alipay: {value.get('sub_msg') or value.get('msg') or value.get('sub_code')}")
        if code != "10000" or value.get("out_trade_no") != payment_id:
            raise DependencyUnavailable(f"Alipay could not refund: {value.get('sub_code') or code}")
        return RefundResult(refund_id, payment_id, amount_fen, "SUCCESS", str(value.get("trade_no", "")))

    def _api(self, method: str, biz: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Call an OpenAPI method; (code, the <method>_response value) once Alipay's signature over it is checked."""
        response = self.transport.post(
            f"{self.config.gateway}?charset=utf-8",
            urlencode(self.signed_params(method, biz)).encode(),
            {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
        answer = signed_response(response.text, method) if response.status == 200 else None
        if answer is None:
            raise DependencyUnavailable("Alipay failed or answered nonsense")
        content, value, sign = answer
        code = str(value.get("code", ""))
        if code in ("10000", "40004") and not rsa_verify(self._alipay_key, content.encode(), sign):
            raise DependencyUnavailable("Alipay's answer is not signed by Alipay")
        return code, value

    def query(self, payment_id: str) -> PaymentNotice | None:
        """alipay.trade.query: the trade's status (None: ACQ.TRADE_NOT_EXIST, the payer never opened the cashier)."""
        code, value = self._api("alipay.trade.query", {"out_trade_no": payment_id})
        if code == "40004" and value.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        if code != "10000" or value.get("out_trade_no") != payment_id:
            raise DependencyUnavailable(f"Alipay could not answer the query: {value.get('sub_code') or code}")
        status, amount = str(value.get("trade_status", "")), fen_from_yuan(str(value.get("total_amount", "")))
        if status not in PAID_STATUSES | UNPAID_STATUSES or amount is None:
            raise DependencyUnavailable("Alipay answered a query without a valid status or amount")
        success = status in PAID_STATUSES
        return PaymentNotice(
            channel=self.name,
            payment_id=payment_id,
            amount_fen=amount,
            transaction_id=str(value.get("trade_no", "")),
            paid_at=_utc(str(value.get("send_pay_date", ""))) if success else None,
            success=success,
            provider_status=status,
        )

    def close(self, payment_id: str) -> bool:
        """alipay.trade.close: closed (or never created: ACQ.TRADE_NOT_EXIST); ACQ.TRADE_STATUS_ERROR: paid."""
        code, value = self._api("alipay.trade.close", {"out_trade_no": payment_id})
        sub_code = str(value.get("sub_code", ""))
        if code == "10000" or (code == "40004" and sub_code == "ACQ.TRADE_NOT_EXIST"):
            return True
        if code == "40004" and sub_code == "ACQ.TRADE_STATUS_ERROR":
            return False
        raise DependencyUnavailable(f"Alipay could not close the trade: {sub_code or code}")


class AlipayWapChannel(AlipayChannel):
    """Alipay in a phone browser: alipay.trade.wap.pay (QUICK_WAP_WAY); return_url brings the browser back."""

    name = "alipay_wap"

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        return super().start(replace(request, client="h5"))


def _utc(china_text: str) -> str | None:
    if not GMT_PATTERN.fullmatch(china_text):  # strptime would also read full-width and Arabic-Indic digits
        return None
    try:
        return iso(datetime.strptime(china_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).astimezone(UTC))
    except ValueError:
        return None
