"""Every `errors[].message` the request schemas can produce is a plain sentence: no framework prefix such as
`Value error, `, a capital first, a full stop last. Walks every body and query model of every route with bad
values (recursing into nested models) and every message the schemas' own validators raise."""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

import app  # declares every route, so OPERATIONS lists every request model
from chalicelib.http import _field_errors, field_message, sentence
from chalicelib.routes import OPERATIONS

BAD_VALUES: list[Any] = [None, "", " ", "x" * 5000, -1, 0, 10**13, 1.5, True, [], {}, [{}], "不是日期", "２", "a\x00b",
                         "2026-13-45T99:00:00Z", "https://", {"nested": {"deeper": 1}}]  # fmt: skip
PLAIN = re.compile(r"[A-Z0-9¥].*[.!?]", re.DOTALL)
FRAMEWORK_WORDS = ("Value error", "Assertion failed", "validation error", "pydantic", "errors.pydantic.dev",
                   "instance of")  # fmt: skip
SCHEMA_FILES = sorted(Path(app.__file__).parent.joinpath("chalicelib").rglob("schemas.py"))


def request_models() -> list[type[pydantic.BaseModel]]:
    models = {model for op in OPERATIONS for model in (op.body, op.query) if model is not None}
    return sorted(models, key=lambda model: f"{model.__module__}.{model.__qualname__}")


def nested_models(annotation: Any) -> Iterator[type[pydantic.BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from nested_models(argument)


def bad_payloads(model: type[pydantic.BaseModel], depth: int = 0) -> Iterator[Any]:
    """Bodies that break the model's rules one field at a time, then nested models' fields inside lists and maps."""
    yield {}
    yield {"not_a_field": 1}
    yield [1]
    yield "text"
    for name, field in model.model_fields.items():
        key = field.alias or name
        for value in BAD_VALUES:
            yield {key: value}
        if depth < 2:
            for inner in nested_models(field.annotation):
                for payload in bad_payloads(inner, depth + 1):
                    yield {key: payload}
                    yield {key: [payload]}


def messages_of(model: type[pydantic.BaseModel]) -> Iterator[tuple[Any, str]]:
    for payload in bad_payloads(model):
        try:
            model.model_validate(payload)
        except pydantic.ValidationError as error:
            for entry in _field_errors(error):
                yield payload, entry["message"]


def is_plain(message: str) -> bool:
    return bool(PLAIN.fullmatch(message)) and not any(word in message for word in FRAMEWORK_WORDS)


@pytest.mark.parametrize("model", request_models(), ids=lambda model: model.__qualname__)
def test_every_field_message_a_request_model_produces_is_a_plain_sentence(model: type[pydantic.BaseModel]) -> None:
    seen = list(messages_of(model))

    assert seen, f"{model.__qualname__} refused nothing"
    offending = [(payload, message) for payload, message in seen if not is_plain(message)]
    assert offending == [], offending[:5]


def validator_messages(path: Path) -> Iterator[tuple[int, str]]:
    """The text of every ValueError / AssertionError a schema module raises (f-strings: their literal parts)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            name = getattr(node.exc.func, "id", "")
            argument = node.exc.args[0]
            if name in ("ValueError", "AssertionError"):
                if isinstance(argument, ast.Constant):
                    yield node.lineno, str(argument.value)
                elif isinstance(argument, ast.JoinedStr):
                    yield (
                        node.lineno,
                        "".join(str(v.value) if isinstance(v, ast.Constant) else "X" for v in argument.values),
                    )


def test_every_message_a_schema_validator_raises_reads_as_a_sentence_once_mapped() -> None:
    raised = [(path.name, line, text) for path in SCHEMA_FILES for line, text in validator_messages(path)]
    mapped = {(name, line): field_message({"type": "value_error", "msg": f"Value error, {text}"})
              for name, line, text in raised}  # fmt: skip

    assert len(raised) >= 20  # the walk found the validators
    assert [(where, text) for (name, line, text) in raised if not text[:1].isupper()
            for where in [(name, line)]] == []  # fmt: skip
    assert [message for message in mapped.values() if not is_plain(message)] == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            {"type": "value_error", "msg": "Value error, give either items or from_cart: true"},
            "Give either items or from_cart: true.",
        ),
        ({"type": "assertion_error", "msg": "Assertion failed, Tiers must ascend"}, "Tiers must ascend."),
        ({"type": "missing", "msg": "Field required"}, "This field is required."),
        (
            {"type": "extra_forbidden", "msg": "Extra inputs are not permitted"},
            "This field is not accepted here: leave it out.",
        ),
        (
            {
                "type": "string_pattern_mismatch",
                "msg": "String should match pattern '^\\d{6}$'",
                "ctx": {"pattern": "^\\d{6}$"},
            },
            "Must match the pattern ^\\d{6}$.",
        ),
        ({"type": "int_parsing", "msg": "Input should be a valid integer"}, "Input should be a valid integer."),
        (
            {"type": "too_short", "msg": "List should have at least 1 item after validation, not 0"},
            "List should have at least 1 item after validation, not 0.",
        ),
    ],
    ids=lambda value: value["type"] if isinstance(value, dict) else "",
)
def test_pydantic_errors_map_to_plain_sentences_without_the_framework_prefix(
    error: dict[str, Any], message: str
) -> None:
    assert field_message(error) == message


def test_a_sentence_gets_its_capital_and_full_stop_once() -> None:
    assert sentence(" must be after valid_from ") == "Must be after valid_from."
    assert sentence("Done!") == "Done!"


def test_a_model_validators_message_reaches_the_client_without_the_prefix() -> None:
    from chalicelib.orders.schemas import OrderCreate

    with pytest.raises(pydantic.ValidationError) as refused:
        OrderCreate.model_validate({"address_id": "a_1"})

    assert _field_errors(refused.value) == [{"field": "(body)", "message": "Give either items or from_cart: true."}]
