"""Logistics settings read from the environment at call time: kuaidi100's subscription salt, where its pushes come
back to, and (local/dev stages) the built-in kuaidi100 emulator."""

from __future__ import annotations

import os

from chalicelib.config import get_settings

NOTIFY_PATH = "/logistics/kuaidi100/notify"


def subscription_salt() -> str:
    """The salt kuaidi100 signs its pushes with (the one given when the parcels are subscribed): KUAIDI100_SALT, kept
    in the stage's secrets on deployed stages; empty means no push is accepted."""
    return os.environ.get("KUAIDI100_SALT", "")


def notify_url() -> str:
    """Where kuaidi100 pushes (the callback URL of a subscription): LOGISTICS_NOTIFY_BASE + NOTIFY_PATH."""
    base = os.environ.get("LOGISTICS_NOTIFY_BASE") or "http://127.0.0.1:8000"
    return base.rstrip("/") + NOTIFY_PATH


def emulator_url() -> str:
    """The built-in kuaidi100 emulator (local/dev stages only; empty elsewhere)."""
    return os.environ.get("KUAIDI100_EMULATOR_URL", "") if get_settings().is_local_or_dev else ""
