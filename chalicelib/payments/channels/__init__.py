"""The one payment channel interface (start a payment, verify a provider's notify, answer it, refund) and one module
per channel beside it: alipay, wechat, sandbox. chalicelib.payments.registry finds a channel by name; the
composition root registers each one there (chalicelib/bootstrap/payments.py), so neither imports the other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from chalicelib.errors import DomainError, InvalidState

Client = Literal["pc", "h5"]
YUAN_PATTERN = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")


class InvalidNotification(DomainError):
    """A payment notify that is not signed by the provider, is malformed, or is not for this merchant."""

    status, code, default_message = 400, "INVALID_NOTIFICATION", "The payment notification was refused"


class RefundRefused(InvalidState):
    """The provider answered, and refused the refund (unknown trade, amount over what is left, trade closed)."""

    code, default_message = "REFUND_REFUSED", "The payment provider refused the refund"


@dataclass(frozen=True)
class PaymentRequest:
    """What the order side asks a channel to collect: one payment of one order, in fen."""

    payment_id: str  # our out_trade_no: unique per payment attempt, 6-32 of [A-Za-z0-9_-]
    order_id: str
    amount_fen: int
    subject: str  # what the payer sees, e.g. the first line's title
    expires_at: datetime | None = None  # the order's pay_deadline
    client: Client = "pc"  # Alipay: page pay on pc, WAP pay on h5
    return_url: str | None = None  # where the provider's page sends the browser back (Alipay, WeChat Pay H5)
    openid: str | None = None  # WeChat JSAPI: the payer's openid for the shop's official account
    client_ip: str | None = None  # WeChat Pay H5: the payer's IP (scene_info.payer_client_ip)


@dataclass(frozen=True)
class PaymentNotice:
    """A verified notify: which payment, how much the provider says was paid, and whether it succeeded."""

    channel: str
    payment_id: str
    amount_fen: int
    transaction_id: str  # the provider's trade number
    paid_at: str | None  # ISO 8601 UTC, None when not paid
    success: bool
    provider_status: str  # TRADE_SUCCESS, SUCCESS, CLOSED, ...


@dataclass(frozen=True)
class RefundResult:
    """The provider's answer to a refund: SUCCESS, or PROCESSING (WeChat Pay settles refunds asynchronously)."""

    refund_id: str
    payment_id: str
    amount_fen: int
    status: Literal["SUCCESS", "PROCESSING"]
    provider_refund_id: str


NotifyAck = tuple[int, str, bytes]  # status, content type, body


class PaymentChannel:
    """One provider; subclasses know its signatures, its answer formats and its notify."""

    name: ClassVar[str]
    needs_openid: ClassVar[bool] = False  # WeChat JSAPI: /pay without the payer's openid is a 400

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        """What POST /orders/{id}/pay returns beside payment_id, channel and amount_fen: pay_url or pay_params."""
        raise NotImplementedError

    def verify_notify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        """The notice if the provider signed it for this merchant; InvalidNotification (400) otherwise."""
        raise NotImplementedError

    def notify_ack(self, error: DomainError | None = None) -> NotifyAck | None:
        """What the provider expects back: its success answer, or (error) an answer that makes it notify again.
        None: answer with the API's own error body (the sandbox)."""
        raise NotImplementedError

    def refund(self, payment_id: str, refund_id: str, amount_fen: int, total_fen: int) -> RefundResult:
        """Refund part or all of a payment; refund_id makes a retry the same refund at the provider."""
        raise NotImplementedError

    def query(self, payment_id: str) -> PaymentNotice | None:
        """The trade as the provider's signed answer says it is now (paid or not); None when the provider knows no
        trade of this id (never opened by the payer). DependencyUnavailable while it cannot be reached."""
        raise NotImplementedError

    def close(self, payment_id: str) -> bool:
        """Close the unpaid trade at the provider so it can no longer be paid: True once closed (or never opened),
        False when it is paid already (query it). DependencyUnavailable while the provider cannot be reached."""
        raise NotImplementedError


def yuan(amount_fen: int) -> str:
    """1234 -> '12.34': how Alipay writes amounts."""
    if amount_fen < 0:
        raise ValueError("amounts are never negative")
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def fen_from_yuan(text: str) -> int | None:
    """'12.34' -> 1234 exactly (Decimal, at most two decimals); None for anything else."""
    if not isinstance(text, str) or not YUAN_PATTERN.fullmatch(text):
        return None
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:
        return None


def header(headers: dict[str, str], name: str) -> str:
    """A header by case-insensitive name, '' when absent (API Gateway may lower-case them)."""
    wanted = name.lower()
    return next((str(value) for key, value in headers.items() if key.lower() == wanted), "")
