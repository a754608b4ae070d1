"""The recommendation refresh beyond one Lambda: the recommend_refresh state machine (a Distributed Map over JSON
manifests of shards) run end to end by moto's interpreter, its steps dispatched to the app's functions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.analytics import emitter
from chalicelib.analytics.rollup import BUSINESS_TZ
from chalicelib.bootstrap import container
from chalicelib.clock import parse_iso
from chalicelib.config import get_settings, reset_caches
from chalicelib.recommend import service
from chalicelib.recommend.refresh import ListKey
from chalicelib.recommend.repository import DynamoRecommendationStore
from chalicelib.recommend.window import load_window
from local.aws import lambda_dispatch
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import stop_running_executions
from tests.functional.test_recommendations import co_views, consume_behaviour, moment, run_refresh, shop, user_id_of

__all__ = ["shop"]  # the fixture, shared with the one-Lambda refresh's tests


class RecordingStore(DynamoRecommendationStore):
    """The real store that keeps what a refresh would write instead of writing it."""

    def __init__(self) -> None:
        self.lists: dict[ListKey, list[str]] = {}
        self.home: dict[str, Any] | None = None

    def save_lists(self, lists: Mapping[ListKey, list[str]], generated_at: str, expires_at: int) -> int:
        self.lists.update(lists)
        return len(lists)

    def save_home(self, home: dict[str, Any], generated_at: str) -> None:
        self.home = home


@pytest.fixture
def steps_in_process() -> Iterator[None]:
    lambda_dispatch.install(app, "local")
    try:
        yield
    finally:
        stop_running_executions()
        lambda_dispatch.uninstall()


def run_sharded(run_id: str, **sizes: int) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = get_settings().state_machine_recommend_refresh_arn
    assert arn, "the recommend_refresh state machine is provisioned like the order one"
    execution = sfn.start_execution(stateMachineArn=arn, name=run_id, input=json.dumps({"run_id": run_id, **sizes}))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return dict(json.loads(described["output"]))
        time.sleep(0.2)
    raise AssertionError("the sharded refresh did not finish in 120 s")


def behaviour(client: ShopClient, shop: dict[str, str]) -> None:
    fans = [user_id_of(client, register_and_login(client, f"fan{n}")) for n in range(4)]
    shopper = user_id_of(client, register_and_login(client, "shopper"))
    order = {"order_id": "o_shard_1", "user_id": shopper, "created_at": moment(50),
             "items": [{"sku_id": f"{shop['phone_c']}-01", "product_id": shop["phone_c"], "quantity": 1,
                        "payable_fen": 699900}], "amounts": {"payable_fen": 699900}}  # fmt: skip
    consume_behaviour(
        client,
        *co_views(fans, shop["phone_a"], shop["buds"]),
        *co_views(fans[:2], shop["phone_b"], shop["phone_c"], start=10),
        *co_views(fans[2:], shop["sold_out"], shop["phone_b"], start=20),
        emitter.order_placed(order),
        emitter.order_paid(order, moment(49), "pay_1", "sandbox"),
        emitter.product_viewed(shop["phone_a"], shopper, moment(5), view_id="shopper-a"),
        emitter.product_viewed(shop["phone_b"], shopper, moment(4), view_id="shopper-b"),
        emitter.product_viewed(shop["buds"], None, moment(3), view_id="anonymous-buds"),
    )


def test_the_distributed_map_refresh_stores_exactly_the_lists_of_the_one_lambda_refresh_and_rewrites_none_unchanged(
    client: ShopClient, shop: dict[str, str], steps_in_process: None
) -> None:
    # GIVEN a small catalog (5 products) and the behaviour of five shoppers and an anonymous visitor in the lake
    behaviour(client, shop)

    # WHEN the state machine refreshes in 3 product blocks (2 products each) and several shopper buckets
    outcome = run_sharded("refresh-test-1", products_per_shard=2, events_per_shopper_shard=6)

    # THEN its lists, read back from the store, are the one-Lambda refresh's on the same window at the same moment
    handing = container()
    now = parse_iso(outcome["generated_at"])
    settings = get_settings()
    window = load_window(handing.lake, settings.recommend_behaviour_days, now.astimezone(BUSINESS_TZ).date())
    one_lambda = RecordingStore()
    expected = service.refresh_recommendations(
        window, handing.catalog_facts, handing.promotions, handing.themes, one_lambda, now, handing.audience
    )
    home, stored = handing.recommendations.read(True, list(one_lambda.lists))
    assert stored == one_lambda.lists
    assert {key: home[key] for key in one_lambda.home or {}} == one_lambda.home
    assert outcome["similar_shards"] == 3 and outcome["for_you_shards"] > 1
    assert outcome["shoppers"] == expected["shoppers"] == 5
    assert outcome["for_you_lists"] == expected["for_you_lists"] and outcome["similar_lists"] == 5
    assert outcome["lists_written"] == len(one_lambda.lists)  # a first run writes every list
    assert outcome["failed_shopper_shards"] == 0

    # WHEN it runs again with nothing new, cut in other blocks
    again = run_sharded("refresh-test-2", products_per_shard=3, events_per_shopper_shard=1000)

    # THEN every list is the same, so none is written again (only the home item is)
    assert again["lists_written"] == 0 and again["for_you_shards"] == 1


def test_above_the_size_setting_the_hourly_schedule_starts_the_sharded_refresh_once_per_hour(
    client: ShopClient, shop: dict[str, str], steps_in_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN behaviour in the lake and a threshold below the window's size
    behaviour(client, shop)
    monkeypatch.setenv("RECOMMEND_DISTRIBUTED_ABOVE_BYTES", "1")
    reset_caches()
    try:
        # WHEN the hourly schedule fires, and fires again within the hour (EventBridge delivers at least once)
        first = run_refresh(client)
        again = run_refresh(client)
    finally:
        monkeypatch.undo()
        reset_caches()

    # THEN it started one execution of the state machine, named after the hour, instead of refreshing itself
    assert first["sharded"] is True and first["window_bytes"] > 1 and "shoppers" not in first
    assert again["run_id"] == first["run_id"]
    sfn = boto3.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=get_settings().state_machine_recommend_refresh_arn)["executions"]
    assert [e["name"] for e in executions if e["name"] == first["run_id"]] == [first["run_id"]]
    # AND that execution refreshes the lists
    arn = next(e["executionArn"] for e in executions if e["name"] == first["run_id"])
    deadline = time.monotonic() + 120
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    assert client.call("GET", "/recommendations/home")[1]["generated_at"] is not None
