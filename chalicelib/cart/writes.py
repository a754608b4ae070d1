"""The cart's hot writes (add, update, remove) as DynamoDB requests written out, on the hot paths' client
(aws.lean_client): the items and conditions are the cart models' (chalicelib.cart.models), built here without
pynamodb's expression objects, which cost about a fifth of each call. Only the cart's repository uses this module."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws import lean_client
from chalicelib.cart.domain import CartFull, GuestCartGone
from chalicelib.cart.models import ACCOUNTS_TABLE, CART_COUNTER_SK, CART_LINE_PREFIX
from chalicelib.dynamo import cancelled_codes
from chalicelib.errors import ChangedMeanwhile

Line = dict[str, Any]
LINE_FIELDS = ("sku_id", "quantity", "selected", "added_at", "title", "attributes")


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _value(name: str, value: Any) -> dict[str, Any]:
    """A line attribute's DynamoDB value (as CartLineModel stores it)."""
    if name in ("quantity", "expires_at"):
        return {"N": str(int(value))}
    if name == "selected":
        return {"BOOL": bool(value)}
    if name == "attributes":
        return {"M": {str(key): {"S": str(each)} for key, each in (value or {}).items()}}
    return {"S": "" if value is None else str(value)}


def _update(pk: str, sk: str, values: dict[str, Any], condition: str | None, **extra: Any) -> dict[str, Any]:
    """An Update of these attributes (name -> DynamoDB value; names and values as `#name`, `:name`), on condition."""
    request: dict[str, Any] = {
        "TableName": ACCOUNTS_TABLE,
        "Key": _key(pk, sk),
        "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in values),
        "ExpressionAttributeNames": {f"#{name}": name for name in values},
        "ExpressionAttributeValues": {f":{name}": value for name, value in values.items()},
    }
    if condition:
        request["ConditionExpression"] = condition
    for name, value in extra.items():
        if name.startswith(":"):
            request["ExpressionAttributeValues"][name] = value
        else:
            request["ExpressionAttributeNames"][name] = value
    return request


def set_quantity(pk: str, line: Line, was: int) -> None:
    """More of a line the head lists: its quantity and selection only (its other attributes are what they were), on
    condition that its quantity is still `was` (else ChangedMeanwhile). One UpdateItem."""
    values = {"quantity": _value("quantity", line["quantity"]), "selected": _value("selected", line["selected"])}
    request = _update(
        pk, f"{CART_LINE_PREFIX}{line['sku_id']}", values, "#quantity = :was", **{":was": _value("quantity", was)}
    )
    try:
        lean_client("dynamodb").update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise ChangedMeanwhile() from error
        raise


def put_line(
    pk: str, line: Line, was: int | None, max_lines: int, alive_at: int | None, expires_at: int | None
) -> None:
    """The line and the head in one TransactWriteItems (CartRepository.put_line says on which conditions)."""
    sku_id = line["sku_id"]
    values = {name: _value(name, line[name]) for name in LINE_FIELDS}
    if expires_at is not None:
        values["expires_at"] = _value("expires_at", expires_at)
    if was is None:  # a new line: the whole item, put (a smaller request than an update of each attribute)
        item = {**_key(pk, f"{CART_LINE_PREFIX}{sku_id}"), **values}
        line_write = {
            "Put": {"TableName": ACCOUNTS_TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        }
    else:
        line_write = {
            "Update": _update(
                pk, f"{CART_LINE_PREFIX}{sku_id}", values, "#quantity = :was", **{":was": _value("quantity", was)}
            )
        }
    head: dict[str, Any] = {
        "TableName": ACCOUNTS_TABLE,
        "Key": _key(pk, CART_COUNTER_SK),
        "UpdateExpression": "ADD #skus :sku",
        "ExpressionAttributeNames": {"#skus": "skus"},
        "ExpressionAttributeValues": {":sku": {"SS": [sku_id]}},
    }
    conditions = []
    if was is None:  # room for one more line, or the head lists it already
        conditions.append("(attribute_not_exists(#skus) OR size(#skus) <= :room OR contains(#skus, :sku_id))")
        head["ExpressionAttributeValues"].update({":room": {"N": str(max_lines - 1)}, ":sku_id": {"S": sku_id}})
    if alive_at is not None:
        conditions.append("#expires_at > :alive_at")
        head["ExpressionAttributeValues"][":alive_at"] = {"N": str(alive_at)}
    if expires_at is not None:
        head["UpdateExpression"] += " SET #expires_at = :expires_at"
        head["ExpressionAttributeValues"][":expires_at"] = {"N": str(expires_at)}
    if alive_at is not None or expires_at is not None:
        head["ExpressionAttributeNames"]["#expires_at"] = "expires_at"
    if conditions:
        head["ConditionExpression"] = " AND ".join(conditions)
    try:
        lean_client("dynamodb").transact_write_items(TransactItems=[line_write, {"Update": head}])
    except ClientError as error:
        line_changed, head_refused = [*cancelled_codes(error), False, False][:2]
        if head_refused and not line_changed:
            raise (GuestCartGone() if alive_at is not None and was is not None else CartFull()) from error
        raise ChangedMeanwhile() from error


def update_line(
    pk: str, sku_id: str, quantity: int | None, selected: bool | None, expires_at: int | None
) -> dict[str, Any] | None:
    """Set these of a line, on condition that it exists; its raw item as it is now (None: no such line)."""
    given = {"quantity": quantity, "selected": selected, "expires_at": expires_at}
    values = {name: _value(name, value) for name, value in given.items() if value is not None}
    request = _update(pk, f"{CART_LINE_PREFIX}{sku_id}", values, "attribute_exists(pk)")
    try:
        answer = lean_client("dynamodb").update_item(**request, ReturnValues="ALL_NEW")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    attributes: dict[str, Any] = answer["Attributes"]
    return attributes


def remove_lines(pk: str, sku_ids: list[str], alive_at: int | None, expires_at: int | None) -> None:
    """Delete these lines (absent ones are fine) and take them out of the head, in one TransactWriteItems (<= 99
    lines); a guest cart's head alive at alive_at (else GuestCartGone), its end moved to expires_at."""
    head: dict[str, Any] = {
        "TableName": ACCOUNTS_TABLE,
        "Key": _key(pk, CART_COUNTER_SK),
        "UpdateExpression": "DELETE #skus :skus",
        "ExpressionAttributeNames": {"#skus": "skus"},
        "ExpressionAttributeValues": {":skus": {"SS": list(sku_ids)}},
    }
    if expires_at is not None:
        head["UpdateExpression"] += " SET #expires_at = :expires_at"
        head["ExpressionAttributeValues"][":expires_at"] = {"N": str(expires_at)}
    if alive_at is not None:
        head["ConditionExpression"] = "#expires_at > :alive_at"
        head["ExpressionAttributeValues"][":alive_at"] = {"N": str(alive_at)}
    if alive_at is not None or expires_at is not None:
        head["ExpressionAttributeNames"]["#expires_at"] = "expires_at"
    deletes = [
        {"Delete": {"TableName": ACCOUNTS_TABLE, "Key": _key(pk, f"{CART_LINE_PREFIX}{sku_id}")}} for sku_id in sku_ids
    ]
    try:
        lean_client("dynamodb").transact_write_items(TransactItems=[*deletes, {"Update": head}])
    except ClientError as error:
        if alive_at is not None and any(cancelled_codes(error)):
            raise GuestCartGone() from error
        raise ChangedMeanwhile() from error


def add_quantity(pk: str, sku_id: str, quantity: int, max_quantity: int) -> tuple[dict[str, Any] | None, bool]:
    """More of a line that exists (selected again), without reading it first: one UpdateItem adding `quantity`, on
    condition that the line exists and stays within max_quantity. (its raw item as it is now, None) on success, else
    (None, whether the line exists: then it would go past max_quantity)."""
    request = _update(
        pk,
        f"{CART_LINE_PREFIX}{sku_id}",
        {"selected": _value("selected", True)},
        "attribute_exists(pk) AND #quantity <= :most",
        **{
            "#quantity": "quantity",
            ":add": _value("quantity", quantity),
            ":most": _value("quantity", max_quantity - quantity),
        },
    )
    request["UpdateExpression"] += " ADD #quantity :add"
    try:
        answer = lean_client("dynamodb").update_item(
            **request, ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None, bool(error.response.get("Item"))
        raise
    attributes: dict[str, Any] = answer["Attributes"]
    return attributes, True
