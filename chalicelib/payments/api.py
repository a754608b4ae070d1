"""HTTP routes of payments: starting a payment of an order, and the providers' signed notifies."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.auth import Principal
from chalicelib.payments import service
from chalicelib.payments.channels import PaymentChannel
from chalicelib.payments.schemas import PaymentStarted, PayRequest
from chalicelib.payments.service import Payments
from chalicelib.routes import Json, Routes

payments_api = Routes(__name__, tags=("payments",))


@payments_api.post("/orders/{order_id}/pay", errors=(400, 404, 409, 502))
def pay(principal: Principal, order_id: str, body: PayRequest, payments: Payments) -> Json[PaymentStarted]:
    """Start paying my unpaid order through a channel (a repeated call reuses the open payment)"""
    return service.pay_order(payments, principal.user_id, order_id, body.channel)


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
