"""Each channel against the local gateway emulator over HTTP: start, the payer's signed notify, refunds, outages."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.bootstrap.payments import CHANNELS as REGISTERED
from chalicelib.errors import DependencyUnavailable, DomainError
from chalicelib.payments.channels import PaymentChannel, PaymentNotice, PaymentRequest, RefundRefused
from chalicelib.payments.config import PaymentSettings
from local.providers.payments.keys import GatewayKeys
from local.providers.payments.server import PaymentGateways

CHANNELS = ("sandbox", "alipay", "wechat")


@dataclass
class NotifyReceiver:
    """The app's side of POST /payments/{channel}/notify: verify with the channel, answer with its ack."""

    channels: dict[str, PaymentChannel] = field(default_factory=dict)
    notices: list[PaymentNotice] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def _receiver_handler(receiver: NotifyReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            channel = receiver.channels[self.path.split("/")[2]]
            try:
                receiver.notices.append(channel.verify_notify(dict(self.headers.items()), body))
                ack = channel.notify_ack()
            except DomainError as error:
                receiver.refusals.append(error.message)
                ack = channel.notify_ack(error) or (
                    error.status,
                    "application/json",
                    b'{"code":"%s"}' % error.code.encode(),
                )
            assert ack is not None
            status, content_type, answer = ack
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


@pytest.fixture(scope="module")
def gateway_keys() -> GatewayKeys:
    return GatewayKeys()  # four RSA keys: made once for the module


@pytest.fixture
def gateways(gateway_keys: GatewayKeys) -> Iterator[PaymentGateways]:
    running = PaymentGateways(keys=gateway_keys).start()
    yield running
    running.stop()


@pytest.fixture
def receiver(gateways: PaymentGateways) -> Iterator[NotifyReceiver]:
    state = NotifyReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    env = gateways.env(notify_base=f"http://{host}:{port}") | {
        "SHOP_STAGE": "local",
        "PAYMENT_HTTP_TIMEOUT_SECONDS": "1",
    }
    settings = PaymentSettings.from_env(env)
    state.channels = {name: REGISTERED.channel(name, settings) for name in CHANNELS}
    yield state
    server.shutdown()
    server.server_close()


def _start(receiver: NotifyReceiver, gateways: PaymentGateways, channel: str, payment_id: str, fen: int) -> None:
    """What the payer's browser does with what start() returned: open the pay page (or scan the code)."""
    started = receiver.channels[channel].start(PaymentRequest(payment_id, "O-" + payment_id, fen, "测试商品"))
    if channel == "wechat":
        assert started["pay_params"]["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
        return
    with urllib.request.urlopen(started["pay_url"], timeout=5) as page:  # noqa: S310 - the emulator on loopback
        assert page.status == 200


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_paid_payment_reaches_the_app_as_a_verified_notice_and_is_acknowledged(
    gateways: PaymentGateways, receiver: NotifyReceiver, channel: str
) -> None:
    _start(receiver, gateways, channel, f"P{channel}001", 12345)

    status, _answer = gateways.pay(channel, f"P{channel}001")

    assert 200 <= status < 300
    assert [(n.channel, n.payment_id, n.amount_fen, n.success) for n in receiver.notices] == [
        (channel, f"P{channel}001", 12345, True)
    ]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_notify_for_another_amount_than_signed_at_start_is_still_the_providers_word_and_carries_that_amount(
    gateways: PaymentGateways, receiver: NotifyReceiver, channel: str
) -> None:
    """The channel reports the amount the provider signed; comparing it with the order is the order side's job."""
    _start(receiver, gateways, channel, f"P{channel}002", 5000)

    gateways.pay(channel, f"P{channel}002", amount_fen=1)

    assert [n.amount_fen for n in receiver.notices] == [1]


def test_the_sandbox_payer_is_a_post_to_the_pay_url(gateways: PaymentGateways, receiver: NotifyReceiver) -> None:
    started = receiver.channels["sandbox"].start(PaymentRequest("Psbx003", "O3", 990, "测试"))

    request = urllib.request.Request(started["pay_url"], data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the emulator on loopback
        answer = json.loads(response.read())

    assert answer["notify_status"] == 200
    assert [(n.payment_id, n.amount_fen) for n in receiver.notices] == [("Psbx003", 990)]


def test_a_tampered_sandbox_pay_url_is_refused_by_the_gateway(
    gateways: PaymentGateways, receiver: NotifyReceiver
) -> None:
    started = receiver.channels["sandbox"].start(PaymentRequest("Psbx004", "O4", 990, "测试"))
    tampered = started["pay_url"].replace("amount_fen=990", "amount_fen=1")

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(tampered, data=b"", method="POST"), timeout=5)  # noqa: S310

    assert refused.value.code == 400
    assert receiver.notices == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_refund_of_a_paid_payment_succeeds_and_its_retry_is_the_same_refund(
    gateways: PaymentGateways, receiver: NotifyReceiver, channel: str
) -> None:
    _start(receiver, gateways, channel, f"P{channel}005", 10000)
    gateways.pay(channel, f"P{channel}005")

    first = receiver.channels[channel].refund(f"P{channel}005", f"R{channel}005", 4000, 10000)
    again = receiver.channels[channel].refund(f"P{channel}005", f"R{channel}005", 4000, 10000)

    assert (first.status, first.amount_fen, first.refund_id) == ("SUCCESS", 4000, f"R{channel}005")
    assert again.status == "SUCCESS"
    assert gateways.payment(channel, f"P{channel}005").refunded_fen == 4000  # type: ignore[union-attr]


@pytest.mark.parametrize("channel", CHANNELS)
def test_refunding_more_than_was_paid_or_an_unknown_payment_is_refused(
    gateways: PaymentGateways, receiver: NotifyReceiver, channel: str
) -> None:
    _start(receiver, gateways, channel, f"P{channel}006", 1000)
    gateways.pay(channel, f"P{channel}006")
    receiver.channels[channel].refund(f"P{channel}006", f"R{channel}006a", 600, 1000)

    with pytest.raises(RefundRefused):
        receiver.channels[channel].refund(f"P{channel}006", f"R{channel}006b", 600, 1000)
    with pytest.raises(RefundRefused):
        receiver.channels[channel].refund("Pnobody", f"R{channel}006c", 1, 1)


@pytest.mark.parametrize("mode", ["error", "garbage", "reset", "slow"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_provider_outage_during_a_refund_is_a_502(
    gateways: PaymentGateways, receiver: NotifyReceiver, channel: str, mode: str
) -> None:
    _start(receiver, gateways, channel, f"P{channel}007", 1000)
    gateways.pay(channel, f"P{channel}007")
    gateways.fail(mode, slow_seconds=1.5)

    with pytest.raises(DependencyUnavailable):
        receiver.channels[channel].refund(f"P{channel}007", f"R{channel}007", 100, 1000)


def test_a_wechat_native_pay_during_an_outage_is_a_502(gateways: PaymentGateways, receiver: NotifyReceiver) -> None:
    gateways.fail("error")

    with pytest.raises(DependencyUnavailable):
        receiver.channels["wechat"].start(PaymentRequest("Pwx008", "O8", 100, "测试"))


def test_a_refund_to_a_gateway_that_is_not_there_is_a_502(gateways: PaymentGateways, receiver: NotifyReceiver) -> None:
    gateways.stop()

    for channel in CHANNELS:
        with pytest.raises(DependencyUnavailable):
            receiver.channels[channel].refund("P1", "R1", 1, 1)


def test_the_alipay_cashier_refuses_a_pay_url_signed_by_someone_else(
    gateways: PaymentGateways, receiver: NotifyReceiver
) -> None:
    started = receiver.channels["alipay"].start(PaymentRequest("Pali009", "O9", 100, "测试"))
    query = dict(parse_qsl(urlsplit(started["pay_url"]).query))
    forged = started["pay_url"].replace("sign=", "sign=A", 1) if "sign" in query else started["pay_url"]

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)  # noqa: S310 - the emulator on loopback

    assert refused.value.code == 400
