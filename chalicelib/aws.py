"""Lazily created, cached boto3 clients; the endpoint comes from AWS_ENDPOINT_URL when set."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore
from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
# The hot request paths' clients: no parameter validation (their requests are built by our code and covered by
# tests; pynamodb's clients skip it too), and a User-Agent fixed once, which botocore otherwise rebuilds twice per
# call with its feature metrics (a quarter of a GetItem's CPU time in process).
LEAN_CONFIG = _CLIENT_CONFIG.merge(
    Config(parameter_validation=False, user_agent=f"shop Botocore/{botocore.__version__}")
)


@cache
def client(service: str) -> Any:
    """One client per service per process (boto3 reads AWS_ENDPOINT_URL and the region itself)."""
    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)


@cache
def lean_client(service: str) -> Any:
    """One client per service per process for the hot request paths (chalicelib.dynamo's reads, the cart's writes):
    as `client`, less botocore's per-call extras (LEAN_CONFIG)."""
    return boto3.session.Session().client(service, config=LEAN_CONFIG)


_forgetters: list[Callable[[], None]] = []


def on_reset_clients(forget: Callable[[], None]) -> None:
    """Have `forget` run with reset_clients (another cached connection: pynamodb's, chalicelib.dynamo)."""
    _forgetters.append(forget)


def reset_clients() -> None:
    """Drop cached clients (the local runtime and tests point AWS_ENDPOINT_URL elsewhere)."""
    client.cache_clear()
    lean_client.cache_clear()
    for forget in _forgetters:
        forget()
