"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

import pydantic

from chalicelib.routes import OPERATIONS, Operation

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "request_id"],
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$", "examples": ["VALIDATION_ERROR"]},
        "message": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = {
    "description": "On every response, errors included: the request_id of an error body, for support to find it",
    "schema": {"type": "string"},
}

ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: malformed JSON (or nested deeper than 32 levels), wrong types, unknown fields, "
    "out-of-range values, digits other than ASCII 0-9, bad cursor; WEAK_PASSWORD: a common password",
    401: "UNAUTHORIZED: missing, invalid or expired access token, or wrong credentials",
    403: "FORBIDDEN: signed in but not allowed (customer on an admin route)",
    404: "NOT_FOUND: no such object (or not yours)",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT / OUT_OF_STOCK / INVALID_STATE",
    413: "PAYLOAD_TOO_LARGE: body over 1 MB",
    415: "UNSUPPORTED_MEDIA_TYPE: body is not JSON",
    429: "RATE_LIMITED (retry_after_seconds tells how long, when known)",
    502: "BAD_GATEWAY: a provider we depend on (SMS, OAuth, payment) failed",
}


def _schema_ref(model: type[pydantic.BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[pydantic.BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, components)
    for name, required, description in op.headers:
        parameters.append(
            {
                "name": name,
                "in": "header",
                "required": required,
                "description": description,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    for name, description in op.extra.get("cookies", ()):
        parameters.append(
            {"name": name, "in": "cookie", "required": False, "description": description, "schema": {"type": "string"}}
        )
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": _description(op),
        "tags": list(op.tags),
    }
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_ref(op.body, components, "validation")}},
        }
    success: dict[str, Any] = {
        "description": {201: "Created", 202: "Accepted", 204: "No Content"}.get(op.status, "OK"),
        "headers": {
            REQUEST_ID_HEADER: {"$ref": f"#/components/headers/{REQUEST_ID_HEADER}"},
            **{
                name: {"description": description, "schema": {"type": "string"}}
                for name, description in op.extra.get("response_headers", {}).items()
            },
        },
    }
    if op.response is not None:
        success["content"] = {"application/json": {"schema": _schema_ref(op.response, components, "serialization")}}
    elif op.media_type != "application/json":
        success["content"] = {op.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): success}
    statuses = set(op.errors)
    if op.body is not None or op.query is not None or "{" in op.path:
        statuses.add(400)
    if op.body is not None:
        statuses.update({413, 415})
    if op.auth in ("customer", "admin"):
        statuses.add(401)
    if op.auth == "admin":
        statuses.add(403)
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    spec["responses"] = responses
    if op.auth in ("customer", "admin"):
        spec["security"] = [{"bearerAuth": []}]
    elif op.auth == "optional":
        spec["security"] = [{}, {"bearerAuth": []}]
    return spec


WHO_MAY_CALL = {
    "public": "Open to anyone, no token needed.",
    "optional": "Signing in is optional: with `Authorization: Bearer <access_token>` the answer is the caller's.",
    "customer": "Needs a signed-in customer: `Authorization: Bearer <access_token>`; it only ever reads or changes "
    "the caller's own data (someone else's object answers 404).",
    "admin": "Staff only: `Authorization: Bearer <access_token>` of a staff account; a customer's token answers 403.",
}


def _description(op: Operation) -> str:
    """What a client needs besides the schemas: who may call, the body, paging, headers, the answer and the errors."""
    who = WHO_MAY_CALL[op.auth]
    if op.auth == "admin":
        who += f" Staff roles allowed: {', '.join(f'`{role}`' for role in op.roles or ('admin',))}; any other gets 403."
    lines = [f"{op.summary}.", who]
    if op.body is not None:
        lines.append(f"Takes a JSON body (`{op.body.__name__}`); unknown fields are refused with 400.")
    if op.query is not None and {"page_size", "cursor"} <= set(op.query.model_fields):
        lines.append(
            "Paged: `?page_size=` (1..100, default 20) and `?cursor=` from the previous page's `next_cursor` "
            "(null on the last page)."
        )
    for name, required, description in op.headers:
        lines.append(f"{'Needs' if required else 'Takes'} the `{name}` header: {description}.")
    answer = {201: "201 with what it created", 202: "202: accepted, done in the background", 204: "204, no body"}
    body = "the body described below" if op.response is not None else f"`{op.media_type}`"
    lines.append(f"Answers {answer.get(op.status, f'{op.status} with {body}')}.")
    if op.errors:
        lines.append(
            "Besides the usual 400/401/403, it may answer "
            + "; ".join(f"{status} ({ERROR_DESCRIPTIONS.get(status, 'see the code')})" for status in op.errors)
            + ". Every error body is `{code, message, request_id}`."
        )
    return "\n\n".join(lines)


def build_document(server_url: str | None = None) -> dict[str, Any]:
    """The whole OpenAPI document for every declared operation."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Shop API",
            "version": "1.0.0",
            "description": "Serverless e-commerce backend: accounts, catalog, search, cart, orders, payments.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                f"E{status}": {
                    "description": description,
                    "headers": {REQUEST_ID_HEADER: {"$ref": f"#/components/headers/{REQUEST_ID_HEADER}"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                for status, description in ERROR_DESCRIPTIONS.items()
            },
            "headers": {REQUEST_ID_HEADER: REQUEST_ID},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
