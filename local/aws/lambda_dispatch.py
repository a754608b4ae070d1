"""Runs moto Lambda invocations as the in-process Chalice function of the same name."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.local import LambdaContext
from moto.awslambda_simple.models import LambdaSimpleBackend

from local.aws.moto_server import apply_moto_workarounds, outside_moto_lock

logger = logging.getLogger(__name__)

STATE_MACHINES = Path(__file__).resolve().parents[2] / "infra" / "statemachines"
# Lambda's default timeout for a Chalice function; only feeds context.get_remaining_time_in_millis().
DEFAULT_TIMEOUT_MS = 60_000

_original_invoke = LambdaSimpleBackend.invoke
_installed: tuple[Chalice, str] | None = None


def deployed_name(stage: str, function_name: str) -> str:
    """The Lambda function name Chalice deploys a handler as."""
    return f"shop-{stage}-{function_name}"


def install(app: Chalice, stage: str) -> None:
    """Make moto's Docker-less Lambda run `app`'s handlers (`shop-<stage>-<name>` -> handler `<name>`)."""
    global _installed
    apply_moto_workarounds()
    _installed = (app, stage)
    LambdaSimpleBackend.invoke = _dispatching_invoke  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own echoing Lambda."""
    global _installed
    _installed = None
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]


def chalice_handler_name(app: Chalice, stage: str, function_name: str) -> str | None:
    """The Chalice handler a deployed function name stands for, or None if it is not one of this app's."""
    if function_name == f"shop-{stage}":
        return ""  # the API handler: the app object itself
    prefix = deployed_name(stage, "")
    if not function_name.startswith(prefix):
        return None
    name = function_name[len(prefix) :]
    return name if name in app.handler_map else None


def invoke_chalice_function(
    app: Chalice,
    handler_name: str,
    event: Any,
    *,
    function_name: str,
    function_arn: str = "",
) -> tuple[bytes, bool]:
    """Call one handler as Lambda would; returns (payload, whether it is a function error)."""
    context = LambdaContext(function_name, memory_size=128, max_runtime_ms=DEFAULT_TIMEOUT_MS)
    context.invoked_function_arn = function_arn
    handler = app.handler_map[handler_name] if handler_name else app
    try:
        result = handler(event, context)
    except Exception as error:  # any exception is a Lambda function error, as in the Python runtime
        if type(error).__name__ in caught_by_name():  # a designed answer to a state machine, not a failure
            logger.info("Lambda function %s answered %s: %s", function_name, type(error).__name__, error)
        else:
            logger.exception("Lambda function %s failed", function_name)
        return _error_payload(error), True
    try:
        return json.dumps(result).encode("utf-8"), False
    except (TypeError, ValueError) as error:
        return _error_payload(error, error_type="Runtime.MarshalError"), True


@lru_cache(maxsize=1)
def caught_by_name() -> frozenset[str]:
    """The error names the state machines catch by name to choose their next state (e.g. OrderMovedOn): a task
    raising one tells the execution where to go; States.* and errors only retried are left out."""
    names: set[str] = set()
    for path in sorted(STATE_MACHINES.glob("*.asl.json")):
        for catcher in _catchers(json.loads(path.read_text(encoding="utf-8"))):
            names.update(str(name) for name in catcher.get("ErrorEquals", ()) if not str(name).startswith("States."))
    return frozenset(names)


def _catchers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Catch" and isinstance(value, list):
                yield from (catcher for catcher in value if isinstance(catcher, dict))
            else:
                yield from _catchers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _catchers(item)


def _error_payload(error: BaseException, error_type: str | None = None) -> bytes:
    """The payload Lambda's Python runtime returns for an unhandled exception."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": error_type or type(error).__name__,
            "requestId": "",
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    ).encode("utf-8")


def _decode_event(body: Any) -> Any:
    if body in (None, "", b""):
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body)
    except ValueError:
        return body


def _header(headers: Any, name: str) -> str | None:
    """One request header, whatever the case of its name (moto hands over several header types)."""
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _dispatching_invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes | None:
    installed = _installed
    fn = self.get_function(function_name, qualifier)  # unknown names fail as Lambda's 404
    handler_name = chalice_handler_name(installed[0], installed[1], fn.function_name) if installed else None
    if installed is None or handler_name is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    app = installed[0]
    event = _decode_event(body)
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        threading.Thread(
            target=invoke_chalice_function,
            args=(app, handler_name, event),
            kwargs={"function_name": fn.function_name, "function_arn": fn.function_arn},
            name=f"lambda-event-{fn.function_name}",
            daemon=True,
        ).start()
        return b""
    with outside_moto_lock():
        payload, failed = invoke_chalice_function(
            app,
            handler_name,
            event,
            function_name=fn.function_name,
            function_arn=fn.function_arn,
        )
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["Content-Length"] = str(len(payload))
    return payload
