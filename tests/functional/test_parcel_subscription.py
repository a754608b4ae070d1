"""A shipped parcel subscribed at kuaidi100 through the order outbox and the parcel-subscriptions queue, on moto
with the outbox's stream and the queues polled as `make run` polls them: one subscription per parcel in kuaidi100's
form, 501 (subscribed before) done, a failure asked again, a carrier without a kuaidi100 code subscribing nothing;
and the kuaidi100 emulator taking the subscription and pushing to its callback URL, signed with its salt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.logistics.subscription import (
    HttpxPollTransport,
    Kuaidi100Subscriber,
    PollAnswer,
    PollTransport,
    SubscriptionFailed,
)
from chalicelib.orders import service
from local.aws.pollers import stop_pollers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.providers.logistics.server import Kuaidi100Emulator
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, hand_over, register_and_login
from tests.functional.order_machinery import STAGE, order_machinery
from tests.functional.test_orders import ADDRESS, place

KEY, SALT, BASE = "test-kuaidi100-key", "test-subscription-salt", "https://api.shop.test/prod"
SHOP = "https://shop.test"  # the emulator's pushes reach the test client by their path


@pytest.fixture(scope="module", autouse=True)
def outbox_runs_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        pollers = [SqsPoller(app, config, STAGE) for config in sqs_handlers(app) if config.name == "subscribe_parcels"]
        assert len(pollers) == 1
        pollers[0].start()
        try:
            yield
        finally:
            stop_pollers(pollers)


class RecordingPoll(PollTransport):
    """kuaidi100's subscription API as a test wants it to answer (its return codes, in turn; then 200), recording
    every request (from the outbox's consumer thread)."""

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PollAnswer:
        with self.lock:
            self.requests.append((url, parse_qs(body.decode()), headers))
            code = self.codes.pop(0) if self.codes else "200"
        return PollAnswer(200, json.dumps({"result": code == "200", "returnCode": code, "message": "?"}))

    def numbers(self) -> list[str]:
        with self.lock:
            return [json.loads(form["param"][0])["number"] for _, form, _ in self.requests]


@pytest.fixture
def kuaidi100_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"KUAIDI100_KEY": KEY, "KUAIDI100_SALT": SALT, "LOGISTICS_NOTIFY_BASE": BASE}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KUAIDI100_POLL_URL", raising=False)
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def kuaidi100_answers(kuaidi100_settings: None) -> Iterator[Callable[..., RecordingPoll]]:
    """Hand the outbox a kuaidi100 subscriber whose API answers these return codes."""
    restores: list[Callable[[], None]] = []

    def answering(*codes: str) -> RecordingPoll:
        poll = RecordingPoll(*codes)
        restores.append(hand_over("kuaidi100_subscriber", Kuaidi100Subscriber(poll)))
        return poll

    yield answering
    for restore in reversed(restores):
        restore()


@pytest.fixture
def buyer(client: ShopClient, admin_token: str) -> dict[str, Any]:
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    address = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


def ship(client: ShopClient, buyer: dict[str, Any], admin_token: str, carrier: str, tracking_no: str) -> str:
    order = place(client, buyer, key=f"k-{tracking_no}")[1]
    assert service.confirm_payment(container().shop, order["order_id"], "pay-1", order["amounts"]["payable_fen"])
    body = {"carrier": carrier, "tracking_no": tracking_no}
    status, answer, _ = client.call("POST", f"/admin/orders/{order['order_id']}/ship", body, token=admin_token)
    assert status == 200, answer
    return str(order["order_id"])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_order_shipped_with_sf_subscribes_its_parcel_once_in_kuaidi100s_form(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100_answers: Callable[..., RecordingPoll]
) -> None:
    # GIVEN kuaidi100's subscription API taking subscriptions
    poll = kuaidi100_answers("200")

    # WHEN an order ships with 顺丰 by its short name
    ship(client, buyer, admin_token, "SF", "SF1234567890")

    # THEN exactly one subscription reaches kuaidi100, as it documents it
    wait_for(lambda: len(poll.requests) >= 1)
    time.sleep(1.5)  # a second request would have come by now
    assert len(poll.requests) == 1
    url, form, headers = poll.requests[0]
    assert url == "https://poll.kuaidi100.com/poll"
    assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert form["schema"] == ["json"] and len(form["param"]) == 1
    assert json.loads(form["param"][0]) == {
        "company": "shunfeng",
        "number": "SF1234567890",
        "key": KEY,
        "parameters": {
            "callbackurl": f"{BASE}/logistics/kuaidi100/notify",
            "salt": SALT,
            "resultv2": "1",
            "phone": ADDRESS["phone"],
        },
    }


def test_a_parcel_kuaidi100_says_is_subscribed_already_is_done_and_not_asked_again(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100_answers: Callable[..., RecordingPoll]
) -> None:
    # GIVEN kuaidi100 answering 501 (重复订阅): the parcel was subscribed before
    poll = kuaidi100_answers("501")

    # WHEN an order ships with 中通
    ship(client, buyer, admin_token, "zhongtong", "ZT501")

    # THEN the subscription is done: asked once, never again, and without a phone (only 顺丰 needs one)
    wait_for(lambda: len(poll.requests) >= 1)
    time.sleep(2.5)  # a retry comes after 1 s
    assert poll.numbers() == ["ZT501"]
    assert "phone" not in json.loads(poll.requests[0][1]["param"][0])["parameters"]


def test_a_subscription_kuaidi100_failed_to_take_is_asked_again_until_it_takes_it(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100_answers: Callable[..., RecordingPoll]
) -> None:
    # GIVEN kuaidi100 answering 500 (server error) once, then taking subscriptions
    poll = kuaidi100_answers("500")

    # WHEN an order ships with 圆通
    ship(client, buyer, admin_token, "YTO", "YT500")

    # THEN the queue asks again after its backoff, and stops once kuaidi100 took it
    wait_for(lambda: len(poll.requests) >= 2)
    time.sleep(2.5)
    assert poll.numbers() == ["YT500", "YT500"]


def test_a_carrier_without_a_kuaidi100_code_subscribes_nothing(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100_answers: Callable[..., RecordingPoll]
) -> None:
    # GIVEN kuaidi100 taking subscriptions
    poll = kuaidi100_answers()

    # WHEN one order ships with a local courier kuaidi100 has no code for, then another with 韵达
    ship(client, buyer, admin_token, "同城闪送", "LOCAL1")
    ship(client, buyer, admin_token, "YD", "YD0002")

    # THEN only 韵达's parcel is subscribed (the orders stream is read in order: the first change set nothing off)
    wait_for(lambda: len(poll.requests) >= 1)
    assert poll.numbers() == ["YD0002"]


@pytest.fixture
def kuaidi100(client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kuaidi100Emulator]:
    """The built-in kuaidi100 emulator as `make run` sets it up, its pushes delivered to the test client as over
    HTTP (and recorded); then the app's own salt and notify base, so a push is only accepted if the emulator signs
    it with the salt the subscription gave and sends it to its callback URL."""
    delivered: list[str] = []

    def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        delivered.append(url)
        response = client.http.request("POST", urlsplit(url).path, headers=headers, body=body)
        return response.status_code, response.body.decode()

    emulator = Kuaidi100Emulator(salt="the-emulators-own-salt", deliver=deliver).start()
    emulator.delivered = delivered  # type: ignore[attr-defined]
    for name, value in {**emulator.env(), "KUAIDI100_SALT": SALT, "LOGISTICS_NOTIFY_BASE": SHOP}.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield emulator
    emulator.stop()
    reset_caches()


def test_the_emulator_takes_the_subscription_and_pushes_to_its_callback_signed_with_its_salt(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100: Kuaidi100Emulator
) -> None:
    # GIVEN an order shipped with 顺丰, its parcel subscribed at the emulator by the outbox
    order_id = ship(client, buyer, admin_token, "SF", "SF0000000001")
    wait_for(lambda: ("shunfeng", "SF0000000001") in kuaidi100.state.subscriptions)
    subscription = kuaidi100.state.subscriptions[("shunfeng", "SF0000000001")]
    assert subscription == {"callbackurl": f"{SHOP}/logistics/kuaidi100/notify", "salt": SALT, "phone": "13800138000"}

    # WHEN the dev push has the emulator report 揽收
    status, pushed, _ = client.call("POST", "/dev/logistics/push", {"tracking_no": "SF0000000001", "state": "1",
                                                                      "context": "顺丰速运 已收取快件"})  # fmt: skip

    # THEN it pushed to the subscription's callback URL, signed with its salt, and the shop kept the event
    assert status == 200 and pushed["pushed"] is True and pushed["notify_answer"]["returnCode"] == "200", pushed
    assert kuaidi100.delivered == [f"{SHOP}/logistics/kuaidi100/notify"]  # type: ignore[attr-defined]
    tracked = client.call("GET", f"/orders/{order_id}/tracking", token=buyer["token"])[1]
    assert tracked["state"] == "1" and [e["context"] for e in tracked["events"]] == ["顺丰速运 已收取快件"]


def test_the_emulator_answers_subscriptions_as_kuaidi100_does(kuaidi100: Kuaidi100Emulator) -> None:
    # GIVEN the app's subscriber pointed at the emulator (its key, its poll URL)
    subscriber = Kuaidi100Subscriber(HttpxPollTransport())

    # WHEN a parcel is subscribed twice, a 顺丰 parcel without a phone, and one with a wrong key
    first = subscriber.subscribe("yunda", "YD777", "")
    again = subscriber.subscribe("yunda", "YD777", "")
    no_phone = subscriber.subscribe("shunfeng", "SF777", "")
    kuaidi100.state.key = "another-key"
    with pytest.raises(SubscriptionFailed) as wrong_key:
        subscriber.subscribe("ems", "EMS777", "")

    # THEN: 200 subscribed, 501 subscribed before, 400 refused (given up), 600 to be asked again (raises)
    assert (first, again, no_phone) == ("subscribed", "subscribed_before", "refused_400")
    assert "600" in str(wrong_key.value)


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_a_stage_without_a_notify_base_subscribes_only_where_the_local_server_can_take_the_pushes(
    kuaidi100_settings: None, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # GIVEN a stage with kuaidi100's key and salt but no LOGISTICS_NOTIFY_BASE
    monkeypatch.delenv("LOGISTICS_NOTIFY_BASE")
    monkeypatch.setenv("SHOP_STAGE", stage)
    reset_caches()
    poll = RecordingPoll()

    # WHEN a parcel is subscribed
    outcome = Kuaidi100Subscriber(poll).subscribe("yunda", "YD900", "")

    # THEN a deployed stage asks kuaidi100 nothing (its pushes would go to 127.0.0.1); dev pushes to the local server
    if stage == "prod":
        assert (outcome, poll.requests) == ("not_configured", [])
    else:
        assert outcome == "subscribed"
        assert json.loads(poll.requests[0][1]["param"][0])["parameters"]["callbackurl"] == (
            "http://127.0.0.1:8000/logistics/kuaidi100/notify"
        )
