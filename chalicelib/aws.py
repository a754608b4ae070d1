"""Lazily created, cached boto3 clients; the endpoint comes from AWS_ENDPOINT_URL when set."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore
import botocore.loaders
import botocore.parsers
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
    as `client`, less botocore's per-call extras (LEAN_CONFIG); DynamoDB's reads and writes as plain JSON."""
    made = new_client(service, config=LEAN_CONFIG)
    if service == "dynamodb":
        made._serializer = _PlainJsonRequests(made._serializer)
        made._endpoint._response_parser_factory = _PlainJsonAnswers()
    return made


# DynamoDB's reads and writes go over the wire as JSON of the very shape of the client's parameters and answers,
# binary values ("B", "BS": base64 on the wire, bytes in Python) aside. botocore still walks both member by member
# against the service model: 0.2 ms to parse the answer of a five-SKU BatchGetItem, 0.03 ms to build it. The hot
# paths' DynamoDB client dumps and loads them as they are, and leaves to botocore any request json cannot dump
# (bytes, Decimal), any answer naming a binary type, every error and every other operation.
_DATA_PLANE = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems",
})  # fmt: skip
_DATA_PLANE_ANSWERS = frozenset(f"{operation}Output" for operation in _DATA_PLANE)


class _PlainJsonRequests:
    """botocore's JSON serializer's request, its body dumped from the parameters as they are."""

    def __init__(self, model_serializer: Any) -> None:
        self._model_serializer = model_serializer

    def serialize_to_request(self, parameters: dict[str, Any], operation_model: Any) -> dict[str, Any]:
        name = operation_model.name
        if name in _DATA_PLANE:
            try:
                body = json.dumps(parameters).encode()
            except TypeError:  # a binary value (bytes) or a Decimal: botocore encodes them
                pass
            else:
                target = f"{operation_model.metadata['targetPrefix']}.{name}"
                content_type = f"application/x-amz-json-{operation_model.metadata['jsonVersion']}"
                return {"url_path": "/", "query_string": "", "method": "POST", "body": body,
                        "headers": {"X-Amz-Target": target, "Content-Type": content_type}}  # fmt: skip
        return self._model_serializer.serialize_to_request(parameters, operation_model)


class _PlainJsonParser(botocore.parsers.JSONParser):
    """botocore's JSON parser, answers of the data plane without binary values loaded as they are."""

    def _do_parse(self, response: dict[str, Any], shape: Any) -> dict[str, Any]:
        body = response["body"]
        if shape is None or shape.name not in _DATA_PLANE_ANSWERS or b'"B"' in body or b'"BS"' in body:
            return super()._do_parse(response, shape)
        parsed = json.loads(body) if body else {}
        self._inject_response_metadata(parsed, response["headers"])
        return parsed


class _PlainJsonAnswers(botocore.parsers.ResponseParserFactory):
    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return _PlainJsonParser(**self._defaults)
        return super().create_parser(protocol_name)


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
