"""The one powertools Logger / Metrics, a lazily built Tracer, and the middleware that wires them per invocation."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from chalicelib.config import current_stage

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "shop"))
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Shop"),
    service=os.environ.get("POWERTOOLS_SERVICE_NAME", "shop"),
)


def tracing_enabled() -> bool:
    flag = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower()
    return flag not in ("1", "true") and current_stage() != "local"


@cache
def tracer() -> Any:
    """Built on first use: importing the X-Ray SDK costs ~0.15 s of cold start, so only where tracing is on."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "shop"))


_ENDING: list[Callable[[], object]] = []
_INVOCATION: dict[str, Any] = {"depth": 0, "context": None}


def at_invocation_end(hook: Callable[[], object]) -> None:
    """Run `hook` at the end of every invocation, after the response is built (the analytics emitter's flush)."""
    if hook not in _ENDING:
        _ENDING.append(hook)


def in_invocation() -> bool:
    """Whether a Lambda invocation (through the app's middleware) is running in this process now."""
    return bool(_INVOCATION["depth"])


def invocation_context() -> Any:
    """The running invocation's Lambda context (get_remaining_time_in_millis), or None."""
    return _INVOCATION["context"]


def observe_invocation(event: Any, get_response: Any) -> Any:
    """Chalice 'all' middleware: correlation id, an X-Ray subsegment when tracing is on, metrics flushed at the end,
    then the at_invocation_end hooks."""
    request_id = _request_id_of(event)
    if request_id:
        logger.set_correlation_id(request_id)
    _INVOCATION["depth"] += 1
    if _INVOCATION["depth"] == 1:
        candidates = (getattr(event, "lambda_context", None), getattr(event, "context", None))
        _INVOCATION["context"] = next((c for c in candidates if hasattr(c, "get_remaining_time_in_millis")), None)
    try:
        if tracing_enabled():
            with tracer().provider.in_subsegment(f"## {type(event).__name__}"):
                return get_response(event)
        return get_response(event)
    finally:
        _INVOCATION["depth"] -= 1
        if not _INVOCATION["depth"]:
            _INVOCATION["context"] = None
            for hook in list(_ENDING):
                try:
                    hook()
                except Exception:  # a hook never fails the invocation it ends
                    logger.exception("an end-of-invocation hook failed")
        if metrics.metric_set:  # flushing nothing only logs a warning on every request
            metrics.flush_metrics()  # printed for CloudWatch, unless POWERTOOLS_METRICS_DISABLED (the local console)
            # Disabled, flush keeps them, and powertools prints the set anyway once a metric has 100 values.
            metrics.clear_metrics()


def _request_id_of(event: Any) -> str | None:
    context = getattr(event, "context", None)
    if isinstance(context, dict) and context.get("requestId"):
        return str(context["requestId"])
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    return getattr(lambda_context, "aws_request_id", None)
