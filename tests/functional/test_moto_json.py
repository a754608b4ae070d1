"""The local runtime's DynamoDB answers its reads and writes as plain JSON (local.aws.moto_json): the same answers,
parsed by boto3, as moto's own shape-walking serializer gives, for every operation it answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.aws import moto_json
from local.aws.moto_server import apply_moto_workarounds

TABLE = "moto-json"
ITEM = {
    "pk": {"S": "USER#1"},
    "sk": {"S": "CART#p_1-01"},
    "quantity": {"N": "3"},
    "price": {"N": "1999.5"},
    "selected": {"BOOL": True},
    "gone": {"NULL": True},
    "photo": {"B": b"\x89PNG\x00\xff"},
    "photos": {"BS": [b"\x00", b"\x01"]},
    "tags": {"SS": ["红色", "XL"]},
    "sizes": {"NS": ["1", "2.5"]},
    "attributes": {"M": {"颜色": {"S": "黑"}, "n": {"N": "7"}, "deep": {"L": [{"S": "a"}, {"M": {"b": {"B": b"b"}}}]}}},
    "history": {"L": [{"N": "1"}, {"S": "two"}, {"BOOL": False}]},
}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    apply_moto_workarounds()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(5):
            client.put_item(TableName=TABLE, Item={**ITEM, "sk": {"S": f"CART#p_{n}-01"}})
        yield client


def both(call: Callable[[], Any]) -> tuple[Any, Any]:
    """The answer as the runtime gives it, and as moto's own serializer gives it (ResponseMetadata left out)."""
    fast = call()
    with moto_json.shape_walking():
        walked = call()
    fast.pop("ResponseMetadata", None)
    walked.pop("ResponseMetadata", None)
    return fast, walked


KEY = {"pk": {"S": "USER#1"}, "sk": {"S": "CART#p_1-01"}}
OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "GetItem": lambda c: c.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True),
    "GetItem, absent": lambda c: c.get_item(TableName=TABLE, Key={**KEY, "sk": {"S": "nothing"}}),
    "GetItem, projected": lambda c: c.get_item(
        TableName=TABLE,
        Key=KEY,
        ProjectionExpression="#a.#c, photo",
        ExpressionAttributeNames={"#a": "attributes", "#c": "颜色"},
    ),
    "PutItem, ALL_OLD": lambda c: c.put_item(
        TableName=TABLE, Item={**ITEM, "sk": {"S": "CART#p_1-01"}}, ReturnValues="ALL_OLD"
    ),
    "UpdateItem, ALL_NEW": lambda c: c.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET quantity = :q",
        ExpressionAttributeValues={":q": {"N": "3"}},
        ReturnValues="ALL_NEW",
        ReturnConsumedCapacity="TOTAL",
    ),
    "UpdateItem, UPDATED_OLD": lambda c: c.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET selected = :s",
        ExpressionAttributeValues={":s": {"BOOL": True}},
        ReturnValues="UPDATED_OLD",
    ),
    "UpdateItem, nothing back": lambda c: c.update_item(
        TableName=TABLE, Key=KEY, UpdateExpression="SET quantity = :q", ExpressionAttributeValues={":q": {"N": "3"}}
    ),
    "DeleteItem": lambda c: c.delete_item(
        TableName=TABLE, Key={**KEY, "sk": {"S": "nothing"}}, ReturnConsumedCapacity="TOTAL"
    ),
    "Query, a page": lambda c: c.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "USER#1"}},
        Limit=2,
        ExclusiveStartKey={"pk": {"S": "USER#1"}, "sk": {"S": "CART#p_0-01"}},
        ReturnConsumedCapacity="TOTAL",
    ),
    "Query, counted": lambda c: c.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "USER#1"}},
        Select="COUNT",
    ),
    "Scan": lambda c: c.scan(TableName=TABLE, Limit=3),
    "BatchGetItem": lambda c: c.batch_get_item(
        RequestItems={TABLE: {"Keys": [KEY, {**KEY, "sk": {"S": "CART#p_3-01"}}, {**KEY, "sk": {"S": "none"}}]}}
    ),
    "BatchWriteItem": lambda c: c.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": {**ITEM, "sk": {"S": "CART#p_9-01"}}}}]}
    ),
    "TransactGetItems": lambda c: c.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": TABLE, "Key": KEY}},
            {"Get": {"TableName": TABLE, "Key": {**KEY, "sk": {"S": "x"}}}},
        ]
    ),
    "TransactWriteItems": lambda c: c.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": KEY,
                    "UpdateExpression": "SET quantity = :q",
                    "ExpressionAttributeValues": {":q": {"N": "3"}},
                }
            }
        ]
    ),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_read_and_write_answers_what_motos_own_serializer_answers(dynamodb: Any, operation: str) -> None:
    # GIVEN items with every kind of value (binary, sets, nested maps and lists, NULL)
    # WHEN the operation answers through the runtime's JSON and through moto's serializer
    fast, walked = both(lambda: OPERATIONS[operation](dynamodb))

    # THEN boto3 reads the same answer from both
    assert fast == walked


def test_errors_still_come_from_motos_serializer_with_their_codes_and_old_items(dynamodb: Any) -> None:
    # GIVEN a condition that fails WHEN the write is sent
    with pytest.raises(ClientError) as refused:
        dynamodb.update_item(
            TableName=TABLE,
            Key=KEY,
            UpdateExpression="SET quantity = :q",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":q": {"N": "4"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    # THEN the error names its code and carries the item as it was
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert refused.value.response["Item"]["photo"] == {"B": b"\x89PNG\x00\xff"}
