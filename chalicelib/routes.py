"""The one way a route is declared: `@<context>_api.get("/path")` on a view whose signature states the rest.

A view's signature is its contract:
- a path parameter by its name (`order_id: str`);
- `body: <Model>` is the JSON body and `query: <Model>` the query string, each validated (400 names the fields);
- `principal: Principal` makes it a signed-in customer's route, `principal: Principal | None` one where signing in
  is optional; every path under /admin is a staff route, whatever the view takes: `roles=` on the decorator names
  the staff roles (besides `admin`, who may do everything) allowed on it, anyone else gets 403;
- `request: Request` is the request itself (headers, the caller's address);
- any other parameter is handed over by the composition root (chalicelib.bootstrap) by its name;
- the return annotation `Json[<Model>]` is the success body's schema, and the docstring the operation's summary.
The decorator adds what a signature cannot say: the success status, the error statuses, the headers it reads. Each
declaration also records an Operation, which the OpenAPI document (chalicelib.openapi) is generated from.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, TypeVar
from urllib.parse import unquote

import pydantic
from chalice.app import Blueprint, Response

from chalicelib import deps
from chalicelib.auth import Principal, jwt_auth, optional_principal, principal_from_authorizer
from chalicelib.errors import DomainError, Forbidden, NotFound
from chalicelib.http import PATH_ID, error_response, json_response, parse_body, parse_query, request_id_of
from chalicelib.observability import logger
from chalicelib.principal import STAFF_ROLES

Auth = Literal["public", "optional", "customer", "admin"]
# A string bound: reading pydantic.BaseModel at import would load pydantic's model machinery on every cold start.
M = TypeVar("M", bound="pydantic.BaseModel", covariant=True)
ADMIN_PREFIX = "/admin/"
# Parameters a view gets from the request itself; any other one (not a path parameter) comes from the container.
FROM_REQUEST = ("principal", "body", "query", "request")


class Json(Protocol[M]):
    """What a view answers: a JSON body of the shape of M (the success schema of the OpenAPI document).

    Views return what their service built (a dict, or M itself): typing does not hold the dict to M, the contract
    tests do (the OpenAPI document is validated against every answer of the e2e suite)."""


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
    roles: tuple[str, ...] | None = None  # an /admin route's staff roles (admin always among them); None: undeclared
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


class RouteDeclarationError(TypeError):
    """A view's signature does not say what its route needs (caught at import: the suite imports every route)."""


def _model(hint: Any) -> type[pydantic.BaseModel] | None:
    return hint if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel) else None


def _response_model(hint: Any) -> type[pydantic.BaseModel] | None:
    if typing.get_origin(hint) is Json:
        (model,) = typing.get_args(hint)
        return _model(model)
    return None


def _auth_of(path: str, hints: dict[str, Any]) -> Auth:
    if path.startswith(ADMIN_PREFIX):
        return "admin"
    if "principal" not in hints:
        return "public"
    if hints["principal"] is Principal:
        return "customer"
    if hints["principal"] == Principal | None:
        return "optional"
    raise RouteDeclarationError(f"{path}: `principal` must be a Principal or Principal | None")


def _staff_roles(path: str, auth: Auth, roles: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The staff roles allowed on an /admin route (admin first, always); None when the route declares none: then only
    admin passes, and the access matrix test fails until the declaration says who else may."""
    if roles is None:
        return None
    if auth != "admin":
        raise RouteDeclarationError(f"{path}: only /admin routes take roles=")
    unknown = set(roles) - set(STAFF_ROLES)
    if unknown:
        raise RouteDeclarationError(f"{path}: no such staff role {sorted(unknown)}")
    return ("admin", *(role for role in STAFF_ROLES if role in roles and role != "admin"))


def _summary(view: Callable[..., Any]) -> str:
    if not view.__doc__:
        raise RouteDeclarationError(f"{view.__name__}: a view's docstring is its operation's summary")
    return " ".join(inspect.cleandoc(view.__doc__).split())


class Routes(Blueprint):
    """A context's HTTP routes: `@<context>_api.get(path)`, `.post`, `.put`, `.patch`, `.delete`.

    `tags` group its operations in the OpenAPI document; `admin_tags` those under /admin (the same by default)."""

    def __init__(self, import_name: str, tags: tuple[str, ...] = (), admin_tags: tuple[str, ...] | None = None):
        super().__init__(import_name)
        self.tags = tags
        self.admin_tags = tags if admin_tags is None else admin_tags
        self.views: list[tuple[str, Callable[..., Any]]] = []  # (path, view) of every route declared here

    def get(self, path: str, **contract: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.declare("GET", path, **contract)

    def post(self, path: str, **contract: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.declare("POST", path, **contract)

    def put(self, path: str, **contract: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.declare("PUT", path, **contract)

    def patch(self, path: str, **contract: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.declare("PATCH", path, **contract)

    def delete(self, path: str, **contract: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.declare("DELETE", path, **contract)

    def declare(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        errors: tuple[int, ...] = (),
        headers: tuple[tuple[str, bool, str], ...] = (),
        media_type: str = "application/json",
        tags: tuple[str, ...] | None = None,
        extra: dict[str, Any] | None = None,
        roles: tuple[str, ...] | None = None,
        text_params: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare the route `method path` answered by the decorated view (see the module docstring). Path parameters
        are ids (PATH_ID) except those named in text_params: free text (a word), percent-decoded, 1..64 characters."""

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            hints = typing.get_type_hints(view)
            auth = _auth_of(path, hints)
            allowed = _staff_roles(path, auth, roles)
            body, query = _model(hints.get("body")), _model(hints.get("query"))
            if ("body" in hints and body is None) or ("query" in hints and query is None):
                raise RouteDeclarationError(f"{view.__name__}: `body` and `query` are pydantic models")
            path_params = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
            wanted = tuple(inspect.signature(view).parameters)
            handed = deps.needed(view, FROM_REQUEST + path_params)
            self.route(path, **self._route_options(method, auth))(
                _handler(
                    self, view, wanted, handed, auth, body, query, status, (path, allowed or ("admin",)), text_params
                )
            )
            self.views.append((path, view))
            default_tags = self.admin_tags if auth == "admin" else self.tags
            OPERATIONS.append(
                Operation(
                    path=path,
                    method=method,
                    summary=_summary(view),
                    tags=default_tags if tags is None else tags,
                    auth=auth,
                    status=status,
                    body=body,
                    query=query,
                    response=_response_model(hints.get("return")),
                    errors=errors,
                    headers=headers,
                    operation_id=view.__name__,
                    media_type=media_type,
                    extra=dict(extra or {}),
                    roles=allowed,
                )
            )
            return view

        return register

    @staticmethod
    def _route_options(method: str, auth: Auth) -> dict[str, Any]:
        options: dict[str, Any] = {"methods": [method], "content_types": ["application/json", "*/*"]}
        if auth in ("customer", "admin"):
            options["authorizer"] = jwt_auth
        return options


def _handler(
    blueprint: Blueprint,
    view: Callable[..., Any],
    wanted: tuple[str, ...],
    handed: tuple[str, ...],
    auth: Auth,
    body: type[pydantic.BaseModel] | None,
    query: type[pydantic.BaseModel] | None,
    status: int,
    staff_route: tuple[str, tuple[str, ...]],
    text_params: tuple[str, ...] = (),
) -> Callable[..., Response]:
    """The Chalice view of a declared route: the request checked and parsed, the view called, its answer as JSON.

    A staff member's write under /admin (allowed or refused) is recorded in the audit log once answered."""

    template, allowed = staff_route

    @functools.wraps(view)
    def handle(**path_params: str) -> Response:
        request = blueprint.current_request
        staff: Principal | None = None
        result: Any = None
        try:
            path_params = {
                name: unquote(value) if name in text_params else value for name, value in path_params.items()
            }
            if not all(
                (0 < len(value) <= 64 and value.isprintable()) if name in text_params else PATH_ID.fullmatch(value)
                for name, value in path_params.items()
            ):
                raise NotFound()  # no id of ours looks like that (and DynamoDB would refuse such a key)
            arguments: dict[str, Any] = dict(path_params)
            if auth in ("customer", "admin"):
                principal = principal_from_authorizer(request)
                if auth == "admin":
                    staff = principal if principal.staff_role else None
                    if not principal.roles & set(allowed):
                        raise Forbidden(f"This needs the role {' or '.join(allowed)}")
                arguments["principal"] = principal
            elif auth == "optional":
                arguments["principal"] = optional_principal(request)
            if query is not None:
                arguments["query"] = parse_query(request, query)
            if body is not None:
                arguments["body"] = parse_body(request, body)
            arguments["request"] = request
            arguments.update({name: deps.resolve(name) for name in handed})
            result = view(**{name: value for name, value in arguments.items() if name in wanted})
            response = _response(result, status)
        except DomainError as error:
            if error.status >= 500:
                logger.exception("request failed", extra={"code": error.code})
            response = error_response(error, request)
        if staff is not None and request.method != "GET":
            _audit(staff, request, f"{request.method} {template}", path_params, result, response.status_code)
        return response

    return handle


def _response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if status == 204:
        return Response(body="", status_code=204, headers={})
    return json_response(result, status=status)


def _audit(staff: Principal, request: Any, action: str, path_params: dict[str, str], result: Any, status: int) -> None:
    """Record a staff write (the composition root hands over where: `audit_trail`); the target is the id in the path,
    else the id the write created. The write is already done: a failure to record it is logged whole, never raised."""
    target = next(iter(path_params.values()), None)
    if target is None and isinstance(result, dict):
        target = next((str(v) for k, v in result.items() if k.endswith("_id") and isinstance(v, str)), None)
    entry = {
        "actor": {"user_id": staff.user_id, "username": staff.username, "role": staff.staff_role},
        "action": action,
        "target": target,
        "request_id": request_id_of(request),
        "status": status,
    }
    try:
        deps.resolve("audit_trail").record(entry)
    except Exception:
        logger.exception("audit entry not recorded", extra={"audit_entry": entry})
