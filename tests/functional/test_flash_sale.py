"""Flash sales through the HTTP API on moto: sessions set their promo stock aside from the SKU, attempts are queued
and decided by the admission queue's consumer (polled as `make run` polls it), a won attempt is a flash_sale order,
an unpaid win gives its unit back, and concurrent buyers never win more than the promo stock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.flashsale import admission
from local.aws.pollers import stop_pollers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import ADDRESS, stock_of

PRICE = 699900  # the first SKU of catalog_data's products


@pytest.fixture(scope="module", autouse=True)
def machinery(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        pollers = [SqsPoller(app, c, "local") for c in sqs_handlers(app) if c.name == "decide_flash_sale_attempts"]
        for poller in pollers:
            poller.start()
        try:
            yield
        finally:
            stop_pollers(pollers)


@pytest.fixture
def pay_seconds(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    def set_seconds(seconds: int) -> None:
        monkeypatch.setenv("FLASH_SALE_PAY_SECONDS", str(seconds))
        reset_caches()

    yield set_seconds
    reset_caches()


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def sku_id(client: ShopClient, admin_token: str) -> str:
    create_catalog(client, admin_token)
    return str(create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"])


def buyer(client: ShopClient, name: str) -> str:
    token = register_and_login(client, name)
    status, body, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, body
    return token


def new_session(client: ShopClient, admin_token: str, sku_id: str, **item: Any) -> tuple[int, Any]:
    body = {
        "title": "双十二秒杀",
        "starts_at": item.pop("starts_at", at(-1)),
        "ends_at": item.pop("ends_at", at(3600)),
        "items": [{"sku_id": sku_id, "promo_price_fen": 99900, "promo_stock": 3, "per_user_limit": 1, **item}],
    }
    status, answer, _ = client.call("POST", "/admin/flash-sales", body, token=admin_token)
    return status, answer


def try_buy(client: ShopClient, token: str, session_id: str, sku_id: str, key: str, **body: Any) -> tuple[int, Any]:
    payload = {"sku_id": sku_id, **body}
    status, answer, _ = client.call(
        "POST", f"/flash-sales/{session_id}/attempts", payload, token=token, **{"Idempotency-Key": key}
    )
    return status, answer


def decided(client: ShopClient, token: str, attempt_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = client.call("GET", f"/flash-sales/attempts/{attempt_id}", token=token)
        assert status == 200, body
        if body["status"] != "QUEUED" or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.2)


def remaining(client: ShopClient, session_id: str) -> int:
    status, body, _ = client.call("GET", f"/flash-sales/{session_id}")
    assert status == 200, body
    return int(body["items"][0]["remaining"])


def test_a_session_sets_its_promo_stock_aside_from_the_sku_at_once(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    # GIVEN a SKU with 10 in stock WHEN a session takes 3 of it
    status, session = new_session(client, admin_token, sku_id)
    # THEN it is ACTIVE with 3 remaining, and the SKU has 7 left
    assert status == 201, session
    assert session["status"] == "ACTIVE"
    assert session["items"][0]["remaining"] == 3
    assert session["items"][0]["price_fen"] == PRICE
    assert stock_of(client, sku_id) == 7
    status, listed, _ = client.call("GET", "/flash-sales")
    assert status == 200
    assert [s["session_id"] for s in listed["items"]] == [session["session_id"]]


def test_a_session_asking_more_than_the_stock_or_a_price_not_below_is_refused(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    status, body = new_session(client, admin_token, sku_id, promo_stock=11)
    assert (status, body["code"]) == (409, "OUT_OF_STOCK")
    status, body = new_session(client, admin_token, sku_id, promo_price_fen=PRICE)
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    status, body = new_session(client, admin_token, sku_id, ends_at=at(-10), starts_at=at(-20))
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert stock_of(client, sku_id) == 10


def test_an_upcoming_session_can_be_changed_or_deleted_and_gives_its_stock_back(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    status, session = new_session(client, admin_token, sku_id, starts_at=at(600), ends_at=at(1200))
    assert status == 201 and session["status"] == "UPCOMING"
    path = f"/admin/flash-sales/{session['session_id']}"
    body = {
        "title": "改期",
        "starts_at": at(700),
        "ends_at": at(1300),
        "items": [{"sku_id": sku_id, "promo_price_fen": 88800, "promo_stock": 5, "per_user_limit": 2}],
    }
    status, replaced, _ = client.call("PUT", path, body, token=admin_token)
    assert status == 200, replaced
    assert stock_of(client, sku_id) == 5
    token = buyer(client, "early")
    status, refused = try_buy(client, token, session["session_id"], sku_id, "k1")
    assert (status, refused["code"]) == (409, "NOT_STARTED")
    status, _, _ = client.call("DELETE", path, token=admin_token)
    assert status == 204
    assert stock_of(client, sku_id) == 10
    assert client.call("GET", f"/flash-sales/{session['session_id']}")[0] == 404


def test_a_running_session_cannot_be_changed_or_deleted(client: ShopClient, admin_token: str, sku_id: str) -> None:
    _, session = new_session(client, admin_token, sku_id)
    status, body, _ = client.call("DELETE", f"/admin/flash-sales/{session['session_id']}", token=admin_token)
    assert status == 409, body


def test_a_won_attempt_is_a_flash_sale_order_at_the_promo_price_and_the_limit_holds(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    # GIVEN an active session with a limit of 1
    _, session = new_session(client, admin_token, sku_id)
    token = buyer(client, "bob")
    # WHEN bob tries once
    status, queued = try_buy(client, token, session["session_id"], sku_id, "k1")
    assert status == 202, queued
    assert queued["status"] == "QUEUED"
    # THEN the same key answers the same attempt, a second one is over the limit
    assert try_buy(client, token, session["session_id"], sku_id, "k1")[1]["attempt_id"] == queued["attempt_id"]
    status, over = try_buy(client, token, session["session_id"], sku_id, "k2")
    assert (status, over["code"]) == (409, "LIMIT_REACHED")
    # AND it is won: an order of kind flash_sale at the promo price with the usual shipping
    attempt = decided(client, token, queued["attempt_id"])
    assert attempt["status"] == "WON", attempt
    status, order, _ = client.call("GET", f"/orders/{attempt['order_id']}", token=token)
    assert status == 200, order
    assert order["kind"] == "flash_sale"
    assert order["status"] == "PENDING_PAYMENT"
    assert order["items"][0]["unit_price_fen"] == 99900
    assert order["amounts"]["payable_fen"] == 99900 + order["amounts"]["shipping_fen"]
    assert remaining(client, session["session_id"]) == 2
    assert stock_of(client, sku_id) == 7  # the regular stock never moves for a flash order
    # AND another buyer cannot read it
    other = buyer(client, "eve")
    assert client.call("GET", f"/flash-sales/attempts/{queued['attempt_id']}", token=other)[0] == 404


def test_a_cancelled_unpaid_win_gives_its_unit_back_and_frees_the_limit(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    _, session = new_session(client, admin_token, sku_id, promo_stock=1)
    token = buyer(client, "carol")
    _, queued = try_buy(client, token, session["session_id"], sku_id, "k1")
    attempt = decided(client, token, queued["attempt_id"])
    assert attempt["status"] == "WON", attempt
    assert remaining(client, session["session_id"]) == 0
    status, body = try_buy(client, buyer(client, "dave"), session["session_id"], sku_id, "k1")
    assert (status, body["code"]) == (409, "SOLD_OUT")
    # WHEN carol cancels her unpaid order
    status, body, _ = client.call("POST", f"/orders/{attempt['order_id']}/cancel", token=token)
    assert status == 200, body
    # THEN the unit is back in the session (through the orders outbox) and her limit is free again
    deadline = time.monotonic() + 20
    while remaining(client, session["session_id"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remaining(client, session["session_id"]) == 1
    assert stock_of(client, sku_id) == 9
    status, again = try_buy(client, token, session["session_id"], sku_id, "k2")
    assert status == 202, again


def test_concurrent_buyers_never_win_more_than_the_promo_stock(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    # GIVEN 3 units and 8 buyers trying at once
    _, session = new_session(client, admin_token, sku_id)
    tokens = [buyer(client, f"buyer{n}") for n in range(8)]

    def attempt(token: str) -> tuple[int, Any]:
        return try_buy(client, token, session["session_id"], sku_id, "k1")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, tokens))
    # THEN every one is queued or refused as sold out, exactly 3 win, the rest lose SOLD_OUT
    assert all(status in (202, 409) for status, _ in answers), answers
    outcomes = [
        decided(client, token, body["attempt_id"])
        for token, (status, body) in zip(tokens, answers, strict=True)
        if status == 202
    ]
    won = [outcome for outcome in outcomes if outcome["status"] == "WON"]
    assert len(won) == 3, outcomes
    assert all(o["reason"] == "SOLD_OUT" for o in outcomes if o["status"] == "LOST"), outcomes
    assert remaining(client, session["session_id"]) == 0
    assert stock_of(client, sku_id) == 7


def test_an_ended_session_gives_its_unsold_rest_back_and_a_later_cancelled_win_goes_to_the_sku(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    # GIVEN a session of 3 units ending in a few seconds, one of them won
    _, session = new_session(client, admin_token, sku_id, ends_at=at(4))
    token = buyer(client, "frank")
    _, queued = try_buy(client, token, session["session_id"], sku_id, "k1")
    attempt = decided(client, token, queued["attempt_id"])
    assert attempt["status"] == "WON", attempt
    # WHEN it has ended and the closing schedule runs
    ends_at = datetime.fromisoformat(session["ends_at"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()) + 1)
    status, refused = try_buy(client, buyer(client, "gina"), session["session_id"], sku_id, "k1")
    assert (status, refused["code"]) == (409, "ENDED")
    assert admission.close_ended(container().flash_sale) == {"closed": 1}
    # THEN the 2 unsold units are back on the SKU and the session shows nothing remaining
    assert stock_of(client, sku_id) == 9
    status, ended, _ = client.call("GET", f"/flash-sales/{session['session_id']}")
    assert (ended["status"], ended["items"][0]["remaining"]) == ("ENDED", 0)
    # AND the win cancelled unpaid afterwards gives its unit to the SKU, not to the closed session
    assert client.call("POST", f"/orders/{attempt['order_id']}/cancel", token=token)[0] == 200
    deadline = time.monotonic() + 20
    while stock_of(client, sku_id) == 9 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stock_of(client, sku_id) == 10


def test_attempts_are_decided_in_arrival_order(client: ShopClient, admin_token: str, sku_id: str) -> None:
    # GIVEN one unit and three buyers trying one after the other
    _, session = new_session(client, admin_token, sku_id, promo_stock=1)
    tokens = [buyer(client, name) for name in ("first", "second", "third")]
    answers = [try_buy(client, token, session["session_id"], sku_id, "k1") for token in tokens]
    # THEN the first to arrive wins and the others lose, sold out: queued and decided LOST, or refused at once with
    # 409 SOLD_OUT when the consumer has already given the unit away before they arrive
    outcomes = [outcome_of(client, token, status, body) for token, (status, body) in zip(tokens, answers, strict=True)]
    assert outcomes == [("WON", None), ("LOST", "SOLD_OUT"), ("LOST", "SOLD_OUT")]


def outcome_of(client: ShopClient, token: str, status: int, body: dict[str, Any]) -> tuple[str, str | None]:
    if status == 409:
        return "LOST", body["code"]
    assert status == 202, body
    result = decided(client, token, body["attempt_id"])
    return result["status"], result["reason"]
