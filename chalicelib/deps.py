"""What routes and handlers are handed: the container the composition root (chalicelib.bootstrap) builds, by name.

A view or a handler names what it uses as a parameter (`shop: Shop`, `catalog: CatalogRepository`); the container
has an attribute of that name, built on first use. app.py says which container (`use`); tests build the same graph
with fakes and hand it over the same way.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint

# Parameters the platform passes a handler itself: the event (every handler) and the context (lambda_function).
PLATFORM_PARAMETERS = ("event", "context")

_containers: list[Callable[[], Any]] = []


class NoContainer(RuntimeError):
    """A route or handler ran before app.py (or a test) said which container hands out dependencies."""


def use(container: Callable[[], Any]) -> None:
    """Hand out dependencies from `container()` from now on (app.py: the production container of this process)."""
    _containers[:] = [container]


def resolve(name: str) -> Any:
    """The container's attribute `name` (built on first use)."""
    if not _containers:
        raise NoContainer(f"no container to hand out {name!r}: app.py calls chalicelib.deps.use")
    return getattr(_containers[0](), name)


def needed(function: Callable[..., Any], handed_otherwise: tuple[str, ...]) -> tuple[str, ...]:
    """The parameters of `function` the container hands out: all but the ones handed otherwise."""
    return tuple(name for name in inspect.signature(function).parameters if name not in handed_otherwise)


def inject(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler(event[, context], **dependencies)` as the platform calls it: `handler(event[, context])`."""
    wanted = needed(handler, PLATFORM_PARAMETERS)
    if not wanted:
        return handler

    @functools.wraps(handler)
    def with_dependencies(*platform_arguments: Any) -> Any:
        return handler(*platform_arguments, **{name: resolve(name) for name in wanted})

    # chalice reads a handler's signature nowhere, but keep the platform's view of it honest
    with_dependencies.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p for p in inspect.signature(handler).parameters.values() if p.name in PLATFORM_PARAMETERS]
    )
    return with_dependencies


class Handlers(Blueprint):
    """A blueprint of non-HTTP handlers (queue and stream consumers, schedules, the order's Step Functions tasks)
    whose parameters beyond `event` and `context` are handed over by the container."""

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self.handlers: list[Callable[..., Any]] = []  # every handler declared here, as written

    def _wrap_handler(self, handler_type: str, handler_name: str, user_handler: Any) -> Any:
        self.handlers.append(user_handler)
        return super()._wrap_handler(handler_type, handler_name, inject(user_handler))
