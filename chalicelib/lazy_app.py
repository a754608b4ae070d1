"""The Chalice app whose blueprints are registered on first use: a request loads only the context of its route.

Importing every context's routes, services, repositories and schemas at cold start cost the API ~0.25 s, and one
invocation serves one route. So `import app` registers nothing yet: a request's resource path registers the
blueprint(s) that declare it (found in their source by `@endpoint(<blueprint>, "<path>"`), and anything that needs
the whole app (iterating the route table, the event handlers, the OpenAPI document, `chalice package`, the local
gateway and the test client) registers every blueprint first, in the declared order. A path the source scan does not
find registers every blueprint, so the scan only ever saves time: it cannot make a route disappear.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chalice import Chalice

# `@endpoint(cart_api, "/cart/items/{sku_id}", ...)`: chalicelib.http.endpoint is the one way routes are declared.
_DECLARED_PATH = re.compile(r'@endpoint\(\s*(\w+)\s*,\s*"([^"]+)"')
# `def order_settle(` or `name="order_settle"`: where a handler may be defined (a superset; never too few).
_DEFINED_NAME = re.compile(r'(?:^def (\w+)\(|\bname="(\w+)")', re.MULTILINE)


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

    def __init__(self, app_name: str, blueprints: Sequence[str], **kwargs: Any) -> None:
        self._lock = threading.RLock()
        self._blueprints = tuple(blueprints)
        self._pending = list(blueprints)
        self._depth = 0  # > 0 while this thread registers a blueprint (chalice then reads and fills its registries)
        self._paths: dict[str, list[str]] | None = None
        self._handlers: dict[str, list[str]] | None = None
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
        """Register the blueprints that declare `path` (all of them if the source scan did not find it)."""
        if not self._pending:
            return
        with self._lock:
            if self._depth:
                return
            owners = self._declared_paths().get(path)
            for spec in owners if owners is not None else list(self._pending):
                self._register(spec)

    def handler(self, name: str) -> Any:
        """The non-HTTP handler `name` (a lambda_function, event source or authorizer), registering only the blueprint
        whose source defines it when the scan finds one (so a cold order task loads the orders context alone)."""
        if self._pending:
            with self._lock:
                if not self._depth:
                    owners = self._declared_handlers().get(name)
                    for spec in owners if owners is not None else list(self._pending):
                        self._register(spec)
        handlers: dict[str, Any] = self.__dict__["_lazy_handler_map"]  # the registry as it is, without loading all
        if name not in handlers:
            self.register_every_blueprint()
        return handlers[name]

    def _declared_handlers(self) -> dict[str, list[str]]:
        """Handler name -> the blueprints whose source defines a function or `name=` of that name (no import)."""
        if self._handlers is None:
            found: dict[str, list[str]] = {}
            for spec, source in self._sources():
                names = {name for groups in _DEFINED_NAME.findall(source) for name in groups if name}
                for name in names:
                    found.setdefault(name, []).append(spec)
            self._handlers = found
        return self._handlers

    def _sources(self) -> Iterator[tuple[str, str]]:
        for spec in self._blueprints:
            module_name = spec.partition(":")[0]
            found = importlib.util.find_spec(module_name)
            if found is not None and found.origin is not None:
                yield spec, Path(found.origin).read_text(encoding="utf-8")

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

    def _declared_paths(self) -> dict[str, list[str]]:
        """Path -> the blueprints declaring it, read from the blueprints' source (no import)."""
        if self._paths is None:
            paths: dict[str, list[str]] = {}
            for spec, source in self._sources():
                attribute = spec.partition(":")[2]
                for blueprint, path in _DECLARED_PATH.findall(source):
                    if blueprint == attribute and spec not in paths.setdefault(path, []):
                        paths[path].append(spec)
            self._paths = paths
        return self._paths
