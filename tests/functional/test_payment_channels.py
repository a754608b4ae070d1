"""Payments in every client, through the HTTP API on moto with the real order state machine and the providers'
emulators: WeChat JSAPI (pay_params for WeixinJSBridge, signed by the merchant key), WeChat H5 (h5_url), Alipay WAP
(pay_url); an order's payments listed; the query before a cancel (a lost notify found, the order PAID); a cancelled
order's trades closed at the providers; the dev payer (POST /dev/payments/{payment_id}/pay)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from local.providers.payments.keys import GatewayKeys
from local.providers.payments.server import PaymentGateways
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_orders import (  # noqa: F401 - timers
    order_of,
    payment_wait_of,
    timers,
    wait_for_status,
    wait_for_token,
)
from tests.functional.test_payments import (  # noqa: F401 - the fixtures of the payments module
    delivered,
    gateway_keys,
    gateways,
    new_order,
    open_pay_page,
    order_tasks_run_in_process,
    shopper,
)

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
RETURN_URL = "http://localhost:5173/orders/paid"
BRIDGE_FIELDS = {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}


def pay(client: ShopClient, token: str, order_id: str, **body: Any) -> tuple[int, dict[str, Any]]:
    status, answer, _ = client.call("POST", f"/orders/{order_id}/pay", body, token=token)
    return status, dict(answer)


def payments_of(client: ShopClient, token: str, order_id: str) -> list[dict[str, Any]]:
    status, body, _ = client.call("GET", f"/orders/{order_id}/payments", token=token)
    assert status == 200, body
    return list(body["items"])


def dev_pay(client: ShopClient, payment_id: str, notify: bool) -> dict[str, Any]:
    status, body, _ = client.call("POST", f"/dev/payments/{payment_id}/pay", {"notify": notify})
    assert status == 200, body
    return dict(body)


def wait_until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.2)


def test_paying_inside_wechat_gives_bridge_parameters_signed_by_the_merchant_key_and_the_payment_pays_the_order(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    gateway_keys: GatewayKeys,  # noqa: F811
) -> None:
    # GIVEN an unpaid order WHEN its buyer pays inside WeChat with their openid
    order = new_order(client, shopper, "k-jsapi")
    status, started = pay(client, shopper["token"], order["order_id"], channel="wechat_jsapi", openid=OPENID)

    # THEN pay_params are WeixinJSBridge's, signed SHA256withRSA by the merchant key over the four lines
    assert status == 200, started
    params = started["pay_params"]
    assert set(params) == BRIDGE_FIELDS and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=wx") and params["timeStamp"].isdigit()
    message = "".join(f"{params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package")).encode()
    merchant = gateway_keys.wechat_merchant.public_key()
    merchant.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())
    placed = gateways.payment("wechat", started["payment_id"])
    assert placed is not None and placed.notify_url.endswith("/payments/wechat_jsapi/notify")

    # WHEN the payer pays in WeChat (the emulator notifies) THEN the order is PAID
    paid = dev_pay(client, started["payment_id"], notify=True)
    assert paid["notify_status"] == 204
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "PAID"


def test_wechat_h5_gives_an_h5_url_and_alipay_wap_a_wap_pay_url_coming_back_to_an_allowed_page(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
) -> None:
    order = new_order(client, shopper, "k-h5")

    status, h5 = pay(client, shopper["token"], order["order_id"], channel="wechat_h5", return_url=RETURN_URL)
    assert status == 200, h5
    assert urlsplit(h5["h5_url"]).path == "/wechat/h5/checkmweb"
    assert parse_qs(urlsplit(h5["h5_url"]).query)["redirect_url"] == [RETURN_URL]

    status, wap = pay(client, shopper["token"], order["order_id"], channel="alipay_wap", return_url=RETURN_URL)
    assert status == 200, wap
    query = parse_qs(urlsplit(wap["pay_url"]).query)
    assert query["method"] == ["alipay.trade.wap.pay"] and query["return_url"] == [RETURN_URL]
    assert '"product_code":"QUICK_WAP_WAY"' in query["biz_content"][0]

    dev_pay(client, wap["payment_id"], notify=True)
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "PAID"


def test_jsapi_without_an_openid_or_a_return_url_off_the_allow_list_is_refused_and_makes_no_payment(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
) -> None:
    order = new_order(client, shopper, "k-refused")
    order_id = order["order_id"]

    refusals = [
        pay(client, shopper["token"], order_id, channel="wechat_jsapi"),
        pay(client, shopper["token"], order_id, channel="wechat_jsapi", openid=""),
        pay(
            client,
            shopper["token"],
            order_id,
            channel="wechat_jsapi",
            openid=OPENID,
            return_url="https://evil.example/",
        ),
        pay(client, shopper["token"], order_id, channel="alipay_wap", return_url="http://localhost.evil.example/x"),
        pay(client, shopper["token"], order_id, channel="wechat_h5", return_url=12),
    ]

    assert [(status, body["code"]) for status, body in refusals] == [(400, "VALIDATION_ERROR")] * 5
    assert payments_of(client, shopper["token"], order_id) == []


def test_an_orders_payments_are_listed_oldest_first_with_the_late_one_marked_and_refunded(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
) -> None:
    # GIVEN an order paid through the sandbox, then paid again through WeChat JSAPI (a late payment)
    order = new_order(client, shopper, "k-list")
    first = pay(client, shopper["token"], order["order_id"], channel="sandbox")[1]
    second = pay(client, shopper["token"], order["order_id"], channel="wechat_jsapi", openid=OPENID)[1]
    dev_pay(client, first["payment_id"], notify=True)
    dev_pay(client, second["payment_id"], notify=True)

    # WHEN the buyer lists the order's payments
    listed = payments_of(client, shopper["token"], order["order_id"])

    # THEN both, oldest first: the first paid the order; the second is late and refunded in full
    assert [p["payment_id"] for p in listed] == [first["payment_id"], second["payment_id"]]
    paid, late = listed
    assert (paid["channel"], paid["status"], paid["late"], paid["refunded_fen"]) == ("sandbox", "PAID", False, 0)
    assert paid["trade_no"] and paid["paid_at"] and paid["amount_fen"] == order["amounts"]["payable_fen"]
    assert (late["channel"], late["status"], late["late"]) == ("wechat_jsapi", "REFUNDED", True)
    assert late["refunded_fen"] == late["amount_fen"] and late["created_at"] >= paid["created_at"]
    stranger = register_and_login(client, "mallory")
    status, body, _ = client.call("GET", f"/orders/{order['order_id']}/payments", token=stranger)
    assert (status, body["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("channel", ["sandbox", "alipay_wap", "wechat_jsapi"])
def test_a_lost_notify_is_found_by_the_query_before_cancelling_and_the_order_is_paid_not_cancelled(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    channel: str,
) -> None:
    # GIVEN a payment the payer paid at the provider, whose notify never arrived
    order = new_order(client, shopper, f"k-lost-{channel}")
    started = pay(client, shopper["token"], order["order_id"], channel=channel, openid=OPENID)[1]
    assert dev_pay(client, started["payment_id"], notify=False)["payment"]["status"] == "PENDING"

    # WHEN the buyer cancels the order
    status, body, _ = client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])

    # THEN the provider, asked first, said paid: the order is PAID and cannot be cancelled
    assert (status, body["code"]) == (409, "INVALID_STATE")
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "PAID"
    [listed] = payments_of(client, shopper["token"], order["order_id"])
    assert (listed["status"], listed["late"]) == ("PAID", False)
    assert payment_wait_of(order["order_id"]) in (None, "SUCCEEDED")  # none waits: never started, or ended paid


def test_a_lost_notify_is_found_when_the_pay_deadline_passes_and_the_order_goes_on_as_paid(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    timers: Callable[[int, int], None],  # noqa: F811
) -> None:
    # GIVEN an order with a 3 s pay deadline, paid in time at WeChat Pay whose notify was lost
    timers(3, 60)
    order = new_order(client, shopper, "k-lost-deadline")
    started = pay(client, shopper["token"], order["order_id"], channel="wechat_jsapi", openid=OPENID)[1]
    dev_pay(client, started["payment_id"], notify=False)

    # WHEN the deadline passes THEN the compensation asks WeChat Pay first: the order is PAID, not cancelled
    paid = wait_for_status(client, shopper["token"], order["order_id"], "PAID", timeout=25)
    assert [entry["status"] for entry in paid["timeline"]] == ["PENDING_PAYMENT", "PAID"]
    assert payment_wait_of(order["order_id"]) in (None, "SUCCEEDED")


@pytest.mark.parametrize("channel", ["sandbox", "alipay_wap", "wechat_jsapi"])
def test_a_cancelled_orders_open_trade_is_closed_at_its_provider_and_can_no_longer_be_paid(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    channel: str,
) -> None:
    # GIVEN an unpaid order with an open trade the payer has opened
    order = new_order(client, shopper, f"k-close-{channel}")
    started = pay(client, shopper["token"], order["order_id"], channel=channel, openid=OPENID)[1]
    open_pay_page(started)  # the payer opened the cashier (WeChat JSAPI: the order was placed by /pay)
    assert gateways.payment(channel, started["payment_id"]) is not None

    # WHEN the buyer cancels it
    status, body, _ = client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])
    assert status == 200, body

    # THEN the outbox closes the trade at the provider, and the payment shows CLOSED
    wait_until(lambda: bool((trade := gateways.payment(channel, started["payment_id"])) and trade.closed))
    wait_until(lambda: payments_of(client, shopper["token"], order["order_id"])[0]["status"] == "CLOSED")
    status, body, _ = client.call("POST", f"/dev/payments/{started['payment_id']}/pay", {"notify": True})
    assert (status, body["code"]) == (409, "INVALID_STATE")


def test_the_backfill_gives_payments_stored_before_the_list_their_order_entry_once(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
) -> None:

    from chalicelib.config import get_settings
    from chalicelib.payments.repository import DynamoPaymentsRepository
    from infra.migrations import order_payment_entries

    # GIVEN a payment stored as a release before the order's list of payments stored it (no order entry)
    order = new_order(client, shopper, "k-backfill")
    started = pay(client, shopper["token"], order["order_id"], channel="sandbox")[1]
    created_at = DynamoPaymentsRepository().payment(started["payment_id"])["created_at"]  # type: ignore[index]
    key = {"pk": {"S": f"ORDER#{order['order_id']}"}, "sk": {"S": f"PAYMENT#{created_at}#{started['payment_id']}"}}
    boto3.client("dynamodb").delete_item(TableName=get_settings().orders_table, Key=key)
    assert payments_of(client, shopper["token"], order["order_id"]) == []

    # WHEN the backfill runs twice
    first, second = order_payment_entries.run(), order_payment_entries.run()

    # THEN the first writes its entry, the second nothing, and the order lists it again
    assert first["entries_written"] >= 1 and second["entries_written"] == 0
    listed = payments_of(client, shopper["token"], order["order_id"])
    assert [p["payment_id"] for p in listed] == [started["payment_id"]]
