"""Deployed stages read the token secret from Secrets Manager; only the local stage may fall back to a default."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws import reset_clients
from chalicelib.config import LOCAL_JWT_SECRET, jwt_secret, reset_caches


@pytest.fixture
def stage_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    reset_caches()
    yield monkeypatch
    reset_caches()


def test_a_deployed_stage_reads_the_jwt_secret_from_secrets_manager(stage_env: pytest.MonkeyPatch) -> None:
    with mock_aws():
        reset_clients()
        arn = boto3.client("secretsmanager").create_secret(Name="shop/dev/jwt-secret", SecretString="s" * 48)["ARN"]
        stage_env.setenv("SHOP_STAGE", "dev")
        stage_env.setenv("JWT_SECRET_ARN", arn)

        assert jwt_secret() == "s" * 48
    reset_clients()


def test_a_deployed_stage_without_a_secret_refuses_to_start(stage_env: pytest.MonkeyPatch) -> None:
    stage_env.setenv("SHOP_STAGE", "prod")
    stage_env.delenv("JWT_SECRET_ARN", raising=False)

    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        jwt_secret()


def test_the_local_stage_falls_back_to_the_local_secret(stage_env: pytest.MonkeyPatch) -> None:
    stage_env.setenv("SHOP_STAGE", "local")
    stage_env.delenv("JWT_SECRET_ARN", raising=False)

    assert jwt_secret() == LOCAL_JWT_SECRET
