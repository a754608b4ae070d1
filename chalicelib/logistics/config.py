"""Logistics settings read from the environment at call time: kuaidi100's key and subscription salt, its
subscription API, where its pushes come back to, and (local/dev stages) the built-in kuaidi100 emulator."""

from __future__ import annotations

import functools
import json
import os

from chalicelib.config import get_settings

NOTIFY_PATH = "/logistics/kuaidi100/notify"
LOCAL_NOTIFY_BASE = "http://127.0.0.1:8000"
POLL_URL = "https://poll.kuaidi100.com/poll"


def subscription_salt() -> str:
    """The salt kuaidi100 signs its pushes with (the one given when the parcels are subscribed): KUAIDI100_SALT, from
    the environment or, on deployed stages, the JSON secret LOGISTICS_SECRETS_ARN names; empty: no push is accepted."""
    return _setting("KUAIDI100_SALT")


def subscription_key() -> str:
    """The shop's kuaidi100 authorization key (授权key) a subscription is made with: KUAIDI100_KEY, from the
    environment or the secret, like the salt; empty: no parcel is subscribed."""
    return _setting("KUAIDI100_KEY")


def poll_url() -> str:
    """kuaidi100's subscription API (KUAIDI100_POLL_URL; `make run` points it at the emulator)."""
    return os.environ.get("KUAIDI100_POLL_URL") or POLL_URL


def _setting(name: str) -> str:
    arn = os.environ.get("LOGISTICS_SECRETS_ARN", "")
    return os.environ.get(name, "") or (str(_secret_values(arn).get(name) or "") if arn else "")


@functools.lru_cache(maxsize=4)
def _secret_values(arn: str) -> dict[str, object]:
    """The secret's JSON object (read once per cold start); 502 while Secrets Manager cannot answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.aws import client
    from chalicelib.errors import DependencyUnavailable

    try:
        values = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        return dict(values) if isinstance(values, dict) else {}
    except (BotoCoreError, ClientError, ValueError, KeyError) as error:
        raise DependencyUnavailable("The logistics secrets could not be read") from error


def notify_url() -> str:
    """Where kuaidi100 pushes (the callback URL of a subscription): LOGISTICS_NOTIFY_BASE + NOTIFY_PATH; unset, the
    local server on local/dev stages, and empty elsewhere (a deployed stage without it subscribes nothing, rather
    than have kuaidi100 push its parcels' events to 127.0.0.1)."""
    base = os.environ.get("LOGISTICS_NOTIFY_BASE") or (LOCAL_NOTIFY_BASE if get_settings().is_local_or_dev else "")
    return base.rstrip("/") + NOTIFY_PATH if base else ""


def emulator_url() -> str:
    """The built-in kuaidi100 emulator (local/dev stages only; empty elsewhere)."""
    return os.environ.get("KUAIDI100_EMULATOR_URL", "") if get_settings().is_local_or_dev else ""
