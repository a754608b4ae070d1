"""HTTP plumbing every route shares: request parsing and validation, the one error mapping, JSON out, and the
middleware for CORS, body limits and the access log (routes are declared through chalicelib.routes)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pydantic
from chalice.app import Request, Response

from chalicelib import cors
from chalicelib.config import get_settings
from chalicelib.errors import (
    DomainError,
    Forbidden,
    InternalError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    error_for_status,
)
from chalicelib.inputs import TooDeep, loads_json
from chalicelib.observability import logger

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
PATH_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def request_id_of(request: Request | None) -> str:
    if request is None:
        return "unknown"
    context = request.context or {}
    if context.get("requestId"):
        return str(context["requestId"])
    lambda_context = getattr(request, "lambda_context", None)
    return str(getattr(lambda_context, "aws_request_id", "unknown"))


def source_ip(request: Request) -> str:
    """The caller's address as API Gateway saw it (for per-network limits)."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return Response(body=text, status_code=status, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def _json_default(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def error_response(error: DomainError, request: Request | None) -> Response:
    return json_response(error.body(request_id_of(request)), status=error.status)


FRAMEWORK_PREFIXES = ("Value error, ", "Assertion failed, ")  # what pydantic puts before a validator's own message
PLAIN_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not accepted here: leave it out.",
    "model_type": "Must be a JSON object.",
    "model_attributes_type": "Must be a JSON object.",
    "dict_type": "Must be a JSON object.",
}


def sentence(text: str) -> str:
    """A message as a plain sentence: capitalised, with a full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def field_message(error: Any) -> str:
    """One pydantic error (an ErrorDetails) as a plain sentence for `errors[].message`: no framework prefix."""
    if error["type"] in PLAIN_MESSAGES:
        return PLAIN_MESSAGES[error["type"]]
    if error["type"] == "string_pattern_mismatch" and "pattern" in (error.get("ctx") or {}):
        return f"Must match the pattern {error['ctx']['pattern']}."
    text = str(error["msg"])
    for prefix in FRAMEWORK_PREFIXES:
        text = text.removeprefix(prefix)
    return sentence(text)


def _field_errors(exc: pydantic.ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "(body)", "message": field_message(err)}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def parse_body(request: Request, model: type[pydantic.BaseModel]) -> Any:
    """The request body as `model`; 415 unless JSON, 400 for malformed JSON or any field rule broken."""
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType()
    raw = request.raw_body or b""
    if not raw.strip():
        raise ValidationError(
            "A JSON body is required", errors=[{"field": "(body)", "message": "A JSON body is required."}]
        )
    try:
        data = loads_json(raw)
    except TooDeep as exc:
        raise ValidationError("JSON body nested too deeply", errors=[{"field": "(body)", "message": str(exc)}]) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        message = sentence(f"Not valid JSON: {exc}")
        raise ValidationError("Malformed JSON body", errors=[{"field": "(body)", "message": message}]) from exc
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            "Invalid request body: fix the fields listed in errors", errors=_field_errors(exc)
        ) from exc


def parse_query(request: Request, model: type[pydantic.BaseModel]) -> Any:
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            "Invalid query parameters: fix the ones listed in errors", errors=_field_errors(exc)
        ) from exc


def _is_contract_error(response: Response) -> bool:
    body = response.body
    if isinstance(body, str):
        return body.startswith('{"code":')
    return isinstance(body, dict) and "code" in body and "request_id" in body


def _preflight(event: Request) -> Response:
    """OPTIONS on a route: the CORS preflight, answered here for every route (API Gateway sends OPTIONS of every path
    to this function, infra/package.py); an origin outside the stage's allow-list is refused."""
    origin = event.headers.get("origin")
    allowed = get_settings().cors_allowed_origins
    if origin and not cors.origin_allowed(origin, allowed):
        return error_response(Forbidden("This origin may not call the API"), event)
    return Response(body="", status_code=204, headers={"Allow": ", ".join(cors.ALLOWED_METHODS)})


def http_guard(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice 'http' middleware: CORS (preflights, headers), body size limit, access log, and contract-shaped bodies
    for framework errors (405 for a method the route does not have)."""
    started = time.perf_counter()
    raw_length = len(event.raw_body or b"") if event.method in ("POST", "PUT", "PATCH", "DELETE") else 0
    if event.method == "OPTIONS":
        response = _preflight(event)
    elif raw_length > get_settings().max_body_bytes:
        response = error_response(PayloadTooLarge(), event)
    else:
        try:
            response = get_response(event)
        except Exception:
            logger.exception("unhandled error")
            response = error_response(InternalError(), event)
        if response.status_code >= 400 and not _is_contract_error(response):
            # Chalice's own answers (405, 415, unhandled 500) come as {"Code", "Message"}: bring them to the contract.
            message = response.body.get("Message") if isinstance(response.body, dict) else None
            original_headers = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
            response = error_response(error_for_status(response.status_code, message), event)
            response.headers.update(original_headers)
    response.headers.setdefault("X-Request-Id", request_id_of(event))
    origin = event.headers.get("origin")
    if event.method == "OPTIONS" and response.status_code == 204:
        response.headers.update(cors.preflight_headers(origin, get_settings().cors_allowed_origins))
    else:
        response.headers.update(cors.response_headers(origin, get_settings().cors_allowed_origins))
    logger.info(
        "http",
        extra={
            "method": event.method,
            "path": event.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
