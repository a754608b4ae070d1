"""HTTP routes of payments: starting a payment of an order, and the providers' signed notifies."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib.errors import DomainError
from chalicelib.http import Principal, endpoint
from chalicelib.observability import logger, metrics
from chalicelib.payments import service
from chalicelib.payments.schemas import PaymentStarted, PayRequest
from chalicelib.payments.wiring import configured_channel, production_payments

payments_api = Blueprint(__name__)
TAGS = ("payments",)


@endpoint(payments_api, "/orders/{order_id}/pay", "POST", summary="Start paying my unpaid order through a channel "
          "(a repeated call reuses the open payment)", tags=TAGS, auth="customer", body=PayRequest,
          response=PaymentStarted, errors=(400, 404, 409, 502))  # fmt: skip
def pay(principal: Principal, order_id: str, body: PayRequest) -> dict[str, Any]:
    from chalicelib.orders import service as orders
    from chalicelib.orders.wiring import shop

    order = orders.get_order(shop(), principal.user_id, order_id)
    return service.start_payment(production_payments(), order, principal.user_id, body.channel)


@endpoint(payments_api, "/payments/{channel}/notify", "POST", summary="A provider's signed payment notify (Alipay: "
          "text success/failure; WeChat Pay: 204 or {code: FAIL}; sandbox: 200 or the error body)", tags=TAGS,
          errors=(400, 404, 502))  # fmt: skip
def notify(channel: str, request: Request) -> Response:
    provider = configured_channel(channel)  # 404 for an unknown or unconfigured channel
    headers = {str(name): str(value) for name, value in request.headers.items()}
    raw = request.raw_body or b""
    try:
        service.handle_notify(production_payments(), channel, headers, raw.encode() if isinstance(raw, str) else raw)
        ack = provider.notify_ack()
    except DomainError as error:
        retry = service.notify_error_is_retryable(error)
        metrics.add_metric(name="PaymentNotifyFailed" if retry else "PaymentNotifyRefused", unit="Count", value=1)
        logger.warning("payment notify not taken", extra={"channel": channel, "code": error.code, "why": error.message})
        ack = provider.notify_ack(error)
        if ack is None:
            raise
    assert ack is not None  # every channel has a success answer
    status, content_type, body = ack
    return Response(body=body.decode(), status_code=status, headers={"Content-Type": content_type})
