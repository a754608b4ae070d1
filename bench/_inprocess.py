"""What the in-process benches share: fake AWS settings for the local stage, quiet moto, a provisioned account."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def prepare_environment() -> None:
    """Call before importing the app: table and queue names are read at import."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SHOP_STAGE": "local",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))  # a throwaway one: no stage has a constant
    os.environ.pop("AWS_ENDPOINT_URL", None)
    warnings.filterwarnings("ignore")  # moto's notes on CloudFormation types it skips; benches print figures only
    logging.getLogger("moto").setLevel(logging.ERROR)


@contextmanager
def provisioned_app() -> Iterator[Any]:
    """The app on a fresh in-process moto account provisioned from infra/, as the tests and `make run` do."""
    from moto import mock_aws

    from app import app
    from chalicelib.config import reset_caches
    from local.aws.provision import provision

    with mock_aws():
        os.environ.update(provision(app, stage="local"))
        reset_caches()
        yield app
