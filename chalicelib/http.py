"""The one way a route is declared: validation, auth, error mapping, JSON out, and the facts the OpenAPI spec needs."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pydantic
from chalice.app import Blueprint, Request, Response

from chalicelib import cors
from chalicelib.config import get_settings
from chalicelib.errors import (
    DomainError,
    Forbidden,
    InternalError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
    error_for_status,
)
from chalicelib.inputs import TooDeep, loads_json
from chalicelib.observability import logger

Auth = Literal["public", "optional", "customer", "admin"]
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
PATH_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, as the authorizer (or the token on an optional-auth route) established it."""

    user_id: str
    username: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class Operation:
    """One route's contract: what the OpenAPI generator documents."""

    path: str
    method: str
    summary: str
    tags: tuple[str, ...]
    auth: Auth
    status: int
    body: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    errors: tuple[int, ...] = ()
    headers: tuple[tuple[str, bool, str], ...] = ()  # (name, required, description)
    operation_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    media_type: str = "application/json"  # of the success body; a view returning another type returns a Response
    # extra["cookies"]: [(name, description)] the route reads; extra["response_headers"]: {name: description}


class _DeclaredOperations(list[Operation]):
    """Every declared operation. Routes may be registered on first use (chalicelib.lazy_app): reading the list first
    registers the ones not loaded yet, so the OpenAPI document and the access matrix always see all of them."""

    loaders: ClassVar[list[Callable[[], None]]] = []

    def _complete(self) -> None:
        for load in self.loaders:
            load()

    def __iter__(self) -> Any:
        self._complete()
        return super().__iter__()

    def __len__(self) -> int:
        self._complete()
        return super().__len__()

    def __getitem__(self, index: Any) -> Any:
        self._complete()
        return super().__getitem__(index)


OPERATIONS: list[Operation] = _DeclaredOperations()


def complete_operations_with(loader: Callable[[], None]) -> None:
    """Have `loader` (registering every route) run before OPERATIONS is read."""
    _DeclaredOperations.loaders.append(loader)


# Filled by chalicelib.accounts.authorizer; kept here so every context's routes can name it without import cycles.
_authorizer: list[Any] = []
_optional_principal: list[Callable[[str], Principal | None]] = []


def use_authorizer(authorizer: Any, token_to_principal: Callable[[str], Principal | None]) -> None:
    """Register the API Gateway authorizer and the in-route token check for optional-auth routes."""
    _authorizer[:] = [authorizer]
    _optional_principal[:] = [token_to_principal]


def _jwt_authorizer() -> Any:
    if not _authorizer:  # whichever context declares a protected route first brings the authorizer in
        import chalicelib.accounts.authorizer  # noqa: F401 - registers itself through use_authorizer
    return _authorizer[0]


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


def _principal_from_authorizer(request: Request) -> Principal:
    context = (request.context or {}).get("authorizer") or {}
    if not context.get("principalId"):
        raise Unauthorized()
    roles = frozenset(filter(None, str(context.get("roles", "")).split(",")))
    return Principal(user_id=str(context["principalId"]), username=str(context.get("username", "")), roles=roles)


def _optional_principal_of(request: Request) -> Principal | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if not token or scheme.lower() != "bearer" or not _optional_principal:
        return None
    return _optional_principal[0](token.strip())


def endpoint(
    blueprint: Blueprint,
    path: str,
    method: str = "GET",
    *,
    summary: str,
    tags: tuple[str, ...] = (),
    auth: Auth = "public",
    body: type[pydantic.BaseModel] | None = None,
    query: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    headers: tuple[tuple[str, bool, str], ...] = (),
    media_type: str = "application/json",
    extra: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route. The view gets path params, and `body`, `query`, `principal`, `request` when declared.

    It returns a JSON-able value (dict, list or pydantic model) or a chalice Response, and raises DomainErrors.
    A route answering something else than JSON (a CSV download) declares its `media_type` and returns a Response.
    """

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        wants = view.__code__.co_varnames[: view.__code__.co_argcount + view.__code__.co_kwonlyargcount]

        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            request = blueprint.current_request
            try:
                if not all(PATH_ID.fullmatch(value) for value in path_params.values()):
                    raise NotFound()  # no id of ours looks like that (and DynamoDB would refuse such a key)
                kwargs: dict[str, Any] = dict(path_params)
                if auth in ("customer", "admin"):
                    principal = _principal_from_authorizer(request)
                    if auth == "admin" and not principal.is_admin:
                        raise Forbidden("This needs the admin role")
                    kwargs["principal"] = principal
                elif auth == "optional":
                    kwargs["principal"] = _optional_principal_of(request)
                if query is not None:
                    kwargs["query"] = parse_query(request, query)
                if body is not None:
                    kwargs["body"] = parse_body(request, body)
                if "request" in wants:
                    kwargs["request"] = request
                result = view(**{k: v for k, v in kwargs.items() if k in wants})
            except DomainError as error:
                if error.status >= 500:
                    logger.exception("request failed", extra={"code": error.code})
                return error_response(error, request)
            if isinstance(result, Response):
                return result
            if status == 204:
                return Response(body="", status_code=204, headers={})
            return json_response(result, status=status)

        route_kwargs: dict[str, Any] = {"methods": [method], "content_types": ["application/json", "*/*"]}
        if auth in ("customer", "admin"):
            route_kwargs["authorizer"] = _jwt_authorizer()
        blueprint.route(path, **route_kwargs)(handle)
        OPERATIONS.append(
            Operation(
                path=path,
                method=method,
                summary=summary,
                tags=tags,
                auth=auth,
                status=status,
                body=body,
                query=query,
                response=response,
                errors=errors,
                headers=headers,
                operation_id=view.__name__,
                media_type=media_type,
                extra=dict(extra or {}),
            )
        )
        return view

    return register


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
