"""Parcel tracking through kuaidi100's signed push on moto: carrier codes on shipping, the push verified (bad sign,
unknown parcel, malformed param: 400 and nothing changes), duplicates changing nothing, events newest first in
kuaidi100's shape, and 签收 bringing the order's automatic receipt forward."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest

from chalicelib.bootstrap import container
from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.config import reset_caches
from chalicelib.orders import service
from chalicelib.orders.deadlines import state_deadline
from local.demo.logistics import seed_logistics
from local.providers.logistics.server import Kuaidi100Emulator
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_orders import ADDRESS, place

SALT = "test-subscription-salt"


@pytest.fixture(autouse=True)
def subscription_salt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KUAIDI100_SALT", SALT)
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def buyer(client: ShopClient, admin_token: str) -> dict[str, Any]:
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    address = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


def shipped_order(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, carrier: str, tracking_no: str, key: str = "k-1"
) -> str:
    order = place(client, buyer, key=key)[1]
    assert service.confirm_payment(container().shop, order["order_id"], "pay-1", order["amounts"]["payable_fen"])
    ship = {"carrier": carrier, "tracking_no": tracking_no}
    status, body, _ = client.call("POST", f"/admin/orders/{order['order_id']}/ship", ship, token=admin_token)
    assert status == 200, body
    return str(order["order_id"])


def beijing(moment_utc: str) -> str:
    """An ISO UTC time as kuaidi100 writes times (Beijing time, `YYYY-MM-DD HH:MM:SS`)."""
    return (parse_iso(moment_utc) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def push_param(com: str, nu: str, state: str, events: list[tuple[str, str, str]]) -> str:
    """kuaidi100's push JSON for events (ISO UTC time, context, area), given oldest first."""
    data = [
        {"context": context, "time": beijing(at), "ftime": beijing(at), "areaName": area, "status": "在途"}
        for at, context, area in reversed(events)
    ]
    checked = "1" if state == "3" else "0"
    last = {"message": "ok", "state": state, "status": "200", "ischeck": checked, "com": com, "nu": nu, "data": data}
    return json.dumps({"status": "polling", "billstatus": "got", "message": "", "lastResult": last}, ensure_ascii=False)


def md5_sign(param: str, salt: str) -> str:
    """kuaidi100's signature, computed here independently of the app's code."""
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()


def notify(client: ShopClient, param: str, sign: str | None = None) -> tuple[int, Any]:
    sign = sign if sign is not None else md5_sign(param, SALT)
    body = urlencode({"param": param, "sign": sign}).encode()
    response = client.http.request(
        "POST", "/logistics/kuaidi100/notify", headers={"content-type": "application/x-www-form-urlencoded"}, body=body
    )
    return response.status_code, json.loads(response.body)


def tracking(client: ShopClient, buyer: dict[str, Any], order_id: str) -> dict[str, Any]:
    status, body, _ = client.call("GET", f"/orders/{order_id}/tracking", token=buyer["token"])
    assert status == 200, body
    return dict(body)


def ago(**delta: float) -> str:
    return iso(utcnow() - timedelta(**delta)).replace(".000", "")


def test_a_signed_push_is_kept_and_tracking_shows_it_newest_first_in_kuaidi100s_shape(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN an order shipped with SF (a short name)
    order_id = shipped_order(client, buyer, admin_token, "SF", "SF1234567890")
    before = tracking(client, buyer, order_id)
    events = [
        (ago(hours=5), "【深圳市】快件已揽收", "广东省深圳市"),
        (ago(hours=2), "快件已到达【广州转运中心】", "广东省广州市"),
    ]

    # WHEN kuaidi100 pushes the parcel's events, signed with the subscription salt, twice
    first = notify(client, push_param("shunfeng", "SF1234567890", "0", events))
    again = notify(client, push_param("shunfeng", "SF1234567890", "0", events))

    # THEN the shop answers as kuaidi100 expects, and tracking lists the events once, newest first
    assert first == (200, {"result": True, "returnCode": "200", "message": "成功"})
    assert again == first
    assert before["carrier_code"] == "shunfeng" and before["events"] == [] and before["state"] is None
    after = tracking(client, buyer, order_id)
    assert after["carrier"] == "SF" and after["carrier_code"] == "shunfeng" and after["tracking_no"] == "SF1234567890"
    assert after["state"] == "0" and after["state_name"] == "在途" and after["is_signed"] is False
    assert [event["context"] for event in after["events"]] == ["快件已到达【广州转运中心】", "【深圳市】快件已揽收"]
    newest = after["events"][0]
    assert newest["time"] == newest["at"] == events[1][0] and newest["location"] == "广东省广州市"
    assert set(newest) >= {"time", "context", "location", "status", "description", "at"}


def test_a_push_with_a_bad_sign_an_unknown_parcel_or_a_malformed_param_is_refused_and_changes_nothing(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN a parcel shipped with 中通
    order_id = shipped_order(client, buyer, admin_token, "zhongtong", "ZT100")
    good = push_param("zhongtong", "ZT100", "3", [(ago(hours=1), "已签收", "广东省深圳市")])

    # WHEN pushes come with a wrong sign, for a parcel the shop never shipped, or with a param that is not kuaidi100's
    refused = [
        notify(client, good, sign="0" * 32),
        notify(client, good, sign=md5_sign(good, "another-salt")),
        notify(client, push_param("zhongtong", "ZT999", "0", [(ago(hours=1), "揽收", "")])),
        notify(client, push_param("yunda", "ZT100", "0", [(ago(hours=1), "揽收", "")])),
        notify(client, '{"status": "polling"}'),
        notify(client, "not json"),
    ]
    form = client.http.request("POST", "/logistics/kuaidi100/notify", headers={"content-type": "application/json"},
                               body=json.dumps({"param": good}).encode())  # fmt: skip

    # THEN each is 400 with the error body, and the parcel shows nothing
    assert [status for status, _ in refused] == [400] * 6 and form.status_code == 400
    assert all(body["code"] == "VALIDATION_ERROR" for _, body in refused)
    shown = tracking(client, buyer, order_id)
    assert shown["events"] == [] and shown["state"] is None and shown["is_signed"] is False


def test_a_parcel_signed_for_brings_the_orders_automatic_receipt_forward_once(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN a shipped order due for automatic receipt AUTO_RECEIVE_SECONDS (14 days) after shipping
    order_id = shipped_order(client, buyer, admin_token, "yuantong", "YT42")
    shipped = container().shop.orders.order(order_id)
    assert shipped is not None and shipped.due_at is not None
    signed_at = ago(hours=1)

    # WHEN kuaidi100 pushes 签收 (state 3), and then the same push again
    param = push_param(
        "yuantong",
        "YT42",
        "3",
        [(ago(days=1), "快件已揽收", "上海市"), (signed_at, "已签收，签收人：本人", "广东省深圳市")],
    )
    assert notify(client, param)[0] == 200
    signed = container().shop.orders.order(order_id)
    assert notify(client, param)[0] == 200
    again = container().shop.orders.order(order_id)

    # THEN the order is due SIGNED_AUTO_RECEIVE_SECONDS (7 days) after the signature, earlier than before, and still
    # SHIPPED; the duplicate changes nothing; tracking says it is signed
    assert signed is not None and again is not None
    expected = iso(parse_iso(signed_at) + timedelta(seconds=604800))
    assert signed.due_at == expected and signed.due_at < shipped.due_at
    assert state_deadline(signed, None, container().shop.timers.durations()) == parse_iso(expected)
    assert signed.status == "SHIPPED" and again.due_at == signed.due_at and again.shipment == signed.shipment
    shown = tracking(client, buyer, order_id)
    assert shown["state"] == "3" and shown["state_name"] == "签收" and shown["is_signed"] is True


def test_a_signature_older_than_the_receipt_deadline_leaves_the_earlier_deadline(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN orders are received automatically 1 hour after shipping, sooner than 7 days after a signature
    monkeypatch.setenv("AUTO_RECEIVE_SECONDS", "3600")
    reset_caches()
    order_id = shipped_order(client, buyer, admin_token, "EMS", "EMS77")
    shipped = container().shop.orders.order(order_id)

    # WHEN the parcel is signed for
    assert notify(client, push_param("ems", "EMS77", "3", [(ago(minutes=5), "已签收", "北京市")]))[0] == 200

    # THEN the order keeps its earlier due time
    signed = container().shop.orders.order(order_id)
    assert shipped is not None and signed is not None and signed.due_at == shipped.due_at


def test_a_carrier_kuaidi100_does_not_know_is_kept_with_no_code_and_no_events(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN an order shipped by the shop's own van
    order_id = shipped_order(client, buyer, admin_token, "同城自送", "VAN001")

    # WHEN the buyer tracks it
    shown = tracking(client, buyer, order_id)

    # THEN the carrier is kept as named, without a kuaidi100 code or events
    assert shown["carrier"] == "同城自送" and shown["carrier_code"] is None and shown["events"] == []
    assert shown["state"] is None and shown["is_signed"] is False


def test_two_orders_shipped_in_one_parcel_are_both_brought_forward_when_it_is_signed_for(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN two orders shipped together in one 韵达 parcel
    first = shipped_order(client, buyer, admin_token, "YD", "YD5", key="k-1")
    second = shipped_order(client, buyer, admin_token, "yunda", "YD5", key="k-2")

    # WHEN the parcel is signed for
    assert notify(client, push_param("yunda", "YD5", "3", [(ago(hours=1), "已签收", "广东省深圳市")]))[0] == 200

    # THEN both orders are due for automatic receipt 7 days after the signature, and both show the event
    orders = [container().shop.orders.order(order_id) for order_id in (first, second)]
    assert all(order is not None and order.shipment and order.shipment.get("signed_at") for order in orders)
    assert [len(tracking(client, buyer, order_id)["events"]) for order_id in (first, second)] == [1, 1]


@pytest.fixture
def kuaidi100(client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kuaidi100Emulator]:
    """The built-in kuaidi100 emulator, delivering its pushes to the test client as it would over HTTP."""

    def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = client.http.request("POST", urlsplit(url).path, headers=headers, body=body)
        return response.status_code, response.body.decode()

    emulator = Kuaidi100Emulator(salt="emulated-salt", deliver=deliver).start()
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield emulator
    emulator.stop()


def test_the_dev_push_makes_the_kuaidi100_emulator_push_signed_events_the_shop_keeps(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, kuaidi100: Kuaidi100Emulator
) -> None:
    # GIVEN an order shipped with 极兔
    order_id = shipped_order(client, buyer, admin_token, "JT", "JT0001")

    # WHEN the emulator is asked to push 揽收, then 签收, and a push for a parcel the shop never shipped
    picked = client.call("POST", "/dev/logistics/push", {"tracking_no": "JT0001", "state": "1", "context": "已揽收"})
    signed = client.call(
        "POST", "/dev/logistics/push", {"tracking_no": "JT0001", "state": "3", "context": "已签收", "location": "深圳"}
    )
    unknown = client.call("POST", "/dev/logistics/push", {"tracking_no": "NOPE1", "state": "1", "context": "已揽收"})

    # THEN each push was signed with the subscription salt and accepted; tracking shows both events, signed for
    assert picked[0] == 200 and picked[1]["pushed"] is True and picked[1]["notify_status"] == 200
    assert signed[0] == 200 and signed[1]["notify_answer"] == {"result": True, "returnCode": "200", "message": "成功"}
    assert unknown[0] == 404
    shown = tracking(client, buyer, order_id)
    assert [event["context"] for event in shown["events"]] == ["已签收", "已揽收"]
    assert shown["is_signed"] is True and shown["events"][0]["location"] == "深圳"
    order = container().shop.orders.order(order_id)
    assert order is not None and order.shipment and order.shipment.get("auto_receive_at")
    assert [status for _, _, status in kuaidi100.state.pushes] == [200, 200]


def test_the_demo_seed_makes_freight_templates_and_a_tracked_parcel_once(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN a product in stock and a customer
    product = client.call("GET", f"/products/{buyer['sku_id'].rsplit('-', 1)[0]}")[1]
    user_id = client.call("GET", "/me", token=buyer["token"])[1]["user_id"]

    # WHEN the demo's logistics part is seeded twice
    first = seed_logistics(container(), user_id, product)
    again = seed_logistics(container(), user_id, product)

    # THEN the templates are there once, and the customer's shipped order shows its parcel's events, newest first
    templates = client.call("GET", "/admin/freight-templates", token=admin_token)[1]["items"]
    assert first == again == {"freight_templates": 3, "tracked_parcel": "SF1400000001"}
    assert sorted(t["template_id"] for t in templates) == ["ft_demo_bulky", "ft_demo_free", "ft_demo_standard"]
    orders = client.call("GET", "/me/orders", token=buyer["token"])[1]["items"]
    assert [order["status"] for order in orders] == ["SHIPPED"]
    shown = tracking(client, buyer, orders[0]["order_id"])
    assert shown["state"] == "5" and shown["state_name"] == "派件" and len(shown["events"]) == 5
    assert shown["events"][0]["context"].startswith("快件交给顺丰快递员")


def test_a_push_nested_too_deeply_or_with_other_digits_is_refused(
    client: ShopClient, buyer: dict[str, Any], admin_token: str
) -> None:
    # GIVEN a shipped parcel
    order_id = shipped_order(client, buyer, admin_token, "STO", "STO9")
    good = push_param("shentong", "STO9", "0", [(ago(hours=1), "揽收", "")])

    # WHEN a push nests its JSON 10,000 deep, or writes its time with full-width digits
    deep = "[" * 10_000 + "]" * 10_000
    full_width = good.replace(beijing(ago(hours=0))[:4], "２０２６")

    # THEN both are 400, and nothing is kept
    assert notify(client, deep)[0] == 400
    assert full_width != good and notify(client, full_width)[0] == 400
    assert tracking(client, buyer, order_id)["events"] == []


def test_the_subscription_salt_may_come_from_the_stages_secret(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the salt kept in a Secrets Manager secret instead of the environment
    arn = boto3.client("secretsmanager").create_secret(
        Name="shop/local/logistics", SecretString=json.dumps({"KUAIDI100_SALT": SALT})
    )["ARN"]
    monkeypatch.delenv("KUAIDI100_SALT")
    monkeypatch.setenv("LOGISTICS_SECRETS_ARN", arn)
    order_id = shipped_order(client, buyer, admin_token, "JD", "JD77")

    # WHEN kuaidi100 pushes, signed with that salt
    answer = notify(client, push_param("jd", "JD77", "0", [(ago(hours=1), "京东快递已揽收", "北京市")]))

    # THEN the push is verified and kept
    assert answer[0] == 200 and len(tracking(client, buyer, order_id)["events"]) == 1


def test_a_push_repeating_an_event_keeps_it_once(client: ShopClient, buyer: dict[str, Any], admin_token: str) -> None:
    # GIVEN a shipped parcel
    order_id = shipped_order(client, buyer, admin_token, "YTO", "YT88")
    at = ago(hours=3)

    # WHEN a push lists the same event twice
    answer = notify(
        client, push_param("yuantong", "YT88", "0", [(at, "快件已揽收", "上海市"), (at, "快件已揽收", "上海市")])
    )

    # THEN it is accepted and the event is kept once
    assert answer[0] == 200 and len(tracking(client, buyer, order_id)["events"]) == 1
