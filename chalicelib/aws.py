"""Lazily created, cached boto3 clients; the endpoint comes from AWS_ENDPOINT_URL when set."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str) -> Any:
    """One client per service per process (boto3 reads AWS_ENDPOINT_URL and the region itself)."""
    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)


_forgetters: list[Callable[[], None]] = []


def on_reset_clients(forget: Callable[[], None]) -> None:
    """Have `forget` run with reset_clients (another cached connection: pynamodb's, chalicelib.dynamo)."""
    _forgetters.append(forget)


def reset_clients() -> None:
    """Drop cached clients (the local runtime and tests point AWS_ENDPOINT_URL elsewhere)."""
    client.cache_clear()
    for forget in _forgetters:
        forget()
