"""The stage is read once and never guessed on a deployed function; the token secret is never a constant."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws import reset_clients
from chalicelib.config import MissingStage, reset_caches, stage_of
from chalicelib.keys import jwt_secret
from local.aws.install_secret import local_jwt_secret

REPO_ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_no_stage_falls_back_to_a_constant_token_secret(stage_env: pytest.MonkeyPatch, stage: str) -> None:
    """GIVEN no JWT_SECRET and no JWT_SECRET_ARN, on any stage, the local one included WHEN a token is signed or
    checked THEN it refuses instead of using a secret anyone can read in the repository."""
    stage_env.setenv("SHOP_STAGE", stage)
    stage_env.delenv("JWT_SECRET_ARN", raising=False)

    with pytest.raises(RuntimeError, match="No token secret"):
        jwt_secret()


def test_a_short_token_secret_is_refused(stage_env: pytest.MonkeyPatch) -> None:
    stage_env.setenv("JWT_SECRET", "too-short")

    with pytest.raises(RuntimeError, match="shorter"):
        jwt_secret()


def test_the_local_runtime_generates_a_secret_per_install_and_keeps_it_across_starts(tmp_path: Path) -> None:
    """GIVEN two installs WHEN each starts twice THEN each keeps one secret of its own, in a file only its owner
    reads, under .local-state/ (which git ignores)."""
    first_install, second_install = tmp_path / "a" / ".local-state", tmp_path / "b" / ".local-state"

    first = local_jwt_secret(first_install)
    again = local_jwt_secret(first_install)
    other = local_jwt_secret(second_install)

    assert first == again and first != other and len(first) >= 64
    assert stat.S_IMODE((first_install / "jwt-secret").stat().st_mode) == 0o600
    ignored = subprocess.run(["git", "check-ignore", "-q", ".local-state/jwt-secret"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0


@pytest.mark.parametrize("value", [None, "", "Prod ", "../x"])
def test_a_deployed_function_refuses_to_start_without_an_explicit_stage(value: str | None) -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "shop-prod"} | ({} if value is None else {"SHOP_STAGE": value})

    with pytest.raises(MissingStage):
        stage_of(env)


def test_outside_lambda_the_stage_defaults_to_local_and_an_explicit_one_is_taken() -> None:
    assert stage_of({}) == "local"
    assert stage_of({"SHOP_STAGE": "dev", "AWS_LAMBDA_FUNCTION_NAME": "shop-dev"}) == "dev"


def test_importing_the_app_on_lambda_without_a_stage_fails_the_cold_start() -> None:
    """GIVEN a deployed function whose environment lost SHOP_STAGE WHEN Lambda imports the handler THEN the import
    fails (the function never serves a request as `local`, where dev-only routes exist)."""
    env = {k: v for k, v in os.environ.items() if k != "SHOP_STAGE"} | {"AWS_LAMBDA_FUNCTION_NAME": "shop-prod"}

    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "MissingStage" in result.stderr
