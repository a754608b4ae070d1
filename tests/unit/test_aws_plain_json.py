"""The hot paths' DynamoDB client builds its requests and reads its answers as plain JSON, signs them with a quicker
SigV4 signer and resolves each operation's endpoint once: each must be exactly what botocore's own code makes of the
same parameters, answers, requests and operations."""

from __future__ import annotations

import json
from typing import Any

import botocore.auth
import botocore.parsers
import botocore.serialize
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chalicelib import aws

MODEL = botocore.session.get_session().get_service_model("dynamodb")
ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"
EVERY_TYPE = {
    "pk": {"S": "USER#u_1"},
    "sk": {"S": "CART#p_1-01"},
    "quantity": {"N": "3"},
    "selected": {"BOOL": True},
    "gone": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "sizes": {"NS": ["1", "2.5"]},
    "attributes": {"M": {"颜色": {"S": "黑"}, "nested": {"L": [{"N": "1"}, {"M": {"k": {"S": "v"}}}]}}},
}
KEY = {"pk": {"S": "USER#u_1"}, "sk": {"S": "CART#p_1-01"}}
REQUESTS: dict[str, dict[str, Any]] = {
    "GetItem": {"TableName": "t", "Key": KEY, "ProjectionExpression": "#q", "ExpressionAttributeNames": {"#q": "q"}},
    "PutItem": {"TableName": "t", "Item": EVERY_TYPE, "ConditionExpression": "attribute_not_exists(pk)"},
    "UpdateItem": {
        "TableName": "t", "Key": KEY, "UpdateExpression": "ADD #q :n", "ExpressionAttributeNames": {"#q": "quantity"},
        "ExpressionAttributeValues": {":n": {"N": "1"}, ":most": {"N": "998"}}, "ConditionExpression": "#q <= :most",
        "ReturnValues": "ALL_NEW", "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    },
    "DeleteItem": {"TableName": "t", "Key": KEY},
    "Query": {
        "TableName": "t", "KeyConditionExpression": "pk = :pk AND begins_with(sk, :cart)", "Limit": 100,
        "ExpressionAttributeValues": {":pk": {"S": "USER#u_1"}, ":cart": {"S": "CART"}}, "ScanIndexForward": False,
        "ExclusiveStartKey": KEY, "ConsistentRead": True,
    },
    "BatchGetItem": {"RequestItems": {"t": {"Keys": [KEY, KEY], "ProjectionExpression": "pk, sk"}}},
    "BatchWriteItem": {"RequestItems": {"t": [{"PutRequest": {"Item": EVERY_TYPE}}, {"DeleteRequest": {"Key": KEY}}]}},
    "TransactWriteItems": {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": EVERY_TYPE, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": "t", "Key": KEY, "UpdateExpression": "ADD #s :s",
                        "ConditionExpression": "#s <> :s",
                        "ExpressionAttributeNames": {"#s": "skus"}, "ExpressionAttributeValues": {":s": {"SS": ["x"]}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"ConditionCheck": {"TableName": "t", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}},
            {"Delete": {"TableName": "t", "Key": KEY}},
        ],
        "ClientRequestToken": "a1b2c3",
    },
    "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "t", "Key": KEY}}]},
}  # fmt: skip
ANSWERS: dict[str, dict[str, Any]] = {
    "GetItem": {"Item": EVERY_TYPE},
    "PutItem": {},
    "UpdateItem": {"Attributes": EVERY_TYPE, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}},
    "DeleteItem": {"Attributes": EVERY_TYPE},
    "Query": {"Items": [EVERY_TYPE, EVERY_TYPE], "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": KEY},
    "BatchGetItem": {"Responses": {"t": [EVERY_TYPE]}, "UnprocessedKeys": {"t": {"Keys": [KEY]}}},
    "BatchWriteItem": {"UnprocessedItems": {}},
    "TransactWriteItems": {},
    "TransactGetItems": {"Responses": [{"Item": EVERY_TYPE}]},
}
BINARY = {**EVERY_TYPE, "blob": {"B": "aGVsbG8="}, "blobs": {"BS": ["aGVsbG8=", "d29ybGQ="]}}


def model_request(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return botocore.serialize.create_serializer("json", False).serialize_to_request(  # type: ignore[no-any-return]
        parameters, MODEL.operation_model(operation)
    )


def model_answer(operation: str, response: dict[str, Any]) -> Any:
    return botocore.parsers.create_parser("json").parse(response, MODEL.operation_model(operation).output_shape)


def plain_request(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
    plain = aws._PlainJsonRequests(botocore.serialize.create_serializer("json", False))
    return plain.serialize_to_request(parameters, MODEL.operation_model(operation))


def plain_answer(operation: str, response: dict[str, Any]) -> Any:
    return aws._PlainJsonAnswers().create_parser("json").parse(response, MODEL.operation_model(operation).output_shape)


def response(answer: dict[str, Any], status: int = 200) -> dict[str, Any]:
    headers = {"x-amzn-RequestId": "R1", "Content-Type": "application/x-amz-json-1.0"}
    return {"status_code": status, "headers": headers, "body": json.dumps(answer).encode(), "context": {}}


@pytest.mark.parametrize("operation", sorted(REQUESTS))
def test_a_data_plane_request_is_byte_for_byte_what_botocore_builds(operation: str) -> None:
    # GIVEN a request of every kind of member  WHEN the hot paths' client builds it  THEN botocore would send the same
    assert plain_request(operation, REQUESTS[operation]) == model_request(operation, REQUESTS[operation])


def test_a_request_with_bytes_or_decimals_is_left_to_botocore() -> None:
    # GIVEN a binary attribute value (bytes, base64 on the wire)  WHEN built  THEN botocore's encoding is sent
    parameters = {"TableName": "t", "Item": {**KEY, "blob": {"B": b"hello"}, "blobs": {"BS": [b"a", b"b"]}}}
    built = plain_request("PutItem", parameters)
    assert built == model_request("PutItem", parameters)
    assert json.loads(built["body"])["Item"]["blob"] == {"B": "aGVsbG8="}


def test_other_operations_are_left_to_botocore() -> None:
    parameters = {"TableName": "t"}
    assert plain_request("DescribeTable", parameters) == model_request("DescribeTable", parameters)


@pytest.mark.parametrize("operation", sorted(ANSWERS))
def test_a_data_plane_answer_reads_as_botocore_reads_it(operation: str) -> None:
    # GIVEN an answer of every kind of member  WHEN the hot paths' client reads it  THEN botocore would read the same
    answer = response(ANSWERS[operation])
    assert plain_answer(operation, answer) == model_answer(operation, answer)


def test_an_answer_with_binary_values_is_read_by_botocore_into_bytes() -> None:
    answer = response({"Item": BINARY})
    read = plain_answer("GetItem", answer)
    assert read == model_answer("GetItem", answer)
    assert read["Item"]["blob"] == {"B": b"hello"} and read["Item"]["blobs"] == {"BS": [b"hello", b"world"]}


def test_a_refused_condition_reads_as_botocore_reads_it() -> None:
    # GIVEN a refused conditional update returning the old item  THEN the error and its item read as botocore reads them
    refused = response(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": EVERY_TYPE,
        },
        status=400,
    )
    assert plain_answer("UpdateItem", refused) == model_answer("UpdateItem", refused)


def test_the_hot_paths_dynamodb_client_uses_the_plain_json_requests_and_answers() -> None:
    # GIVEN the hot paths' DynamoDB client (a fresh one, not the process's cached one)  THEN it builds and reads plain
    # JSON where botocore's attributes it replaces still exist (a botocore upgrade renaming them fails here)
    client = aws.lean_client.__wrapped__("dynamodb")
    assert isinstance(client._serializer, aws._PlainJsonRequests)
    assert isinstance(client._endpoint._response_parser_factory.create_parser("json"), aws._PlainJsonParser)
    auth = client._request_signer.get_auth_instance("dynamodb", "us-east-1", "v4")
    assert isinstance(auth, aws._QuickSigV4Auth)


def signed_request(headers: dict[str, str], body: bytes = b'{"TableName": "t"}', url: str = ENDPOINT) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    request.context = {}
    return request


HEADERS = {
    "X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0",
    "User-Agent": "shop Botocore/1.43", "amz-sdk-invocation-id": "8d1a0a1c-4a4b-4c1e-9a3e-2c8f1f6c8b1e",
    "amz-sdk-request": "attempt=1; max=3", "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
}  # fmt: skip
SIGNED = [
    ("plain", HEADERS, b'{"TableName": "t", "Key": {"pk": {"S": "\\u534e"}}}', ENDPOINT),
    ("empty body", HEADERS, b"", ENDPOINT),
    ("spaces in a value", {**HEADERS, "X-Custom": "  a   b  "}, b"{}", ENDPOINT),
    ("a header twice", {**HEADERS, "x-custom": "1", "X-CUSTOM": "2"}, b"{}", ENDPOINT),
    ("a query string", HEADERS, b"{}", ENDPOINT + "?a=1&b=2"),
    ("a port and a path", HEADERS, b"{}", "http://127.0.0.1:5000/some/path/"),
]


@pytest.mark.parametrize("credentials", [Credentials("AKID", "secret"), Credentials("AKID", "secret", "session")],
                         ids=["keys", "session"])  # fmt: skip
@pytest.mark.parametrize(("headers", "body", "url"), [case[1:] for case in SIGNED], ids=[case[0] for case in SIGNED])
def test_the_hot_paths_signature_is_botocores(
    credentials: Credentials, headers: dict[str, str], body: bytes, url: str
) -> None:
    # GIVEN the same request signed by botocore's SigV4 and by the hot paths' signer within the same second
    for _ in range(5):
        theirs, ours = signed_request(headers, body, url), signed_request(headers, body, url)
        botocore.auth.SigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(theirs)
        aws._QuickSigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(ours)
        if theirs.context["timestamp"] == ours.context["timestamp"]:
            break

    # THEN every header sent, the signature among them, is the same
    assert dict(ours.headers.items()) == dict(theirs.headers.items())
    assert ours.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")


def test_the_hot_paths_dynamodb_client_resolves_each_operations_endpoint_once_and_the_same() -> None:
    # GIVEN a fresh hot-paths client and botocore's own resolver of the same client
    client = aws.lean_client.__wrapped__("dynamodb")
    model = aws.lean_client.__wrapped__("dynamodb")
    for operation, parameters in REQUESTS.items():
        operation_model = MODEL.operation_model(operation)
        first = client._ruleset_resolver.construct_endpoint(operation_model, parameters, {})
        again = client._ruleset_resolver.construct_endpoint(operation_model, parameters, {})
        # THEN the endpoint is botocore's, and asked again it is the one already resolved
        assert first == model._ruleset_resolver.__class__.construct_endpoint(
            model._ruleset_resolver, operation_model, parameters, {}
        )
        assert again is first
