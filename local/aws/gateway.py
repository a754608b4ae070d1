"""The local stand-in for API Gateway: chalice.local plus the contract's gateway responses."""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LambdaContext,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)

from chalicelib import cors
from chalicelib.config import get_settings

GATEWAY_RESPONSES = Path(__file__).resolve().parents[2] / "infra" / "gateway_responses.json"


@lru_cache(maxsize=1)
def gateway_responses() -> dict[str, dict[str, Any]]:
    """The gateway response templates that infra/package.py also puts on the deployed REST API."""
    return json.loads(GATEWAY_RESPONSES.read_text(encoding="utf-8"))["responses"]


def response_type_for(error: LocalGatewayException) -> str:
    """Which API Gateway response type a chalice.local gateway error corresponds to."""
    body = (error.body or b"").decode("utf-8", "replace")
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        if "Missing Authentication Token" in body or "Authorization header requires" in body:
            return "MISSING_AUTHENTICATION_TOKEN"
        return "ACCESS_DENIED"
    return "AUTHORIZER_CONFIGURATION_ERROR"


def render_gateway_response(response_type: str, request_id: str, origin: str | None = None) -> dict[str, Any]:
    """A Lambda-proxy-shaped response for one gateway response type, as API Gateway renders it (with the CORS headers
    infra/package.py puts on the deployed gateway responses, for the stage's allow-list)."""
    spec = gateway_responses()[response_type]
    status = spec["status"] or (500 if response_type.endswith("5XX") else 400)
    body = {"code": spec["code"], "message": spec["message"], "request_id": request_id}
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "X-Request-Id": request_id}
    for name, value in cors.gateway_response_headers(get_settings().cors_allowed_origins).items():
        if value.startswith("'"):
            headers[name] = value.strip("'")
        elif origin:  # method.request.header.Origin
            headers[name] = origin
    return {"statusCode": status, "headers": headers, "multiValueHeaders": {}, "body": json.dumps(body)}


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


class _ContractAuthorizer(LocalGatewayAuthorizer):
    """Runs the app's authorizer; an authorizer that fails with "Unauthorized" means 401, as in API Gateway."""

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: LambdaContext) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except LocalGatewayException:
            raise
        except Exception as exc:  # API Gateway maps an authorizer's "Unauthorized" failure to 401
            headers = {"x-amzn-RequestId": lambda_context.aws_request_id}
            if str(exc) == "Unauthorized":
                raise NotAuthorizedError(headers, b"") from exc
            raise LocalGatewayException(headers, b"") from exc


class ContractLocalGateway(LocalGateway):
    """chalice.local's gateway with request ids in the event and contract-shaped gateway errors."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._authorizer = _ContractAuthorizer(app_object)
        self._request_id = ""

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        event = super()._generate_lambda_event(method, path, headers, body)
        event["requestContext"].setdefault("requestId", self._request_id or str(uuid.uuid4()))
        event["requestContext"].setdefault("stage", "api")
        return event

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        # One id per request (a handler serves its connection's requests one at a time), on every answer: the app's
        # own, a gateway error, and what chalice.local answers without the app (CORS preflights).
        self._request_id = str(uuid.uuid4())
        try:
            response = self._route(method, path, headers, body)
        except LocalGatewayException as error:
            request_id = error.headers.get("x-amzn-RequestId") or self._request_id
            return render_gateway_response(response_type_for(error), request_id, _header(headers, "origin"))
        response.setdefault("headers", {})
        if not any(name.lower() == "x-request-id" for name in response["headers"]):
            response["headers"]["X-Request-Id"] = self._request_id
        return response

    def _route(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        """As deployed (infra/package.py): a path's own methods go through their authorizer; any other method of a
        known path (OPTIONS preflights, TRACE, ...) reaches the API function unauthorized, which answers preflights
        and 405s itself. chalice.local would answer OPTIONS with its own CORS headers instead."""
        lambda_context = self._generate_lambda_context()
        try:
            lambda_event = self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            return super().handle_request(method, path, headers, body)  # no such path: the gateway's own 404
        if method in self._app_object.routes[lambda_event["requestContext"]["resourcePath"]]:
            return super().handle_request(method, path, headers, body)
        return self._app_object(lambda_event, lambda_context)


class _ContractRequestHandler(ChaliceRequestHandler):
    def __init__(
        self,
        request: Any,
        client_address: Any,
        server: Any,
        app_object: Chalice,
        config: Config,
    ) -> None:
        self.local_gateway = ContractLocalGateway(app_object, config)
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        """Access lines go through the app's logger, not stderr."""

    def __getattr__(self, name: str) -> Any:
        """`do_TRACE`, `do_CONNECT`, any method: http.server would answer 501 with an HTML page; API Gateway passes
        them on to the function, which answers 405 with the error contract's body."""
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._generic_handle
        raise AttributeError(name)

    def _serve_static_or_api(self) -> None:
        """The browser clients' files (the local CDN, local/aws/static_sites.py) first, then the API."""
        sites = getattr(self.server, "static_sites", None)
        if sites:
            from local.aws.static_sites import answer

            encodings, media = self.headers.get("Accept-Encoding", ""), getattr(self.server, "static_media", ())
            static = answer(sites, self.command, self.path, encodings, media)
            if static is not None:
                self.send_response(static.status)
                for name, value in static.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(static.body)
                return
        self._generic_handle()

    do_GET = do_HEAD = _serve_static_or_api


def local_config(stage: str = "local") -> Config:
    """The chalice Config the local server and the test client run the app with."""
    return Config(chalice_stage=stage)


def make_local_server(
    app: Chalice,
    host: str,
    port: int,
    stage: str = "local",
    static_sites: list[Any] | None = None,
    media: list[Any] | None = None,
) -> LocalDevServer:
    """An HTTP server for `app` that behaves like the deployed API Gateway (call serve_forever / shutdown).

    Port 0 binds a free port: read it from `server.server.server_address`. `static_sites` (local/aws/static_sites.py)
    are the browser clients served beside the API, as the CDN serves them beside the deployed API, and `media` the
    pictures drawn beside them (served with the clients).
    """
    if not isinstance(app, LocalChalice):
        # What chalice.local.create_local_server does: make current_request thread-local for the threaded server.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    server = LocalDevServer(
        app, local_config(stage), host, port, handler_cls=_ContractRequestHandler, server_cls=_ShopHTTPServer
    )
    server.server.static_sites = static_sites or []  # type: ignore[attr-defined]
    server.server.static_media = media or []  # type: ignore[attr-defined]
    return server


class _ShopHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded server with a listen backlog for bursts: socketserver's default of 5 pending connections
    resets clients when a dozen buyers connect at once (seen in the e2e race of 16 buyers on a loaded machine)."""

    request_queue_size = 128
    daemon_threads = True
