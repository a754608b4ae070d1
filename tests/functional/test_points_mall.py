"""The points mall through the HTTP API on moto, with the real order state machine: goods for points become a
points_exchange order that ships like any other, points plus cash is paid with /pay, and an unpaid exchange
cancelled gives back its points and the reward's stock exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.orders import service
from local.providers.payments.keys import GatewayKeys
from local.providers.payments.server import PaymentGateways
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import (
    ADDRESS,
    order_of,
    points_of,
    timers,
    user_id_of,
    wait_for_status,
)
from tests.functional.test_payments import open_pay_page

__all__ = ["timers"]  # the fixture, shared with the orders tests


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture
def member(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A customer with an address and 1000 points."""
    token = register_and_login(client, "points_fan")
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, address
    grant = {"user_id": user_id_of(token), "points": 1000, "reason": "活动赠送"}
    status, body, _ = client.call("POST", "/admin/points/grants", grant, token=admin_token)
    assert status == 201, body
    return {"token": token, "address_id": address["address_id"]}


@pytest.fixture
def gateways(client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[PaymentGateways]:
    """The emulated payment providers on loopback; their notifies go into the app through the test client."""

    def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = client.http.request(
            "POST", urlsplit(url).path, headers={k.lower(): v for k, v in headers.items()}, body=body
        )
        return response.status_code, str(response.body or "")

    running = PaymentGateways(keys=GatewayKeys(), deliver=deliver).start()
    for name, value in running.env(notify_base="http://shop.test").items():
        monkeypatch.setenv(name, value)
    yield running
    running.stop()


def new_reward(client: ShopClient, admin_token: str, **body: Any) -> dict[str, Any]:
    status, answer, _ = client.call("POST", "/admin/points/rewards", body, token=admin_token)
    assert status == 201, answer
    return dict(answer)


def goods(client: ShopClient, admin_token: str, points: int = 300, stock: int = 5, cash_fen: int = 0) -> str:
    reward = new_reward(
        client, admin_token, kind="goods", title="定制保温杯", points=points, stock=stock, cash_fen=cash_fen
    )
    return str(reward["reward_id"])


def exchange(client: ShopClient, token: str, reward_id: str, **body: Any) -> tuple[int, dict[str, Any]]:
    status, answer, _ = client.call("POST", "/points/exchange", {"reward_id": reward_id, **body}, token=token)
    return status, answer


def remaining(client: ShopClient, admin_token: str, reward_id: str) -> tuple[int, int]:
    """(stock, exchanged) of the reward, as the admin sees it."""
    rewards = client.call("GET", "/admin/points/rewards?page_size=100", token=admin_token)[1]["items"]
    found = next(r for r in rewards if r["reward_id"] == reward_id)
    return found["stock"], found["exchanged"]


def test_goods_for_points_only_are_a_paid_points_exchange_order_that_ships_and_is_received(
    client: ShopClient, admin_token: str, member: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    reward_id = goods(client, admin_token, points=300, stock=5)

    status, made = exchange(client, member["token"], reward_id, address_id=member["address_id"], quantity=2)

    assert status == 201, made
    assert (made["kind"], made["points_spent"], made["cash_fen"], made["coupon_id"]) == ("goods", 600, 0, None)
    order = order_of(client, member["token"], made["order_id"])
    assert (order["kind"], order["status"]) == ("points_exchange", "PAID")
    assert order["amounts"]["payable_fen"] == 0 and order["amounts"]["shipping_fen"] == 0
    assert order["address"]["receiver"] == ADDRESS["receiver"]
    assert [(line["sku_id"], line["quantity"]) for line in order["items"]] == [(reward_id, 2)]
    assert points_of(client, member["token"]) == 400
    assert remaining(client, admin_token, reward_id) == (3, 2)
    listed = client.call("GET", "/me/orders", token=member["token"])[1]["items"]
    assert [o["order_id"] for o in listed] == [made["order_id"]]
    [record] = client.call("GET", "/me/points/exchanges", token=member["token"])[1]["items"]
    assert (record["exchange_id"], record["order_id"], record["quantity"]) == (made["exchange_id"], made["order_id"], 2)

    ship = {"carrier": "SF", "tracking_no": "SF1234567890"}
    shipped = client.call("POST", f"/admin/orders/{made['order_id']}/ship", ship, token=admin_token)
    tracking = client.call("GET", f"/orders/{made['order_id']}/tracking", token=member["token"])
    received = client.call("POST", f"/orders/{made['order_id']}/receive", token=member["token"])

    assert (shipped[0], shipped[1]["status"]) == (200, "SHIPPED"), shipped
    assert tracking[0] == 200 and tracking[1]["tracking_no"] == "SF1234567890"
    assert (received[0], received[1]["status"]) == (200, "RECEIVED"), received


def test_goods_need_an_address_of_mine_and_nothing_is_taken_without_one(
    client: ShopClient, admin_token: str, member: dict[str, Any]
) -> None:
    reward_id = goods(client, admin_token)
    stranger = register_and_login(client, "stranger")
    theirs = client.call("POST", "/me/addresses", ADDRESS, token=stranger)[1]["address_id"]

    none = exchange(client, member["token"], reward_id)
    not_mine = exchange(client, member["token"], reward_id, address_id=theirs)
    unknown = exchange(client, member["token"], reward_id, address_id="a_nope")

    assert (none[0], none[1]["code"], none[1]["errors"][0]["field"]) == (400, "VALIDATION_ERROR", "address_id")
    assert (not_mine[0], not_mine[1]["code"]) == (404, "NOT_FOUND")
    assert (unknown[0], unknown[1]["code"]) == (404, "NOT_FOUND")
    assert points_of(client, member["token"]) == 1000
    assert remaining(client, admin_token, reward_id) == (5, 0)
    assert client.call("GET", "/me/orders", token=member["token"])[1]["items"] == []


def test_goods_short_of_points_or_of_stock_are_refused_with_nothing_taken(
    client: ShopClient, admin_token: str, member: dict[str, Any]
) -> None:
    dear = goods(client, admin_token, points=600, stock=5)
    scarce = goods(client, admin_token, points=10, stock=1)
    home = member["address_id"]

    short = exchange(client, member["token"], dear, address_id=home, quantity=2)
    sold_out = exchange(client, member["token"], scarce, address_id=home, quantity=2)
    too_many = exchange(client, member["token"], scarce, address_id=home, quantity=100)

    assert (short[0], short[1]["code"]) == (409, "CONFLICT")
    assert (sold_out[0], sold_out[1]["code"]) == (409, "OUT_OF_STOCK")
    assert (too_many[0], too_many[1]["code"]) == (400, "VALIDATION_ERROR")
    assert points_of(client, member["token"]) == 1000
    assert remaining(client, admin_token, dear) == (5, 0) and remaining(client, admin_token, scarce) == (1, 0)


def test_a_coupon_reward_answers_the_exchange_with_its_coupon_and_no_order(
    client: ShopClient, admin_token: str, member: dict[str, Any]
) -> None:
    template = {"template_id": "pm_5", "name": "积分券 满30减5", "type": "amount_off", "amount_off_fen": 500,
                "threshold_fen": 3000, "valid_days": 30, "per_user_limit": 1, "total": 10}  # fmt: skip
    assert client.call("POST", "/admin/coupons", template, token=admin_token)[0] == 201
    coupon = new_reward(client, admin_token, kind="coupon", points=100, coupon_template_id="pm_5")
    with_cash = client.call(
        "POST", "/admin/points/rewards", {"kind": "coupon", "points": 1, "coupon_template_id": "pm_5", "cash_fen": 100},
        token=admin_token,
    )  # fmt: skip

    status, made = exchange(client, member["token"], coupon["reward_id"])
    twice = exchange(client, member["token"], coupon["reward_id"], quantity=2)

    assert status == 201, made
    assert (made["kind"], made["points_spent"], made["cash_fen"], made["order_id"]) == ("coupon", 100, 0, None)
    assert made["coupon_id"] and made["exchange_id"]
    assert (with_cash[0], with_cash[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (twice[0], twice[1]["code"]) == (400, "VALIDATION_ERROR")


def test_points_plus_cash_goods_await_payment_of_the_cash_and_are_paid_with_pay(
    client: ShopClient,
    admin_token: str,
    member: dict[str, Any],
    gateways: PaymentGateways,
    timers: Callable[[int, int], None],
) -> None:
    timers(60, 60)
    reward_id = goods(client, admin_token, points=200, stock=5, cash_fen=1990)
    listed = next(r for r in client.call("GET", "/points/rewards")[1]["items"] if r["reward_id"] == reward_id)

    status, made = exchange(client, member["token"], reward_id, address_id=member["address_id"], quantity=2)
    order = order_of(client, member["token"], made["order_id"])
    paying = client.call("POST", f"/orders/{made['order_id']}/pay", {"channel": "sandbox"}, token=member["token"])
    open_pay_page(paying[1])
    paid = gateways.pay("sandbox", paying[1]["payment_id"])

    assert listed["cash_fen"] == 1990
    assert status == 201 and (made["points_spent"], made["cash_fen"]) == (400, 3980)
    assert (order["kind"], order["status"], order["amounts"]["payable_fen"]) == (
        "points_exchange",
        "PENDING_PAYMENT",
        3980,
    )
    assert order["amounts"]["shipping_fen"] == 0
    assert paying[0] == 200 and paying[1]["amount_fen"] == 3980, paying
    assert paid[0] == 200, paid
    assert wait_for_status(client, member["token"], made["order_id"], "PAID")["kind"] == "points_exchange"
    assert points_of(client, member["token"]) == 600
    assert remaining(client, admin_token, reward_id) == (3, 2)


def test_an_unpaid_exchange_cancelled_gives_back_its_points_and_the_rewards_stock_once(
    client: ShopClient, admin_token: str, member: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    reward_id = goods(client, admin_token, points=250, stock=4, cash_fen=500)
    made = exchange(client, member["token"], reward_id, address_id=member["address_id"], quantity=2)[1]
    assert points_of(client, member["token"]) == 500 and remaining(client, admin_token, reward_id) == (2, 2)

    cancelled = client.call("POST", f"/orders/{made['order_id']}/cancel", token=member["token"])
    again = client.call("POST", f"/orders/{made['order_id']}/cancel", token=member["token"])

    assert (cancelled[0], cancelled[1]["status"]) == (200, "CANCELLED")
    assert (again[0], again[1]["code"]) == (409, "INVALID_STATE")
    assert points_of(client, member["token"]) == 1000
    assert remaining(client, admin_token, reward_id) == (4, 0)
    ledger = client.call("GET", "/me/points", token=member["token"])[1]["items"]
    assert [entry["delta"] for entry in ledger[:2]] == [500, -500]


def test_an_exchange_left_unpaid_past_its_deadline_gives_back_its_points_and_stock_once(
    client: ShopClient, admin_token: str, member: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(1, 60)
    reward_id = goods(client, admin_token, points=100, stock=3, cash_fen=990)

    made = exchange(client, member["token"], reward_id, address_id=member["address_id"])[1]
    cancelled = wait_for_status(client, member["token"], made["order_id"], "CANCELLED")
    late_cancel = client.call("POST", f"/orders/{made['order_id']}/cancel", token=member["token"])

    assert [entry["status"] for entry in cancelled["timeline"]] == ["PENDING_PAYMENT", "CANCELLED"]
    assert late_cancel[0] == 409
    assert points_of(client, member["token"]) == 1000
    assert remaining(client, admin_token, reward_id) == (3, 0)


# -- the rules ------------------------------------------------------------------------------------------------------

NEW_RULES = {
    "points_per_yuan_earned": 2,
    "points_per_yuan_deduction": 50,
    "max_deduction_share_percent": 20,
    "summary": ["每实付 1 元得 2 积分", "50 积分抵 1 元"],
    "content": "## 积分规则说明\n\n- 每实付 1 元得 **2** 积分\n- 50 积分抵 1 元，最多抵 20%",
}


def test_the_rules_explain_themselves_in_markdown_and_an_operator_changes_them(
    client: ShopClient, admin_token: str, member: dict[str, Any]
) -> None:
    status, before, _ = client.call("GET", "/points/rules")

    changed = client.call("PUT", "/admin/points/rules", NEW_RULES, token=admin_token)
    by_customer = client.call("PUT", "/admin/points/rules", NEW_RULES, token=member["token"])
    after = client.call("GET", "/points/rules")[1]

    assert status == 200 and before["content"].startswith("## ") and before["updated_at"] is None
    assert (before["points_per_yuan_deduction"], before["max_deduction_share_percent"]) == (100, 50)
    assert changed[0] == 200 and changed[1] == after
    assert {name: after[name] for name in NEW_RULES} == NEW_RULES
    assert after["deduction_step_points"] == 50 and after["updated_at"]
    assert (by_customer[0], by_customer[1]["code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize(
    "change",
    [
        {"points_per_yuan_earned": -1},
        {"points_per_yuan_deduction": 0},
        {"max_deduction_share_percent": 101},
        {"points_per_yuan_earned": "many"},
        {"content": "x" * 20_001},
        {"summary": ["一行"] * 21},
        {"surprise": True},
    ],
)
def test_rules_out_of_range_are_refused_and_nothing_changes(
    client: ShopClient, admin_token: str, change: dict[str, Any]
) -> None:
    status, body, _ = client.call("PUT", "/admin/points/rules", {**NEW_RULES, **change}, token=admin_token)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert client.call("GET", "/points/rules")[1]["updated_at"] is None


def test_new_rules_price_and_earn_new_orders_while_placed_orders_keep_theirs(
    client: ShopClient, admin_token: str, member: dict[str, Any], timers: Callable[..., None]
) -> None:
    timers(60, 60, 1)
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]  # 6999.00 yuan
    body = {"address_id": member["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}], "points": 200}
    before = client.call("POST", "/orders", body, token=member["token"], **{"Idempotency-Key": "old"})[1]
    client.call("PUT", "/admin/points/rules", NEW_RULES, token=admin_token)

    after = client.call("POST", "/orders", body, token=member["token"], **{"Idempotency-Key": "new"})[1]
    preview = client.call("POST", "/orders/preview", {**body, "points": 0}, token=member["token"])[1]
    for order in (before, after):  # both paid, shipped, received: settled when the window closes
        service.confirm_payment(
            container().shop, order["order_id"], "pay-" + order["order_id"], order["amounts"]["payable_fen"]
        )
        ship = {"carrier": "SF", "tracking_no": "SF" + order["order_id"][-8:]}
        assert client.call("POST", f"/admin/orders/{order['order_id']}/ship", ship, token=admin_token)[0] == 200
        assert client.call("POST", f"/orders/{order['order_id']}/receive", token=member["token"])[0] == 200
    for order in (before, after):
        wait_for_status(client, member["token"], order["order_id"], "COMPLETED")

    assert before["amounts"]["points_deduction_fen"] == 200  # 100 points a yuan when it was placed
    assert after["amounts"]["points_deduction_fen"] == 400  # 50 points a yuan now
    assert preview["points"]["max_usable"] == 600  # the balance left (1000 - 200 - 200), a multiple of 50
    earned = {
        entry["ref"]: entry["delta"]
        for entry in client.call("GET", "/me/points?page_size=50", token=member["token"])[1]["items"]
        if entry["reason"] == "订单完成"
    }
    goods_paid = {o["order_id"]: o["amounts"]["payable_fen"] - o["amounts"]["shipping_fen"] for o in (before, after)}
    assert earned[f"order:{before['order_id']}:earn"] == goods_paid[before["order_id"]] // 100 * 1
    assert earned[f"order:{after['order_id']}:earn"] == goods_paid[after["order_id"]] // 100 * 2
