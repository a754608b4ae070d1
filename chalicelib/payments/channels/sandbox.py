"""The sandbox channel of local and dev: HMAC-SHA256 signed pay URLs, notifies and refunds with the local gateway."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from chalicelib.clock import epoch_seconds, iso
from chalicelib.errors import DependencyUnavailable, DomainError
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
from chalicelib.payments.config import SandboxConfig
from chalicelib.payments.crypto import hmac_sha256_hex, same
from chalicelib.payments.transport import PaymentTransport, ProviderResponse

MAX_CLOCK_SKEW_SECONDS = 300
SIGNATURE_HEADER, TIMESTAMP_HEADER = "X-Sandbox-Signature", "X-Sandbox-Timestamp"


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes both sides sign: compact JSON with sorted keys, so whitespace and key order never matter."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: bytes, timestamp: int, fields: dict[str, Any]) -> str:
    return hmac_sha256_hex(secret, f"{timestamp}.".encode() + canonical(fields))


def signed_headers(secret: bytes, fields: dict[str, Any], timestamp: int | None = None) -> dict[str, str]:
    moment = epoch_seconds() if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(moment),
        SIGNATURE_HEADER: sign(secret, moment, fields),
    }


def check_signed(secret: bytes, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
    """The JSON object if its signature is good and fresh (5 minutes either way), else None."""
    timestamp_text, signature = header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER)
    if not is_ascii_digits(timestamp_text) or abs(epoch_seconds() - int(timestamp_text)) > MAX_CLOCK_SKEW_SECONDS:
        return None
    try:
        fields = loads_json(body)  # nested past 32 levels: refused like any malformed body
        if not isinstance(fields, dict) or not same(sign(secret, int(timestamp_text), fields), signature):
            return None
    except ValueError:  # malformed JSON, or text that cannot be signed (a lone surrogate): UnicodeError is one
        return None
    return fields


class SandboxChannel(PaymentChannel):
    name = "sandbox"

    def __init__(self, config: SandboxConfig, notify_url: str, transport: PaymentTransport) -> None:
        self.config, self.notify_url, self.transport = config, notify_url, transport

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        """pay_url plays the payer: POSTing it makes the gateway send its signed notify to notify_url."""
        fields = {
            "payment_id": request.payment_id,
            "order_id": request.order_id,
            "amount_fen": str(request.amount_fen),
            "subject": request.subject,
            "notify_url": self.notify_url,
            "expires_at": iso(request.expires_at) if request.expires_at else "",
        }
        query = urlencode({**fields, "sign": sign(self.config.secret, 0, fields)})
        return {"pay_url": f"{self.config.gateway_base}/sandbox/pay?{query}"}

    def verify_notify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        fields = check_signed(self.config.secret, headers, body)
        if fields is None:
            raise InvalidNotification("Bad or stale sandbox signature")
        payment_id, amount, transaction_id = fields.get("payment_id"), fields.get("amount_fen"), fields.get("trade_no")
        status, paid_at = fields.get("status"), fields.get("paid_at")
        if not isinstance(payment_id, str) or not payment_id or not isinstance(transaction_id, str):
            raise InvalidNotification("The sandbox notify names no payment")
        if type(amount) is not int or amount < 0 or status not in ("SUCCESS", "CLOSED"):
            raise InvalidNotification("The sandbox notify has no valid amount or status")
        success = status == "SUCCESS"
        return PaymentNotice(
            channel=self.name,
            payment_id=payment_id,
            amount_fen=amount,
            transaction_id=transaction_id,
            paid_at=paid_at if success and isinstance(paid_at, str) else None,
            success=success,
            provider_status=str(status),
        )

    def notify_ack(self, error: DomainError | None = None) -> NotifyAck | None:
        """200 {"ok": true}; a refusal is the API's error body (the gateway never retries: the payer pays again)."""
        return (200, "application/json", b'{"ok":true}') if error is None else None

    def refund(self, payment_id: str, refund_id: str, amount_fen: int, total_fen: int) -> RefundResult:
        fields = {"payment_id": payment_id, "refund_id": refund_id, "amount_fen": amount_fen, "total_fen": total_fen}
        fields["nonce"] = secrets.token_hex(8)
        response = self.transport.post(
            f"{self.config.gateway_base}/sandbox/refund", canonical(fields), signed_headers(self.config.secret, fields)
        )
        return self._refund_result(response, payment_id, refund_id, amount_fen)

    def _signed_call(self, path: str, payment_id: str) -> tuple[int, dict[str, Any] | None]:
        """POST a signed {payment_id, nonce} to the gateway: (status, its signed answer or None)."""
        fields = {"payment_id": payment_id, "nonce": secrets.token_hex(8)}
        response = self.transport.post(
            f"{self.config.gateway_base}{path}", canonical(fields), signed_headers(self.config.secret, fields)
        )
        if response.status >= 500:
            raise DependencyUnavailable("The sandbox gateway failed")
        answer = check_signed(self.config.secret, response.headers, response.body)
        if answer is not None and answer.get("payment_id") != payment_id:
            answer = None
        return response.status, answer

    def query(self, payment_id: str) -> PaymentNotice | None:
        status, answer = self._signed_call("/sandbox/query", payment_id)
        if status == 404:
            return None
        if status != 200 or answer is None:
            raise DependencyUnavailable("The sandbox gateway answered a query unsigned")
        amount, state = answer.get("amount_fen"), answer.get("status")
        if type(amount) is not int or state not in ("SUCCESS", "NOTPAY", "CLOSED"):
            raise DependencyUnavailable("The sandbox gateway answered a query without a valid status or amount")
        paid_at = answer.get("paid_at")
        return PaymentNotice(
            channel=self.name,
            payment_id=payment_id,
            amount_fen=amount,
            transaction_id=str(answer.get("trade_no") or ""),
            paid_at=paid_at if state == "SUCCESS" and isinstance(paid_at, str) else None,
            success=state == "SUCCESS",
            provider_status=str(state),
        )

    def close(self, payment_id: str) -> bool:
        status, answer = self._signed_call("/sandbox/close", payment_id)
        if status == 404 or (status == 200 and answer is not None and answer.get("status") == "CLOSED"):
            return True
        if status == 409 and answer is not None and answer.get("status") == "PAID":
            return False
        raise DependencyUnavailable("The sandbox gateway could not close the trade")

    def _refund_result(self, response: ProviderResponse, payment_id: str, refund_id: str, amount: int) -> RefundResult:
        if 400 <= response.status < 500:
            try:
                message = str(json.loads(response.body).get("message") or "refused")
            except (ValueError, AttributeError):
                raise DependencyUnavailable("The sandbox gateway answered nonsense") from None
            raise RefundRefused(f"Sandbox: {message}")
        answer = check_signed(self.config.secret, response.headers, response.body) if response.status == 200 else None
        if answer is None or answer.get("refund_id") != refund_id or answer.get("status") != "SUCCESS":
            raise DependencyUnavailable("The sandbox gateway failed or answered unsigned")
        return RefundResult(refund_id, payment_id, amount, "SUCCESS", str(answer.get("gateway_refund_id", "")))
