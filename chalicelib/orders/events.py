"""The order execution's tasks: Chalice Lambda functions the state machine invokes (each idempotent)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.orders import service
from chalicelib.orders.wiring import shop

orders_events = Blueprint(__name__)


@orders_events.lambda_function(name="order_await_payment")
def order_await_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.await_payment(shop(), str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_compensate")
def order_compensate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.compensate(shop(), str(event["order_id"]))


@orders_events.lambda_function(name="order_await_shipment")
def order_await_shipment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.await_shipment(shop(), str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_await_receipt")
def order_await_receipt(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.await_receipt(shop(), str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_auto_receive")
def order_auto_receive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.auto_receive(shop(), str(event["order_id"]))


@orders_events.lambda_function(name="order_settle")
def order_settle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.settle(shop(), str(event["order_id"]))


@orders_events.lambda_function(name="order_await_review_window")
def order_await_review_window(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.await_review_window(shop(), str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_await_refund_decision")
def order_await_refund_decision(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.await_refund_decision(shop(), str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_resume_after_refund")
def order_resume_after_refund(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.resume_after_refund(
        shop(), str(event["order_id"]), int(event["auto_receive_seconds"]), int(event["review_window_seconds"])
    )


@orders_events.lambda_function(name="order_refund_payment")
def order_refund_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.refund_payment(shop(), str(event["order_id"]))


@orders_events.lambda_function(name="order_complete_refund")
def order_complete_refund(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.complete_refund(shop(), str(event["order_id"]))
