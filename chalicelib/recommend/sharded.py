"""Starting the sharded refresh (infra/statemachines/recommend_refresh.asl.json) when the window is too large for
one Lambda. One execution per hour: its name is the hour, so a schedule delivered twice starts it once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics.lake import Lake
from chalicelib.aws import client
from chalicelib.config import Settings


def start_if_large(settings: Settings, lake: Lake, now: datetime) -> dict[str, Any] | None:
    """Start the sharded refresh when the window's raw lake objects exceed the setting and the state machine is
    configured; what was started, or None (the one-Lambda refresh runs then)."""
    arn = settings.state_machine_recommend_refresh_arn
    threshold = settings.recommend_distributed_above_bytes
    if not arn or threshold <= 0:
        return None
    from chalicelib.analytics.rollup import BUSINESS_TZ
    from chalicelib.recommend.shards import window_bytes

    size = window_bytes(lake, settings.recommend_behaviour_days, now.astimezone(BUSINESS_TZ).date())
    if size <= threshold:
        return None
    run_id = f"refresh-{now:%Y%m%dT%H}"
    try:
        client("stepfunctions").start_execution(stateMachineArn=arn, name=run_id, input=json.dumps({"run_id": run_id}))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
    return {"sharded": True, "run_id": run_id, "window_bytes": size}
