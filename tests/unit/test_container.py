"""The composition root hands every route and handler what its signature names, of the type it names."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import typing
from functools import cached_property
from pathlib import Path
from typing import Any

from app import BLUEPRINTS
from chalicelib.bootstrap import Container
from chalicelib.config import Settings
from chalicelib.deps import PLATFORM_PARAMETERS, Handlers
from chalicelib.routes import FROM_REQUEST, Routes


def container_types() -> dict[str, Any]:
    """Each attribute of a Container (and of the parts it inherits) and its type, with the names each module imports
    only for type checking."""
    types: dict[str, Any] = {"settings": Settings}
    for part in reversed(Container.__mro__[:-1]):
        module = sys.modules[part.__module__]
        namespace = dict(vars(module))
        for node in ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8")).body:
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                exec(compile(ast.Module(body=node.body, type_ignores=[]), part.__module__, "exec"), namespace)  # noqa: S102
        for name, member in vars(part).items():
            getter = member.func if isinstance(member, cached_property) else getattr(member, "fget", None)
            if getter is not None:
                types[name] = typing.get_type_hints(getter, globalns=namespace)["return"]
    return types


def handed_parameters() -> list[tuple[str, str, Any]]:
    """(where, name, annotated type) of every parameter the container hands to a view or a handler."""
    found = []
    for spec in BLUEPRINTS:
        module, _, attribute = spec.partition(":")
        blueprint = getattr(importlib.import_module(module), attribute)
        functions: list[tuple[Any, tuple[str, ...]]] = []
        if isinstance(blueprint, Routes):
            for path, view in blueprint.views:
                from_path = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
                functions.append((view, FROM_REQUEST + from_path))
        if isinstance(blueprint, Handlers):
            functions += [(handler, PLATFORM_PARAMETERS) for handler in blueprint.handlers]
        for function, otherwise in functions:
            hints = typing.get_type_hints(function)
            for name in inspect.signature(function).parameters:
                if name not in otherwise:
                    found.append((f"{module}.{function.__name__}", name, hints.get(name)))
    return found


def test_every_parameter_a_route_or_handler_names_is_handed_by_the_container_with_its_type() -> None:
    types = container_types()
    handed = handed_parameters()

    assert len(handed) > 100
    for where, name, annotated in handed:
        assert name in types, f"{where} names {name!r}, which the container does not hand out"
        assert annotated == types[name], f"{where} takes {name}: {annotated}, the container hands {types[name]}"


def test_a_container_built_for_a_test_takes_fakes_and_builds_nothing_else() -> None:
    fake_catalog = object()
    built = Container(Settings.from_env({"SHOP_STAGE": "local"}), catalog=fake_catalog)

    assert built.catalog is fake_catalog
    assert "cart" not in vars(built)  # nothing is built before it is asked for
