"""Polled event sources: a poller thread per on_sqs_message / on_dynamodb_record handler of the app."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from chalice.app import Chalice

from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.aws.stream_poller import DynamoStreamPoller, dynamodb_stream_handlers

Poller = SqsPoller | DynamoStreamPoller


def open_pollers(app: Chalice, stage: str | None = None) -> list[Poller]:
    """A poller for every on_sqs_message and on_dynamodb_record handler of `app`, at its starting position (a
    stream's LATEST counts from here) but not polling: writes made before start_pollers() wait for it."""
    stage = stage or os.environ.get("SHOP_STAGE", "local")
    pollers: list[Poller] = [SqsPoller(app, config, stage) for config in sqs_handlers(app)]
    pollers += [DynamoStreamPoller(app, config, stage) for config in dynamodb_stream_handlers(app)]
    for poller in pollers:
        poller.open()
    return pollers


def start_pollers(app: Chalice, stage: str | None = None, pollers: list[Poller] | None = None) -> list[Poller]:
    """Start polling: the given opened pollers, or a new poller for every handler of `app`."""
    pollers = open_pollers(app, stage) if pollers is None else pollers
    for poller in pollers:
        poller.start()
    return pollers


def wait_drained(pollers: Iterable[Poller], timeout: float, quiet_seconds: float = 1.0) -> bool:
    """True once every poller has delivered everything waiting for it, and what that set off, for `quiet_seconds`
    in a row (no batch delivered meanwhile); False if that does not happen within `timeout`."""
    pollers = list(pollers)
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    delivered = -1
    while time.monotonic() < deadline:
        now_delivered = sum(poller.batches_delivered for poller in pollers)
        if now_delivered == delivered and all(poller.caught_up for poller in pollers):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return True
        else:
            quiet_since, delivered = None, now_delivered
        time.sleep(0.2)
    return False


def stop_pollers(pollers: Iterable[Poller], timeout: float = 5.0) -> None:
    pollers = list(pollers)
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        poller.join(timeout)
