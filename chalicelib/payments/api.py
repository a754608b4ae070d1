"""HTTP routes of payments: starting a payment of an order, its payments, the providers' signed notifies, and the
dev stages' payer."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.auth import Principal
from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.http import source_ip
from chalicelib.payments import service, starting, trades
from chalicelib.payments.channels import PaymentChannel
from chalicelib.payments.schemas import DevPaid, DevPayRequest, OrderPayments, PaymentStarted, PayRequest
from chalicelib.payments.service import Payments
from chalicelib.payments.starting import PayerDetails
from chalicelib.routes import Json, Routes

payments_api = Routes(__name__, tags=("payments",))


@payments_api.post("/orders/{order_id}/pay", errors=(400, 404, 409, 502))
def pay(
    principal: Principal, order_id: str, body: PayRequest, request: Request, payments: Payments
) -> Json[PaymentStarted]:
    """Start paying my unpaid order through a channel (a repeated call reuses the open payment)"""
    payer = PayerDetails(openid=body.openid, return_url=body.return_url, client_ip=source_ip(request))
    return starting.pay_order(payments, principal.user_id, order_id, body.channel, payer)


@payments_api.get("/orders/{order_id}/payments", errors=(404,))
def order_payments(principal: Principal, order_id: str, payments: Payments) -> Json[OrderPayments]:
    """Every payment of my order, oldest first (late ones marked, with their refund)"""
    return trades.order_payments(payments, principal.user_id, order_id)


@payments_api.post("/payments/{channel}/notify", errors=(400, 404, 502))
def notify(
    channel: str, request: Request, payments: Payments, payment_channels: Callable[[str], PaymentChannel]
) -> Response:
    """A provider's signed payment notify (Alipay: text success/failure; WeChat Pay: 204 or {code: FAIL}; sandbox: 200
    or the error body)"""
    raw = request.raw_body or b""
    headers = {str(name): str(value) for name, value in request.headers.items()}
    status, content_type, body = service.answer_notify(
        payments, payment_channels(channel), headers, raw.encode() if isinstance(raw, str) else raw
    )
    return Response(body=body.decode(), status_code=status, headers={"Content-Type": content_type})


@payments_api.post("/dev/payments/{payment_id}/pay", errors=(400, 404, 409, 502), tags=("dev",))
def dev_pay(payment_id: str, body: DevPayRequest, settings: Settings, payments: Payments) -> Json[DevPaid]:
    """The channel's emulator plays the payer (local and dev stages only: 404 elsewhere); notify false: paid at the
    provider, no notify sent (a lost notify)"""
    if not settings.is_local_or_dev:
        raise NotFound("No such route")
    return trades.play_payer(payments, payment_id, body.notify)
