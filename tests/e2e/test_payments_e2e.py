"""Payments over real HTTP against `python -m local`: the sandbox pay_url pays the order through the gateway's signed
notify; Alipay and WeChat Pay through their emulators; concurrent duplicate notifies and forged ones change nothing."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer, login
from tests.e2e.test_orders_e2e import TIMEOUT, bearer, buyer, product_with_stock

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


def unpaid_order(http: requests.Session, base_url: str, admin_headers: dict[str, str]) -> tuple[dict[str, Any], str]:
    """(the buyer, the id of their new unpaid order of one unit)."""
    sku_id = product_with_stock(http, base_url, admin_headers, 5)
    customer = buyer(http, base_url)
    body = {"address_id": customer["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]}
    headers = {**customer["headers"], "Idempotency-Key": f"pay-{sku_id}"}
    placed = http.post(f"{base_url}/orders", json=body, headers=headers, timeout=TIMEOUT)
    assert placed.status_code == 201, placed.text
    return customer, str(placed.json()["order_id"])


def start(http: requests.Session, base_url: str, customer: dict[str, Any], order_id: str, channel: str) -> Any:
    answer = http.post(f"{base_url}/orders/{order_id}/pay", json={"channel": channel}, headers=customer["headers"],
                       timeout=TIMEOUT)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def order(http: requests.Session, base_url: str, customer: dict[str, Any], order_id: str) -> Any:
    answer = http.get(f"{base_url}/orders/{order_id}", headers=customer["headers"], timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def gateways_url(server: LocalServer) -> str:
    found = next(m for line in server.output if (m := re.match(r"\s+payments\s+(http://\S+)", line)))
    return found.group(1)


def test_posting_the_sandbox_pay_url_pays_the_order(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    customer, order_id = unpaid_order(http, base_url, admin)
    started = start(http, base_url, customer, order_id, "sandbox")
    assert urlsplit(started["pay_url"]).hostname == "127.0.0.1"

    paid = http.post(started["pay_url"], timeout=TIMEOUT)

    assert paid.status_code == 200 and paid.json()["notify_status"] == 200, paid.text
    assert order(http, base_url, customer, order_id)["status"] == "PAID"


def test_eight_concurrent_duplicate_notifies_pay_the_order_once(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    customer, order_id = unpaid_order(http, base_url, admin)
    pay_url = start(http, base_url, customer, order_id, "sandbox")["pay_url"]

    def pay(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            return int(session.post(pay_url, timeout=TIMEOUT).json()["notify_status"])

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(pay, range(8)))

    assert statuses == [200] * 8  # every duplicate is acknowledged, so the gateway stops notifying
    timeline = order(http, base_url, customer, order_id)["timeline"]
    assert [entry["status"] for entry in timeline].count("PAID") == 1


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_paying_through_the_alipay_and_wechat_pay_emulators_pays_the_order(
    http: requests.Session, base_url: str, admin: dict[str, str], local_server: LocalServer, channel: str
) -> None:
    customer, order_id = unpaid_order(http, base_url, admin)
    started = start(http, base_url, customer, order_id, channel)
    if channel == "alipay":
        cashier = http.get(started["pay_url"], timeout=TIMEOUT)  # the cashier page: a form that pays
        assert cashier.status_code == 200 and "alipay/pay" in cashier.text

    paid = http.post(f"{gateways_url(local_server)}/{channel}/pay", data={"out_trade_no": started["payment_id"]},
                     timeout=TIMEOUT)  # fmt: skip

    assert paid.json()["notify_status"] == (200 if channel == "alipay" else 204), paid.text
    assert order(http, base_url, customer, order_id)["status"] == "PAID"


@pytest.mark.parametrize("channel", ["sandbox", "alipay", "wechat"])
def test_a_forged_notify_over_http_is_refused_and_the_order_stays_unpaid(
    http: requests.Session, base_url: str, admin: dict[str, str], channel: str
) -> None:
    from chalicelib.payments.channels import sandbox
    from local.providers.payments.alipay import ALIPAY_APP_ID, alipay_notify_body, alipay_notify_fields
    from local.providers.payments.keys import new_private_key

    customer, order_id = unpaid_order(http, base_url, admin)
    started = start(http, base_url, customer, order_id, channel)
    payment_id, amount = started["payment_id"], started["amount_fen"]
    if channel == "alipay":
        fields = alipay_notify_fields(ALIPAY_APP_ID, payment_id, amount, "2026000009")
        body = alipay_notify_body(new_private_key(), fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        notice = {"payment_id": payment_id, "amount_fen": amount, "trade_no": "X1", "status": "SUCCESS",
                  "paid_at": "2026-01-01T00:00:00Z", "transaction": {"amount": {"total": amount}}}  # fmt: skip
        headers, body = sandbox.signed_headers(b"guessed", notice), sandbox.canonical(notice)
        headers |= {"Wechatpay-Timestamp": str(int(time.time())), "Wechatpay-Nonce": "n",
                    "Wechatpay-Signature": "Zm9yZ2Vk", "Wechatpay-Serial": "PUB_KEY_ID_FORGED"}  # fmt: skip

    answer = http.post(f"{base_url}/payments/{channel}/notify", data=body, headers=headers, timeout=TIMEOUT)

    if channel == "alipay":
        assert (answer.status_code, answer.text) == (200, "failure")
    else:
        assert answer.status_code == 400 and json.loads(answer.text)["code"] in ("FAIL", "INVALID_NOTIFICATION")
    assert order(http, base_url, customer, order_id)["status"] == "PENDING_PAYMENT"
