"""The local stage's kept state (local/aws/state.py) on moto: what is saved at stop is there again after a start, past
the tables' streams; FRESH=1 forgets it."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from local.aws import state as local_state
from tests.functional.conftest import ShopClient, register_and_login

STAGE = "local"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    return tmp_path


def empty_everything() -> None:
    """What a new moto process starts with: the stack's tables and buckets, empty."""
    dynamodb = boto3.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(keys)):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key=item)
    s3 = boto3.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for listed in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            s3.delete_object(Bucket=bucket["Name"], Key=listed["Key"])


def stream_records(table_name: str) -> int:
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
    if not arn:
        return 0
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return len(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"])


def test_a_customer_and_an_s3_object_saved_at_stop_are_there_after_a_start(client: ShopClient, state_dir: Path) -> None:
    # GIVEN a registered customer and an object in the analytics lake
    register_and_login(client, "keeper", "keeper-password-1")
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    bucket = next(name for name in buckets if name.endswith("analytics-lake"))
    boto3.client("s3").put_object(
        Bucket=bucket, Key="events/dt=2026-12-01/a.jsonl", Body=b"{}\n", ContentType="application/x-ndjson"
    )

    # WHEN the state is saved, everything is emptied as a new process would be, and the state is loaded
    saved = local_state.save(STAGE)
    empty_everything()
    streamed_before = {name: stream_records(name) for name in boto3.client("dynamodb").list_tables()["TableNames"]}
    loaded = local_state.load(STAGE)

    # THEN the customer signs in again, the object is back as it was, and no stream saw the items as new writes
    assert loaded is not None and (loaded.items, loaded.objects) == (saved.items, saved.objects) and saved.items > 0
    status, body, _ = client.call("POST", "/auth/login", {"username": "keeper", "password": "keeper-password-1"})
    assert status == 200, body
    kept = boto3.client("s3").get_object(Bucket=bucket, Key="events/dt=2026-12-01/a.jsonl")
    assert kept["Body"].read() == b"{}\n" and kept["ContentType"] == "application/x-ndjson"
    assert {name: stream_records(name) for name in streamed_before} == streamed_before


def test_fresh_forgets_the_kept_state_and_a_first_start_has_none(client: ShopClient, state_dir: Path) -> None:
    # GIVEN a saved state  WHEN it is forgotten (FRESH=1)  THEN there is nothing to load
    assert local_state.load(STAGE) is None
    local_state.save(STAGE)
    assert local_state.load(STAGE) is not None
    local_state.forget(STAGE)
    assert local_state.load(STAGE) is None
