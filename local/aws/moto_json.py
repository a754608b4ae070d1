"""DynamoDB's data-plane answers from moto as plain JSON, without moto's shape-walking serializer.

moto 5.2 serializes every answer by walking botocore's output shape member by member (moto.core.serialize): for
DynamoDB's reads and writes that walk is most of moto's time (three quarters of it on a cart view of five lines), and
so of the local server's and the tests' time. DynamoDB speaks JSON, and what moto's DynamoDB handler builds for these
operations is already the answer in DynamoDB's wire shape (items as {name: {type: value}}): json.dumps of its
output shape's members, with binary values in base64, reads back in botocore as the serializer's answer does.
`tests/functional/test_moto_json.py` checks both give the same answers for every operation here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from moto.core.responses import ActionContext, ActionResult

# The operations whose answers are items, keys and counts only (their errors still go through moto's serializer).
FAST_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
CONTENT_TYPE = "application/x-amz-json-1.0"

_shape_walking_execute_result = ActionResult.execute_result


def _encoded(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def answer_as_json(result: dict[str, Any], members: Any) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a DynamoDB data-plane operation's successful result, with the members of its
    output shape that it has (DeleteItem's result also holds a ConsumedCapacityUnits that the answer has not).
    Deeper down a None is written as null, which botocore reads as an absent member, as it reads the serializer's
    answer that leaves it out."""
    answer = {name: value for name, value in result.items() if value is not None and name in members}
    return 200, {"Content-Type": CONTENT_TYPE}, json.dumps(answer, default=_encoded, separators=(",", ":"))


def _execute_result(self: ActionResult, context: ActionContext) -> Any:
    operation = context.operation_model
    if (
        operation.name in FAST_OPERATIONS
        and operation.service_model.service_name == "dynamodb"
        and isinstance(self.result, dict)
    ):
        return answer_as_json(self.result, operation.output_shape.members)
    return _shape_walking_execute_result(self, context)


def install() -> None:
    """Answer DynamoDB's data-plane operations as plain JSON from now on (idempotent)."""
    ActionResult.execute_result = _execute_result  # type: ignore[method-assign]


@contextmanager
def shape_walking() -> Iterator[None]:
    """moto's own serializer for everything meanwhile (the tests compare both answers)."""
    installed = ActionResult.execute_result
    ActionResult.execute_result = _shape_walking_execute_result  # type: ignore[method-assign]
    try:
        yield
    finally:
        ActionResult.execute_result = installed  # type: ignore[method-assign]
