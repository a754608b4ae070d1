"""The Chalice app whose blueprints are registered on first use: a request loads only the context of its route.

Importing every context's routes, services, repositories and schemas at cold start cost the API ~0.25 s, and one
invocation serves one route. So `import app` registers nothing yet: a request's resource path registers the
blueprint(s) that declare it, and a non-HTTP handler the blueprint that defines it, as the route table says
(chalicelib/route_table.py, written from the full registration by `python -m infra.route_table` and checked against
it by the suite). Anything that needs the whole app (iterating the route table, the event handlers, the OpenAPI
document, `chalice package`, the local gateway and the test client) registers every blueprint first, in the
declared order. A path or handler the table does not name is not the app's: nothing is registered for it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chalice import Chalice


class _RouteTable(dict[str, dict[str, Any]]):
    """Chalice's route table (path -> method -> RouteEntry) that registers a path's blueprints when it is read."""

    def __init__(self, app: LazyBlueprintChalice) -> None:
        super().__init__()
        self._app = app

    def __missing__(self, path: str) -> dict[str, Any]:
        if not self._app.registering:  # a lookup of a path no blueprint declares
            raise KeyError(path)
        methods: dict[str, Any] = {}  # chalice registers routes into a defaultdict(dict)
        self[path] = methods
        return methods

    def __getitem__(self, path: str) -> dict[str, Any]:
        self._app.register_blueprints_for(path)
        return super().__getitem__(path)

    def __contains__(self, path: object) -> bool:
        if isinstance(path, str):
            self._app.register_blueprints_for(path)
        return super().__contains__(path)

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return self[path]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        self._app.register_every_blueprint()
        return super().__iter__()

    def __len__(self) -> int:
        self._app.register_every_blueprint()
        return super().__len__()

    def keys(self) -> Any:
        self._app.register_every_blueprint()
        return super().keys()

    def values(self) -> Any:
        self._app.register_every_blueprint()
        return super().values()

    def items(self) -> Any:
        self._app.register_every_blueprint()
        return super().items()

    def __repr__(self) -> str:
        self._app.register_every_blueprint()
        return super().__repr__()


def _registry(name: str) -> property:
    """One of chalice's handler registries, complete (every blueprint registered) whenever it is read."""
    storage = f"_lazy_{name}"

    def read(app: LazyBlueprintChalice) -> Any:
        app.register_every_blueprint()
        return getattr(app, storage)

    def write(app: LazyBlueprintChalice, value: Any) -> None:
        setattr(app, storage, value)

    return property(read, write)


class LazyBlueprintChalice(Chalice):
    """A Chalice app given its blueprints as "module:attribute" names, registered when first needed."""

    handler_map = _registry("handler_map")
    event_sources = _registry("event_sources")
    pure_lambda_functions = _registry("pure_lambda_functions")
    builtin_auth_handlers = _registry("builtin_auth_handlers")
    websocket_handlers = _registry("websocket_handlers")

    def __init__(
        self,
        app_name: str,
        blueprints: Sequence[str],
        paths: Mapping[str, Sequence[str]],
        handlers: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._blueprints = tuple(blueprints)
        self._pending = list(blueprints)
        self._depth = 0  # > 0 while this thread registers a blueprint (chalice then reads and fills its registries)
        self._paths = paths
        self._handlers = handlers
        super().__init__(app_name=app_name, **kwargs)
        self.routes: dict[str, dict[str, Any]] = _RouteTable(self)

    @property
    def registering(self) -> bool:
        return self._depth > 0

    @property
    def every_blueprint_registered(self) -> bool:
        return not self._pending

    def register_every_blueprint(self) -> None:
        if not self._pending:
            return
        with self._lock:
            if self._depth:
                return
            for spec in list(self._pending):
                self._register(spec)

    def register_blueprints_for(self, path: str) -> None:
        """Register the blueprints that declare `path` (none when no blueprint does)."""
        if not self._pending:
            return
        with self._lock:
            if self._depth:
                return
            for spec in self._paths.get(path, ()):
                self._register(spec)

    def handler(self, name: str) -> Any:
        """The non-HTTP handler `name` (a lambda_function, event source or authorizer), registering only the blueprint
        that defines it (so a cold order task loads the orders context alone); KeyError for a name none defines."""
        if self._pending:
            with self._lock:
                if not self._depth and name in self._handlers:
                    self._register(self._handlers[name])
        handlers: dict[str, Any] = self.__dict__["_lazy_handler_map"]  # the registry as it is, without loading all
        return handlers[name]

    def _register(self, spec: str) -> None:
        if spec not in self._pending:
            return
        module_name, _, attribute = spec.partition(":")
        self._depth += 1
        try:
            blueprint = getattr(importlib.import_module(module_name), attribute)
            self.register_blueprint(blueprint)
        finally:
            self._depth -= 1
        self._pending.remove(spec)
