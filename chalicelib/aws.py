"""Lazily created, cached boto3 clients; the endpoint comes from AWS_ENDPOINT_URL when set."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore
import botocore.auth
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
    as `client`, less botocore's per-call extras (LEAN_CONFIG); DynamoDB's reads and writes as plain JSON, signed by
    _QuickSigV4Auth, each operation's endpoint resolved once. Each of these is held to botocore's own answer by
    tests/unit/test_aws_plain_json.py."""
    made = new_client(service, config=LEAN_CONFIG)
    if service == "dynamodb":
        made._serializer = _PlainJsonRequests(made._serializer)
        made._endpoint._response_parser_factory = _PlainJsonAnswers()
        _sign_quickly(made._request_signer)
        _resolve_endpoints_once(made._ruleset_resolver)
    return made


def _sign_quickly(signer: Any) -> None:
    """Have a client's request signer sign SigV4 with _QuickSigV4Auth (any other scheme: botocore's own)."""
    auth_instance = signer.get_auth_instance

    def quick_auth_instance(*args: Any, **kwargs: Any) -> Any:
        auth = auth_instance(*args, **kwargs)
        if type(auth) is botocore.auth.SigV4Auth:
            return _QuickSigV4Auth(auth.credentials, auth._service_name, auth._region_name)
        return auth

    signer.get_auth_instance = quick_auth_instance


def _resolve_endpoints_once(resolver: Any) -> None:
    """Resolve each operation's endpoint once per client: botocore runs the endpoint rules on every call (0.03 ms of
    a GetItem's 0.28 ms of CPU), though their inputs for a client of the hot paths are the same each time (its
    region and settings, and table names, never ARNs: the rules tell tables apart only by an ARN's account)."""
    construct = resolver.construct_endpoint
    resolved: dict[str, Any] = {}

    def construct_once(operation_model: Any, call_args: Any, request_context: Any) -> Any:
        endpoint = resolved.get(operation_model.name)
        if endpoint is None:
            endpoint = resolved[operation_model.name] = construct(operation_model, call_args, request_context)
        return endpoint

    resolver.construct_endpoint = construct_once


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


class _QuickSigV4Auth(botocore.auth.SigV4Auth):
    """botocore's SigV4 signer with the same answer for the hot paths' requests (a unit test holds it to botocore's),
    in less time: the headers to sign read once into a dict (botocore builds an email.message twice and prepares the
    whole request to hash a body it already holds), the URL's host and path parsed once, the signing key derived once
    a day. Anything unusual (a query string, a body that is not bytes, a header given twice, checksum trailers) is
    signed by botocore's own code."""

    _headers_seen: tuple[Any, tuple[str, str]] | None = None

    def add_auth(self, request: Any) -> None:
        self._headers_seen = None
        super().add_auth(request)

    def _plain_headers(self, request: Any) -> tuple[str, str] | None:
        """(signed header names, canonical headers) of a plain request, else None; read once per signing."""
        seen = self._headers_seen
        if seen is not None and seen[0] is request:
            return seen[1]
        if (
            request.params
            or "?" in request.url
            or not isinstance(request.data, bytes)
            or request.context.get("checksum")
        ):
            return None
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered in _UNSIGNED_HEADERS:
                continue
            if lowered in headers:
                return None
            headers[lowered] = value
        headers.setdefault("host", _url_host_and_path(request.url)[0])
        names = sorted(headers)
        plain = (";".join(names), "\n".join(f"{name}:{' '.join(headers[name].split())}" for name in names))
        self._headers_seen = (request, plain)
        return plain

    def canonical_request(self, request: Any) -> str:
        plain = self._plain_headers(request)
        if plain is None:
            return super().canonical_request(request)
        signed, canonical = plain
        if "X-Amz-Content-SHA256" in request.headers:
            checksum = request.headers["X-Amz-Content-SHA256"]
        elif not self._should_sha256_sign_payload(request):
            checksum = botocore.auth.UNSIGNED_PAYLOAD
        else:
            checksum = hashlib.sha256(request.data).hexdigest()
        path = _url_host_and_path(request.url)[1]
        return f"{request.method.upper()}\n{path}\n\n{canonical}\n\n{signed}\n{checksum}"

    def signature(self, string_to_sign: str, request: Any) -> str:
        day = request.context["timestamp"][0:8]
        key = _signing_key(self.credentials.secret_key, day, self._region_name, self._service_name)
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def _inject_signature_to_request(self, request: Any, signature: str) -> Any:
        plain = self._plain_headers(request)
        if plain is None:
            return super()._inject_signature_to_request(request, signature)
        scope = self.scope(request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={plain[0]}, Signature={signature}"
        )
        return request


_UNSIGNED_HEADERS = frozenset(botocore.auth.SIGNED_HEADERS_BLACKLIST)


@lru_cache(maxsize=16)
def _url_host_and_path(url: str) -> tuple[str, str]:
    """The Host header botocore signs for a URL, and its path as SigV4 normalises it."""
    path = botocore.auth.SigV4Auth(None, "", "")._normalize_url_path(urlsplit(url).path)
    return botocore.auth._host_from_url(url), path


@lru_cache(maxsize=4)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
