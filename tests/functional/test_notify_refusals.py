"""Payment notifies with hostile input: JSON nested past 32 levels, signature timestamps in other digits than ASCII
0-9, a lone surrogate. Each is refused the way its provider understands, never a 500, and nothing changes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.payments.channels import sandbox
from local.providers.payments.keys import GatewayKeys
from local.providers.payments.server import PaymentGateways
from local.providers.payments.wechat import wechat_signed_headers
from tests.functional.conftest import ShopClient
from tests.functional.test_orders import order_of
from tests.functional.test_payments import (  # noqa: F401 - fixtures: a buyer with an address, the emulated providers
    assert_refused,
    delivered,
    gateway_keys,
    gateways,
    new_order,
    order_tasks_run_in_process,
    payment,
    post_notify,
    shopper,
    start_paying,
)

OTHER_DIGITS = {
    "full-width": str.maketrans("0123456789", "０１２３４５６７８９"),
    "arabic-indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "superscript": str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"),
}


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def paid_notice(started: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"payment_id": started["payment_id"], "amount_fen": started["amount_fen"], "trade_no": "SBX9",
            "status": "SUCCESS", "paid_at": "2026-11-24T08:00:00Z", **extra}  # fmt: skip


def assert_nothing_changed(client: ShopClient, buyer: dict[str, Any], order_id: str, payment_id: str) -> None:
    assert order_of(client, buyer["token"], order_id)["status"] == "PENDING_PAYMENT"
    assert payment(payment_id)["status"] == "CREATED"


@pytest.mark.parametrize("depth", [33, 100_000])
@pytest.mark.parametrize("channel", ["sandbox", "wechat"])
def test_a_notify_nested_deeper_than_32_levels_is_refused_and_changes_nothing(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    gateway_keys: GatewayKeys,  # noqa: F811
    channel: str,
    depth: int,
) -> None:
    order = new_order(client, shopper, f"k-deep-{channel}-{depth}")
    started = start_paying(client, shopper["token"], order["order_id"], channel)
    if channel == "sandbox":
        body = sandbox.canonical(paid_notice(started))[:-1] + b',"extra":' + deep(depth) + b"}"
        headers = {"Content-Type": "application/json", sandbox.TIMESTAMP_HEADER: str(int(time.time())),
                   sandbox.SIGNATURE_HEADER: "0" * 64}  # fmt: skip
    else:  # signed by WeChat Pay's platform key: the signature is good, the body is hostile
        body = b'{"id":"EV1","resource":' + deep(depth) + b"}"
        headers = wechat_signed_headers(gateway_keys.wechat_platform, gateway_keys.wechat_platform_serial, body)

    status, text = post_notify(client, f"/payments/{channel}/notify", body, headers)

    assert_refused(channel, status, text)
    assert_nothing_changed(client, shopper, order["order_id"], started["payment_id"])


@pytest.mark.parametrize("digits", OTHER_DIGITS)
def test_a_sandbox_notify_whose_timestamp_is_in_other_digits_is_refused_even_when_signed(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    gateway_keys: GatewayKeys,  # noqa: F811
    digits: str,
) -> None:
    """GIVEN a notify signed with the sandbox secret over the timestamp's value WHEN the timestamp header is written
    in full-width, Arabic-Indic or superscript digits THEN it is refused (400), never taken and never a 500."""
    order = new_order(client, shopper, f"k-digits-{digits}")
    started = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    notice = paid_notice(started)
    headers = sandbox.signed_headers(gateway_keys.sandbox_secret, notice)
    headers[sandbox.TIMESTAMP_HEADER] = headers[sandbox.TIMESTAMP_HEADER].translate(OTHER_DIGITS[digits])

    status, text = post_notify(client, "/payments/sandbox/notify", sandbox.canonical(notice), headers)

    assert_refused("sandbox", status, text)
    assert_nothing_changed(client, shopper, order["order_id"], started["payment_id"])


@pytest.mark.parametrize("digits", OTHER_DIGITS)
def test_a_wechat_pay_notify_whose_timestamp_is_in_other_digits_is_refused(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    gateway_keys: GatewayKeys,  # noqa: F811
    delivered: list[tuple[str, bytes, dict[str, str]]],  # noqa: F811
    digits: str,
) -> None:
    order = new_order(client, shopper, f"k-wx-digits-{digits}")
    started = start_paying(client, shopper["token"], order["order_id"], "wechat")
    body = b'{"id":"EV2","resource":{}}'
    headers = wechat_signed_headers(gateway_keys.wechat_platform, gateway_keys.wechat_platform_serial, body)
    headers["Wechatpay-Timestamp"] = headers["Wechatpay-Timestamp"].translate(OTHER_DIGITS[digits])

    status, text = post_notify(client, "/payments/wechat/notify", body, headers)

    assert_refused("wechat", status, text)
    assert_nothing_changed(client, shopper, order["order_id"], started["payment_id"])


def test_a_sandbox_notify_with_a_lone_surrogate_is_refused_not_a_500(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811
    gateways: PaymentGateways,  # noqa: F811
    gateway_keys: GatewayKeys,  # noqa: F811
) -> None:
    order = new_order(client, shopper, "k-surrogate")
    started = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    body = sandbox.canonical(paid_notice(started))[:-1] + b',"note":"\\udc80"}'
    headers = sandbox.signed_headers(gateway_keys.sandbox_secret, {"x": 1})

    status, text = post_notify(client, "/payments/sandbox/notify", body, headers)

    assert_refused("sandbox", status, text)
    assert_nothing_changed(client, shopper, order["order_id"], started["payment_id"])
