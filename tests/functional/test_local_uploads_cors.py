"""The local runtime's moto server lets a browser upload to a presigned S3 URL as S3 does: its CORS preflight is
answered without a signature check, and the PUT itself is still checked against what was signed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto.core.config import default_user_config

from local.aws.moto_server import FAKE_CREDENTIALS, REGION, MotoServer

BUCKET = "shop-local-uploads-cors"
ORIGIN = "http://127.0.0.1:8000"
TIMEOUT = 10


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    saved_config = copy.deepcopy(default_user_config)
    server = MotoServer().start()
    try:
        assert requests.put(f"{server.endpoint_url}/{BUCKET}", timeout=TIMEOUT).status_code == 200
        yield server.endpoint_url
    finally:
        server.stop()
        default_user_config.clear()
        default_user_config.update(saved_config)


def s3_of(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def presigned_put(endpoint: str, key: str) -> str:
    params = {"Bucket": BUCKET, "Key": key, "ContentType": "image/png", "ContentLength": 3}
    return str(s3_of(endpoint).generate_presigned_url("put_object", Params=params, ExpiresIn=900, HttpMethod="PUT"))


def test_a_browsers_preflight_of_a_presigned_put_is_allowed_and_the_put_stores_the_bytes(endpoint: str) -> None:
    # GIVEN the presigned PUT URL an upload ticket carries
    url = presigned_put(endpoint, "u/photo.png")

    # WHEN a page of another origin asks the browser to PUT to it (preflight first)
    asking = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
    }
    preflight = requests.options(url, headers=asking, timeout=TIMEOUT)
    put = requests.put(url, data=b"png", headers={"Content-Type": "image/png", "Origin": ORIGIN}, timeout=TIMEOUT)

    # THEN the preflight allows it, and the signed PUT stores the bytes
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert put.status_code == 200, put.text
    assert s3_of(endpoint).get_object(Bucket=BUCKET, Key="u/photo.png")["Body"].read() == b"png"


def test_a_put_of_another_type_than_the_signed_one_is_still_refused(endpoint: str) -> None:
    # GIVEN a presigned PUT for a PNG WHEN a JPEG is sent to it
    url = presigned_put(endpoint, "u/one.png")
    put = requests.put(url, data=b"jpg", headers={"Content-Type": "image/jpeg", "Origin": ORIGIN}, timeout=TIMEOUT)

    # THEN it is refused, as S3 refuses a request that does not match what was signed
    assert put.status_code == 403, put.text
