"""Emitting analytics events: typed builders for each kind, and emit(), which queues them and never fails the caller.

Usage from any context (docs/analytics.md lists every kind and its id):
    from chalicelib.analytics import emitter
    emitter.emit(emitter.order_paid(order))          # one SendMessage
    emitter.emit(*[emitter.review_posted(...) ...])  # SendMessageBatch, 10 a call

Inside an invocation (the app's middleware, chalicelib.observability) emit() only buffers: the events leave in one
batched send per invocation once the response is built, or earlier when ten are waiting, or when the invocation is
about to time out (a timer set from the Lambda context's remaining time). Outside one, it sends at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.analytics.schemas import (
    CartItemAdded,
    EventBase,
    FavoriteAdded,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderReceived,
    OrderRefunded,
    ProductViewed,
    ReviewPosted,
    SearchPerformed,
)
from chalicelib.aws import client
from chalicelib.clock import parse_iso, utcnow
from chalicelib.config import get_settings
from chalicelib.ids import new_id
from chalicelib.observability import at_invocation_end, in_invocation, invocation_context, logger, metrics

SQS_BATCH = 10
Moment = datetime | str | None


def _at(moment: Moment) -> datetime:
    """An aware moment from a datetime or an ISO 8601 string (a naive one is taken as UTC)."""
    if moment is None:
        return utcnow()
    return parse_iso(moment)


TIMEOUT_MARGIN_SECONDS = 1.0  # the timer sends what is waiting this long before the invocation's deadline
_pending: list[EventBase] = []
_pending_lock = threading.Lock()
_guard: dict[str, threading.Timer | None] = {"timer": None}


def emit(*events: EventBase) -> int:
    """Queue events for the analytics consumer; how many were accepted (buffered inside an invocation). Never raises:
    a lost event must not fail (or slow) the request that emitted it; failures are logged and counted (metric
    AnalyticsEventsNotSent)."""
    if not events:
        return 0
    if not in_invocation():
        return _send_now(events)
    with _pending_lock:
        _pending.extend(events)
        full = len(_pending) >= SQS_BATCH
    if full:
        flush()
    else:
        _arm_guard()
    return len(events)


def flush() -> int:
    """Send what is waiting (at the end of the invocation, or before its deadline); how many were accepted."""
    with _pending_lock:
        waiting = tuple(_pending)
        _pending.clear()
        timer, _guard["timer"] = _guard["timer"], None
    if timer is not None:
        timer.cancel()
    return _send_now(waiting)


def _arm_guard() -> None:
    """A timer that flushes TIMEOUT_MARGIN_SECONDS before the invocation would time out, so a function that runs
    out of time still sends the events it emitted."""
    context = invocation_context()
    if context is None or _guard["timer"] is not None:
        return
    delay = max(context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_SECONDS, 0.0)
    timer = threading.Timer(delay, flush)
    timer.daemon = True
    with _pending_lock:
        if _guard["timer"] is not None:
            return
        _guard["timer"] = timer
    timer.start()


at_invocation_end(flush)


def _send_now(events: tuple[EventBase, ...]) -> int:
    if not events:
        return 0
    queue_url = get_settings().analytics_events_queue_url
    if not queue_url:
        logger.warning("ANALYTICS_EVENTS_QUEUE_URL is not set: analytics events dropped", extra={"count": len(events)})
        _not_sent(len(events))
        return 0
    sent = 0
    for start in range(0, len(events), SQS_BATCH):
        chunk = events[start : start + SQS_BATCH]
        try:
            sent += _send(queue_url, chunk)
        except Exception:  # any failure of the queue is the emitter's to swallow
            logger.exception("could not queue analytics events", extra={"event_ids": [e.event_id for e in chunk]})
            _not_sent(len(chunk))
    return sent


def emit_as(build: Callable[..., EventBase | list[EventBase]], *args: Any, **kwargs: Any) -> int:
    """emit(build(*args, **kwargs)) (one event or a list), where a failure to build is swallowed too: for request
    paths, which must not fail because of analytics."""
    try:
        built = build(*args, **kwargs)
    except Exception:
        logger.exception("could not build an analytics event", extra={"builder": getattr(build, "__name__", "?")})
        _not_sent(1)
        return 0
    return emit(*built) if isinstance(built, list) else emit(built)


def _send(queue_url: str, chunk: tuple[EventBase, ...]) -> int:
    sqs = client("sqs")
    if len(chunk) == 1:
        sqs.send_message(QueueUrl=queue_url, MessageBody=chunk[0].model_dump_json(exclude_none=True))
        return 1
    entries = [{"Id": str(index), "MessageBody": event.model_dump_json(exclude_none=True)} for index, event in
               enumerate(chunk)]  # fmt: skip
    answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    failed = answer.get("Failed") or []
    if failed:
        logger.error("analytics events refused by the queue", extra={"failed": failed})
        _not_sent(len(failed))
    return len(chunk) - len(failed)


def _not_sent(count: int) -> None:
    metrics.add_metric(name="AnalyticsEventsNotSent", unit="Count", value=count)


# ---------------------------------------------------------------- builders (one per kind of the catalogue)


def product_viewed(
    product_id: str, user_id: str | None, at: Moment = None, view_id: str | None = None
) -> ProductViewed:
    """view_id: something unique to this view that a retry repeats (the view message's SQS id)."""
    event_id = f"product_viewed:{view_id}" if view_id else new_id("ev")
    return ProductViewed(event_id=event_id, occurred_at=_at(at), user_id=user_id, product_id=product_id)


def search_performed(
    keyword: str, user_id: str | None, results: int | None = None, at: Moment = None, search_id: str | None = None
) -> SearchPerformed:
    """search_id: something unique to this search that a retry repeats (the search-log message's SQS id)."""
    event_id = f"search_performed:{search_id}" if search_id else new_id("ev")
    return SearchPerformed(event_id=event_id, occurred_at=_at(at), user_id=user_id, keyword=keyword[:200],
                           results=results)  # fmt: skip


def favorite_added(user_id: str, product_id: str, at: Moment = None) -> FavoriteAdded:
    return FavoriteAdded(event_id=new_id("ev"), occurred_at=_at(at), user_id=user_id, product_id=product_id)


def cart_item_added(user_id: str, product_id: str, sku_id: str, quantity: int, at: Moment = None) -> CartItemAdded:
    return CartItemAdded(event_id=new_id("ev"), occurred_at=_at(at), user_id=user_id, product_id=product_id,
                         sku_id=sku_id, quantity=quantity)  # fmt: skip


def _lines(order: dict[str, Any]) -> list[OrderLine]:
    return [
        OrderLine(
            product_id=item["product_id"],
            sku_id=item["sku_id"],
            quantity=int(item["quantity"]),
            payable_fen=int(item.get("payable_fen", item.get("line_total_fen", 0))),
            title=(item.get("title") or None) and str(item["title"])[:200],
            category_id=item.get("category_id"),
        )
        for item in order.get("items") or []
    ]


def order_placed(order: dict[str, Any]) -> OrderPlaced:
    """From the order as orders stores it (order_id, user_id, created_at, items, amounts.payable_fen)."""
    return OrderPlaced(
        event_id=f"order_placed:{order['order_id']}",
        occurred_at=_at(order["created_at"]),
        user_id=order.get("user_id"),
        order_id=order["order_id"],
        amount_fen=int(order["amounts"]["payable_fen"]),
        lines=_lines(order),
    )


def order_paid(order: dict[str, Any], paid_at: Moment = None, payment_id: str | None = None,
               channel: str | None = None) -> OrderPaid:  # fmt: skip
    """The order (as stored) was paid; amount_fen is its payable_fen, paid_at defaults to order["payment"]."""
    payment = order.get("payment") or {}
    return OrderPaid(
        event_id=f"order_paid:{order['order_id']}",
        occurred_at=_at(paid_at or payment.get("paid_at")),
        user_id=order.get("user_id"),
        order_id=order["order_id"],
        amount_fen=int(payment.get("amount_fen") or order["amounts"]["payable_fen"]),
        lines=_lines(order),
        payment_id=payment_id or payment.get("payment_id"),
        channel=channel or payment.get("channel"),
    )


def order_received(order_id: str, user_id: str | None, at: Moment = None) -> OrderReceived:
    return OrderReceived(event_id=f"order_received:{order_id}", occurred_at=_at(at), user_id=user_id,
                         order_id=order_id)  # fmt: skip


def order_refunded(
    order_id: str, refund_id: str, amount_fen: int, user_id: str | None, at: Moment = None
) -> OrderRefunded:
    return OrderRefunded(event_id=f"order_refunded:{refund_id}", occurred_at=_at(at), user_id=user_id,
                         order_id=order_id, refund_id=refund_id, amount_fen=amount_fen)  # fmt: skip


def review_posted(
    user_id: str, order_id: str, product_id: str, sku_id: str, rating: int, at: Moment = None
) -> ReviewPosted:
    return ReviewPosted(event_id=f"review_posted:{order_id}:{sku_id}", occurred_at=_at(at), user_id=user_id,
                        order_id=order_id, product_id=product_id, sku_id=sku_id, rating=rating)  # fmt: skip


def reviews_posted(user_id: str, order_id: str, reviews: list[dict[str, Any]]) -> list[EventBase]:
    """One review_posted per created review (dicts with product_id, sku_id, rating, created_at)."""
    return [
        review_posted(user_id, order_id, r["product_id"], r["sku_id"], int(r["rating"]), r.get("created_at"))
        for r in reviews
    ]


def order_fact(name: str, order: dict[str, Any], details: dict[str, Any]) -> list[EventBase]:
    """The analytics events of an order fact as orders.service.emit_order_event names it (others: none)."""
    user_id = order.get("user_id")
    if name == "order_placed":
        return [order_placed(order)]
    if name == "order_paid":
        return [order_paid(order, details.get("paid_at"), details.get("payment_id"), details.get("channel"))]
    if name == "order_received":
        return [order_received(order["order_id"], user_id, details.get("received_at"))]
    if name == "order_refunded":
        refund = order_refunded(order["order_id"], details["refund_id"], int(details["amount_fen"]), user_id)
        return [refund]
    return []
