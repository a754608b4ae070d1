"""The shop's one signing secret: access tokens, page cursors, texted codes and the sandbox payment keys derive
from it."""

from __future__ import annotations

import os
from functools import lru_cache

from chalicelib.config import get_settings, on_reset

MIN_JWT_SECRET_CHARS = 32


@lru_cache(maxsize=1)
def jwt_secret() -> str:
    """The token signing secret: JWT_SECRET if set (the local runtime sets one generated per install), else the
    Secrets Manager secret JWT_SECRET_ARN names (deployed stages). No stage falls back to a constant: a secret in
    the repository would sign admin tokens for every install."""
    secret = os.environ.get("JWT_SECRET")
    if not secret and (arn := get_settings().jwt_secret_arn):
        from chalicelib.aws import client  # boto3 only where a deployed stage reads its secret

        secret = str(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    if not secret:
        raise RuntimeError("No token secret: set JWT_SECRET_ARN (deployed stages) or JWT_SECRET (`make run` does)")
    if len(secret) < MIN_JWT_SECRET_CHARS:
        raise RuntimeError(f"The token secret is shorter than {MIN_JWT_SECRET_CHARS} characters")
    return secret


on_reset(jwt_secret.cache_clear)
