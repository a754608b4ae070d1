"""Lazily created, cached boto3 clients; the endpoint comes from AWS_ENDPOINT_URL when set."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore
import botocore.loaders
import botocore.session
from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
# The hot request paths' clients: no parameter validation (their requests are built by our code and covered by
# tests; pynamodb's clients skip it too), and a User-Agent fixed once, which botocore otherwise rebuilds twice per
# call with its feature metrics (a quarter of a GetItem's CPU time in process).
LEAN_CONFIG = _CLIENT_CONFIG.merge(
    Config(parameter_validation=False, user_agent=f"shop Botocore/{botocore.__version__}")
)


# botocore's service models, read from disk and parsed once per process: a fresh Session parses its service's JSON
# models again for its first client (30-60 ms each; 2-6 ms with the models loaded).
_LOADER = botocore.loaders.create_loader()
_creating = threading.Lock()  # a boto3 Session is not thread safe; the clients it makes are


@cache
def session() -> boto3.session.Session:
    """The process's boto3 Session (dropped by reset_clients), sharing the process's loaded service models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core)


def new_client(service: str, **kwargs: Any) -> Any:
    """A new client of the process's Session (boto3 reads AWS_ENDPOINT_URL and the region when it makes it)."""
    with _creating:
        return session().client(service, **kwargs)


@cache
def client(service: str) -> Any:
    """One client per service per process."""
    return new_client(service, config=_CLIENT_CONFIG)


@cache
def lean_client(service: str) -> Any:
    """One client per service per process for the hot request paths (chalicelib.dynamo's reads, the cart's writes):
    as `client`, less botocore's per-call extras (LEAN_CONFIG)."""
    return new_client(service, config=LEAN_CONFIG)


_forgetters: list[Callable[[], None]] = []


def on_reset_clients(forget: Callable[[], None]) -> None:
    """Have `forget` run with reset_clients (another cached connection: pynamodb's, chalicelib.dynamo)."""
    _forgetters.append(forget)


def reset_clients() -> None:
    """Drop cached clients (the local runtime and tests point AWS_ENDPOINT_URL elsewhere)."""
    client.cache_clear()
    lean_client.cache_clear()
    session.cache_clear()
    for forget in _forgetters:
        forget()
