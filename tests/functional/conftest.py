"""Functional tests: the Chalice test client on moto, provisioned from infra/ exactly as the local runtime does it."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client, TestHTTPClient
from moto import mock_aws

from app import app
from chalicelib.accounts import service as accounts_service
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.auth import principal_cache
from chalicelib.aws import reset_clients
from chalicelib.bootstrap import container
from chalicelib.catalog.service import category_tree
from chalicelib.config import reset_caches
from chalicelib.membership.service import level_cache
from chalicelib.points.service import rules_cache
from chalicelib.promotions.service import promotion_cache
from local.aws.gateway import ContractLocalGateway
from local.aws.moto_server import apply_moto_workarounds
from local.aws.provision import provision

ADMIN_PASSWORD = "admin-password-123"
_MISSING = object()


def hand_over(name: str, value: Any) -> Callable[[], None]:
    """Have the app's container hand `value` to routes and handlers as `name` (a fake in place of what it would
    build); the function returned puts things back."""
    handing = container()
    previous = handing.__dict__.get(name, _MISSING)
    handing.__dict__[name] = value

    def restore() -> None:
        if previous is _MISSING:
            handing.__dict__.pop(name, None)
        else:
            handing.__dict__[name] = previous

    return restore


class ContractHTTPClient(TestHTTPClient):
    """chalice.test's HTTP client behind the same API Gateway stand-in as the local server."""

    def __init__(self, app: Any, config: Any) -> None:
        super().__init__(app, config)
        self._local_gateway = ContractLocalGateway(app, config)


class ShopClient(Client):
    """The Chalice test client whose HTTP side answers gateway errors as deployed API Gateway does."""

    @property
    def http(self) -> ContractHTTPClient:
        if self._http_client is None:
            self._http_client = ContractHTTPClient(self._app, self._chalice_config)
        return self._http_client

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, **headers: str) -> Any:
        """Send JSON (or raw bytes) and get back (status, parsed JSON body or None, headers)."""
        all_headers = {"content-type": "application/json", **headers}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        response = self.http.request(method, path, headers=all_headers, body=raw)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body
        return response.status_code, parsed, response.headers


@pytest.fixture(scope="module")
def provisioned_aws() -> Iterator[dict[str, str]]:
    """A moto account with the stage's stack, functions and state machines, shared by one test module."""
    apply_moto_workarounds()  # the same moto fixes the local runtime runs with (see local/aws/moto_server.py)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        reset_clients()
        saved = dict(os.environ)
        env = provision(app, stage="local")
        os.environ.update(env)
        reset_caches()
        try:
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_caches()
            reset_clients()


@pytest.fixture(scope="module")
def _emptying(provisioned_aws: dict[str, str]) -> dict[str, Any]:
    """What emptying the module's account needs, looked up once: clients, each table's key names, the queue URLs."""
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    keys = {
        table: [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for table in dynamodb.list_tables()["TableNames"]
    }
    return {"dynamodb": dynamodb, "sqs": sqs, "keys": keys, "queues": sqs.list_queues().get("QueueUrls", [])}


@pytest.fixture
def aws_env(provisioned_aws: dict[str, str], _emptying: dict[str, Any]) -> dict[str, str]:
    """The module's moto account, emptied: every table item deleted and every queue purged before the test."""
    dynamodb, sqs = _emptying["dynamodb"], _emptying["sqs"]
    for table, keys in _emptying["keys"].items():
        found = [
            item
            for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(keys))
            for item in page["Items"]
        ]
        for start in range(0, len(found), 25):  # BatchWriteItem's most; moto processes every request it gets
            deletes = [{"DeleteRequest": {"Key": key}} for key in found[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={table: deletes})
    for queue_url in _emptying["queues"]:
        sqs.purge_queue(QueueUrl=queue_url)
    category_tree.forget()
    promotion_cache.forget()
    principal_cache.forget()
    level_cache.forget()
    rules_cache.forget()
    return provisioned_aws


@pytest.fixture
def client(aws_env: dict[str, str]) -> Iterator[ShopClient]:
    with ShopClient(app, stage_name="local") as test_client:
        yield test_client


@pytest.fixture
def admin_token(client: ShopClient) -> str:
    accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", ADMIN_PASSWORD)
    status, body, _ = client.call("POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body
    return str(body["access_token"])


@pytest.fixture
def customer_token(client: ShopClient) -> str:
    return register_and_login(client, "alice")


def register_and_login(client: ShopClient, username: str, password: str = "correct horse 1") -> str:
    status, body, _ = client.call("POST", "/auth/register", {"username": username, "password": password})
    assert status == 201, body
    status, body, _ = client.call("POST", "/auth/login", {"username": username, "password": password})
    assert status == 200, body
    return str(body["access_token"])


def texted_code(client: ShopClient, phone: str) -> str:
    """The last code texted to `phone`, read from the local stage's outbox as a developer would."""
    status, outbox, _ = client.call("GET", f"/dev/outbox?to={phone}")
    assert status == 200, outbox
    return str(re.findall(r"[0-9]{6}", outbox["messages"][0]["text"])[0])


def register_with_phone(client: ShopClient, username: str, phone: str, password: str = "correct horse 1") -> Any:
    """Register with a phone as a client does: a code texted for `register` first; (status, body) of the register."""
    status, body, _ = client.call("POST", "/auth/sms/send", {"phone": phone, "purpose": "register"})
    assert status == 202, body
    code = texted_code(client, phone.removeprefix("+86"))
    status, body, _ = client.call(
        "POST", "/auth/register", {"username": username, "password": password, "phone": phone, "sms_code": code}
    )
    return status, body


@pytest.fixture
def sku_cache_seconds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Set CART_SKU_CACHE_SECONDS for the rest of the test (the container is built again with it)."""

    def set_seconds(seconds: float) -> None:
        monkeypatch.setenv("CART_SKU_CACHE_SECONDS", str(seconds))
        reset_caches()

    yield set_seconds
    monkeypatch.delenv("CART_SKU_CACHE_SECONDS", raising=False)
    reset_caches()
