"""Payments through the HTTP API on moto, with the real order state machine and the gateway emulators: pay and the
order is PAID (its execution goes on to await shipment); forged, wrong-amount, unknown and duplicate notifies change
nothing; a payment after cancellation is refunded automatically; the refund function of the order saga."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.payments import service
from chalicelib.payments.channels import RefundRefused, sandbox
from chalicelib.payments.repository import DynamoPaymentsRepository
from local.providers.payments.alipay import ALIPAY_APP_ID, alipay_notify_body, alipay_notify_fields
from local.providers.payments.keys import GatewayKeys, new_private_key
from local.providers.payments.server import PaymentGateways
from local.providers.payments.wechat import WECHAT_APP_ID, WECHAT_MCH_ID, wechat_notify, wechat_transaction
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import ADDRESS, execution_status, order_of, place, wait_for_token

NOTIFY_BASE = "http://shop.test"
Deliver = Callable[[str, bytes, dict[str, str]], tuple[int, str]]


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture
def shopper(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A customer with an address, and a phone SKU with 10 in stock."""
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, address
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


@pytest.fixture(scope="module")
def gateway_keys() -> GatewayKeys:
    return GatewayKeys()


@pytest.fixture
def delivered() -> list[tuple[str, bytes, dict[str, str]]]:
    return []


@pytest.fixture
def gateways(
    client: ShopClient,
    gateway_keys: GatewayKeys,
    monkeypatch: pytest.MonkeyPatch,
    delivered: list[tuple[str, bytes, dict[str, str]]],
) -> Iterator[PaymentGateways]:
    """The emulated providers on loopback; their notifies go into the app through the test client."""

    def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        delivered.append((url, body, headers))
        return post_notify(client, urlsplit(url).path, body, headers)

    running = PaymentGateways(keys=gateway_keys, deliver=deliver).start()
    for name, value in running.env(notify_base=NOTIFY_BASE).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PAYMENT_HTTP_TIMEOUT_SECONDS", "2")
    yield running
    running.stop()


def post_notify(client: ShopClient, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = client.http.request("POST", path, headers={k.lower(): v for k, v in headers.items()}, body=body)
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body or "")
    return response.status_code, text


def start_paying(client: ShopClient, token: str, order_id: str, channel: str) -> dict[str, Any]:
    status, body, _ = client.call("POST", f"/orders/{order_id}/pay", {"channel": channel}, token=token)
    assert status == 200, body
    return dict(body)


def open_pay_page(started: dict[str, Any]) -> None:
    """What the payer's browser does with a pay_url (the WeChat code_url needs nothing: the order was placed)."""
    if started.get("pay_url"):
        with urllib.request.urlopen(started["pay_url"], timeout=5) as page:  # noqa: S310 - the emulator on loopback
            assert page.status == 200


def new_order(client: ShopClient, buyer: dict[str, Any], key: str) -> dict[str, Any]:
    status, order = place(client, buyer, key=key)
    assert status == 201, order
    return dict(order)


def payment(payment_id: str) -> dict[str, Any]:
    found = DynamoPaymentsRepository().payment(payment_id)
    assert found is not None
    return found


def test_paying_through_the_sandbox_pay_url_pays_the_order_and_ends_its_execution(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways
) -> None:
    order = new_order(client, shopper, "k-pay")
    wait_for_token(order["order_id"], "payment_token")  # its execution awaits payment
    started = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    assert started["amount_fen"] == order["amounts"]["payable_fen"] and started["channel"] == "sandbox"
    again = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    assert again["payment_id"] == started["payment_id"]

    request = urllib.request.Request(started["pay_url"], data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the emulator on loopback
        assert json.loads(answer.read())["notify_status"] == 200

    paid = order_of(client, shopper["token"], order["order_id"])
    assert paid["status"] == "PAID"
    assert execution_status(order["order_id"]) == "SUCCEEDED"  # the payment ended the order's execution
    assert payment(started["payment_id"])["status"] == "PAID"
    status, body, _ = client.call("POST", f"/orders/{order['order_id']}/pay", {"channel": "sandbox"},
                                  token=shopper["token"])  # fmt: skip
    assert (status, body["code"]) == (409, "INVALID_STATE")


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_paying_through_alipay_or_wechat_pay_pays_the_order(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways, channel: str
) -> None:
    order = new_order(client, shopper, f"k-{channel}")
    started = start_paying(client, shopper["token"], order["order_id"], channel)
    if channel == "wechat":
        assert started["pay_params"]["code_url"].startswith("weixin://wxpay/bizpayurl")
    open_pay_page(started)

    status, answer = gateways.pay(channel, started["payment_id"])

    assert (status, answer) == ((200, "success") if channel == "alipay" else (204, ""))
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "PAID"


def forged_notify(channel: str, payment_id: str, amount: int) -> tuple[dict[str, str], bytes]:
    """A well-formed notify signed with a key that is not the provider's."""
    if channel == "alipay":
        fields = alipay_notify_fields(ALIPAY_APP_ID, payment_id, amount, "2026000000")
        return {"Content-Type": "application/x-www-form-urlencoded"}, alipay_notify_body(new_private_key(), fields)
    if channel == "wechat":
        transaction = wechat_transaction(WECHAT_APP_ID, WECHAT_MCH_ID, payment_id, amount, "4200000000")
        return wechat_notify(new_private_key(), "PUB_KEY_ID_FORGED", b"0" * 32, transaction)
    notice = {"payment_id": payment_id, "amount_fen": amount, "trade_no": "SBX1", "status": "SUCCESS",
              "paid_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    return sandbox.signed_headers(b"not-the-secret", notice), sandbox.canonical(notice)


def signed_notify(keys: GatewayKeys, channel: str, payment_id: str, amount: int) -> tuple[dict[str, str], bytes]:
    """A notify signed as the provider signs it (for a payment it may never have seen)."""
    if channel == "alipay":
        fields = alipay_notify_fields(ALIPAY_APP_ID, payment_id, amount, "2026000001")
        return {"Content-Type": "application/x-www-form-urlencoded"}, alipay_notify_body(keys.alipay, fields)
    if channel == "wechat":
        transaction = wechat_transaction(WECHAT_APP_ID, WECHAT_MCH_ID, payment_id, amount, "4200000001")
        return wechat_notify(keys.wechat_platform, keys.wechat_platform_serial, keys.apiv3_key, transaction)
    notice = {"payment_id": payment_id, "amount_fen": amount, "trade_no": "SBX2", "status": "SUCCESS",
              "paid_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    return sandbox.signed_headers(keys.sandbox_secret, notice), sandbox.canonical(notice)


def assert_refused(channel: str, status: int, text: str) -> None:
    """Each provider is told the way it understands (and so notifies again, which changes nothing either)."""
    if channel == "alipay":
        assert (status, text) == (200, "failure")
    elif channel == "wechat":
        assert status == 400 and json.loads(text)["code"] == "FAIL"
    else:
        assert status == 400 and json.loads(text)["code"] == "INVALID_NOTIFICATION"


@pytest.mark.parametrize("channel", ["sandbox", "alipay", "wechat"])
@pytest.mark.parametrize("case", ["forged signature", "wrong amount", "unknown payment"])
def test_a_forged_notify_one_of_another_amount_or_of_no_payment_is_refused_and_changes_nothing(
    client: ShopClient,
    shopper: dict[str, Any],
    gateways: PaymentGateways,
    gateway_keys: GatewayKeys,
    channel: str,
    case: str,
) -> None:
    order = new_order(client, shopper, f"k-{channel}-{case}")
    started = start_paying(client, shopper["token"], order["order_id"], channel)
    payable = started["amount_fen"]
    if case == "forged signature":
        headers, body = forged_notify(channel, started["payment_id"], payable)
    elif case == "wrong amount":
        headers, body = signed_notify(gateway_keys, channel, started["payment_id"], payable - 1)
    else:
        headers, body = signed_notify(gateway_keys, channel, "pay_00000000000000000000000000", payable)

    status, text = post_notify(client, f"/payments/{channel}/notify", body, headers)

    assert_refused(channel, status, text)
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "PENDING_PAYMENT"
    assert payment(started["payment_id"])["status"] == "CREATED"


def test_a_duplicate_notify_is_acknowledged_and_changes_nothing(
    client: ShopClient,
    shopper: dict[str, Any],
    gateways: PaymentGateways,
    delivered: list[tuple[str, bytes, dict[str, str]]],
) -> None:
    order = new_order(client, shopper, "k-dup")
    started = start_paying(client, shopper["token"], order["order_id"], "wechat")
    gateways.pay("wechat", started["payment_id"])
    recorded = payment(started["payment_id"])
    paid = order_of(client, shopper["token"], order["order_id"])

    url, body, headers = delivered[-1]
    status, _ = post_notify(client, urlsplit(url).path, body, headers)

    assert status == 204
    assert payment(started["payment_id"]) == recorded
    assert order_of(client, shopper["token"], order["order_id"]) == paid


@pytest.mark.parametrize("channel", ["sandbox", "alipay", "wechat"])
def test_a_payment_arriving_after_the_order_was_cancelled_is_recorded_and_refunded_through_its_channel(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways, channel: str
) -> None:
    order = new_order(client, shopper, f"k-late-{channel}")
    started = start_paying(client, shopper["token"], order["order_id"], channel)
    open_pay_page(started)
    status, body, _ = client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])
    assert status == 200, body

    status, _ = gateways.pay(channel, started["payment_id"], even_if_closed=True)  # paid before the close got there

    assert 200 <= status < 300
    late = payment(started["payment_id"])
    assert (late["status"], late["late_reason"], late["refunded_fen"]) == (
        "REFUNDED", "ORDER_CANCELLED", started["amount_fen"])  # fmt: skip
    at_provider = gateways.payment(channel, started["payment_id"])
    assert at_provider is not None and at_provider.refunded_fen == started["amount_fen"]
    assert list(at_provider.refunds) == [service.late_refund_id(started["payment_id"])]
    assert order_of(client, shopper["token"], order["order_id"])["status"] == "CANCELLED"


def test_a_second_payment_of_a_paid_order_is_refunded_and_the_first_pays_it(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways
) -> None:
    order = new_order(client, shopper, "k-twice")
    first = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    second = start_paying(client, shopper["token"], order["order_id"], "wechat")
    open_pay_page(first)

    gateways.pay("sandbox", first["payment_id"])
    gateways.pay("wechat", second["payment_id"])

    assert payment(first["payment_id"])["status"] == "PAID"
    assert payment(second["payment_id"])["status"] == "REFUNDED"
    at_provider = gateways.payment("wechat", second["payment_id"])
    assert at_provider is not None and at_provider.refunded_fen == second["amount_fen"]


def test_paying_is_only_for_my_unpaid_order_through_a_configured_channel(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = new_order(client, shopper, "k-rules")
    path = f"/orders/{order['order_id']}/pay"
    stranger = register_and_login(client, "mallory")

    assert client.call("POST", path, {"channel": "sandbox"}, token=stranger)[0] == 404
    assert client.call("POST", path, {"channel": "bitcoin"}, token=shopper["token"])[1]["code"] == "VALIDATION_ERROR"
    monkeypatch.delenv("ALIPAY_APP_ID")
    status, body, _ = client.call("POST", path, {"channel": "alipay"}, token=shopper["token"])
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert client.call("POST", "/payments/bitcoin/notify", b"x")[0] == 404
    assert client.call("POST", "/orders/o_missing/pay", {"channel": "sandbox"}, token=shopper["token"])[0] == 404


def test_the_order_saga_refunds_through_the_paying_channel_once_per_refund_id_and_never_more_than_paid(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways
) -> None:
    placed = new_order(client, shopper, "k-refund")
    started = start_paying(client, shopper["token"], placed["order_id"], "alipay")
    open_pay_page(started)
    gateways.pay("alipay", started["payment_id"])

    paid = container().shop.orders.order(placed["order_id"])
    assert paid is not None and (paid.payment or {})["payment_id"] == started["payment_id"]
    order = paid.record()
    amount = started["amount_fen"]

    assert service.refund_order_payment(container().payments, order, "rf_1", amount - 100, "退货") == "SUCCESS"
    assert service.refund_order_payment(container().payments, order, "rf_1", amount - 100, "退货") == "SUCCESS"
    with pytest.raises(RefundRefused):
        service.refund_order_payment(container().payments, order, "rf_2", 101)
    assert service.refund_order_payment(container().payments, order, "rf_3", 100) == "SUCCESS"

    at_provider = gateways.payment("alipay", started["payment_id"])
    assert at_provider is not None and at_provider.refunds == {"rf_1": amount - 100, "rf_3": 100}
    assert payment(started["payment_id"])["status"] == "REFUNDED"


def test_a_refund_while_the_provider_is_down_is_retryable_and_the_retry_refunds_once(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways
) -> None:
    from chalicelib.errors import DependencyUnavailable

    placed = new_order(client, shopper, "k-down")
    started = start_paying(client, shopper["token"], placed["order_id"], "wechat")
    gateways.pay("wechat", started["payment_id"])
    paid = container().shop.orders.order(placed["order_id"])
    assert paid is not None
    order = paid.record()
    gateways.fail("error")

    with pytest.raises(DependencyUnavailable):
        service.refund_order_payment(container().payments, order, "rf_1", started["amount_fen"])
    gateways.fail("none")

    assert service.refund_order_payment(container().payments, order, "rf_1", started["amount_fen"]) == "SUCCESS"
    at_provider = gateways.payment("wechat", started["payment_id"])
    assert at_provider is not None and at_provider.refunds == {"rf_1": started["amount_fen"]}


def test_a_late_refund_the_provider_cannot_take_now_is_queued_and_the_queue_handler_finishes_it(
    client: ShopClient, shopper: dict[str, Any], gateways: PaymentGateways
) -> None:
    import boto3

    from chalicelib.payments.events import refund_late_payments
    from local.aws.sqs_poller import lambda_record

    order = new_order(client, shopper, "k-queued")
    started = start_paying(client, shopper["token"], order["order_id"], "sandbox")
    open_pay_page(started)
    client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])
    gateways.fail("error")  # the refund API is down; the payer's side still works

    status, _ = gateways.pay("sandbox", started["payment_id"], even_if_closed=True)  # paid before the close got there
    assert status == 200  # recorded and queued: the gateway need not notify again
    assert payment(started["payment_id"])["status"] == "REFUNDING"
    gateways.fail("none")

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="shop-local-payment-refunds")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for message in messages:
        refund_late_payments({"Records": [lambda_record(message, arn, "us-east-1")]}, None)

    assert [json.loads(m["Body"]) for m in messages] == [{"payment_id": started["payment_id"]}]
    assert payment(started["payment_id"])["status"] == "REFUNDED"
    at_provider = gateways.payment("sandbox", started["payment_id"])
    assert at_provider is not None and at_provider.refunded_fen == started["amount_fen"]


def test_production_keys_can_come_from_a_secrets_manager_secret_named_by_arn(
    aws_env: dict[str, str], gateway_keys: GatewayKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from chalicelib.payments.config import PaymentSettings
    from local.providers.payments.keys import private_pem, public_pem

    secret = {"ALIPAY_PRIVATE_KEY": private_pem(gateway_keys.alipay_app),
              "ALIPAY_PUBLIC_KEY": public_pem(gateway_keys.alipay), "UNRELATED": "ignored"}  # fmt: skip
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="shop/prod/payments", SecretString=json.dumps(secret))["ARN"]
    env = {"SHOP_STAGE": "prod", "PAYMENT_NOTIFY_BASE": "https://api.shop.example", "ALIPAY_APP_ID": ALIPAY_APP_ID}

    assert PaymentSettings.from_env(env).available() == ()
    settings = PaymentSettings.from_env(env | {"PAYMENT_SECRETS_ARN": arn})
    assert settings.available() == ("alipay", "alipay_wap")  # never the sandbox on prod
    assert settings.alipay.private_key == secret["ALIPAY_PRIVATE_KEY"]
