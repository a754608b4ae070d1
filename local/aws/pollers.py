"""Polled event sources: a poller thread per on_sqs_message / on_dynamodb_record handler of the app."""

from __future__ import annotations

import os
from collections.abc import Iterable

from chalice.app import Chalice

from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.aws.stream_poller import DynamoStreamPoller, dynamodb_stream_handlers

Poller = SqsPoller | DynamoStreamPoller


def start_pollers(app: Chalice, stage: str | None = None) -> list[Poller]:
    """Start a poller for every on_sqs_message and on_dynamodb_record handler of `app`."""
    stage = stage or os.environ.get("SHOP_STAGE", "local")
    pollers: list[Poller] = [SqsPoller(app, config, stage) for config in sqs_handlers(app)]
    pollers += [DynamoStreamPoller(app, config, stage) for config in dynamodb_stream_handlers(app)]
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: Iterable[Poller], timeout: float = 5.0) -> None:
    pollers = list(pollers)
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        poller.join(timeout)
