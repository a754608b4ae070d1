"""The payments graph: the channels registered by name (the registry knows none of them), the payment service over
its repository, its orders (confirming a payment) and its late-refund queue."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.payments.config import PaymentSettings
from chalicelib.payments.registry import ChannelRegistry

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.payments.channels import PaymentChannel
    from chalicelib.payments.service import Payments
    from chalicelib.payments.transport import PaymentTransport

EMULATOR_TIMEOUT_SECONDS = 30.0  # the emulator waits for the app's answer to its notify


def _sandbox(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.sandbox import SandboxChannel

    return SandboxChannel(settings.sandbox, settings.notify_url("sandbox"), transport)


def _alipay(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.alipay import AlipayChannel  # cryptography: only where Alipay is used

    return AlipayChannel(settings.alipay, settings.notify_url("alipay"), transport)


def _wechat(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.wechat import WeChatPayChannel

    return WeChatPayChannel(settings.wechat, settings.notify_url("wechat"), transport)


def _alipay_wap(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.alipay import AlipayWapChannel

    return AlipayWapChannel(settings.alipay, settings.notify_url("alipay_wap"), transport)


def _wechat_jsapi(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.wechat import WeChatJsapiChannel

    return WeChatJsapiChannel(settings.wechat, settings.notify_url("wechat_jsapi"), transport)


def _wechat_h5(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.wechat import WeChatH5Channel

    return WeChatH5Channel(settings.wechat, settings.notify_url("wechat_h5"), transport)


class HttpPayerEmulator:
    """payments.service.PayerEmulator: the providers' emulator (local/providers/payments, under `make run`) over
    HTTP, at PAYMENT_EMULATOR_URL (read on local and dev stages only; without it: 404)."""

    def pay(self, payment: dict[str, Any], notify_url: str, notify: bool) -> dict[str, Any]:
        import json

        from chalicelib import outbound
        from chalicelib.errors import DependencyUnavailable, InvalidState, NotFound

        url = PaymentSettings.from_env().emulator_url
        if not url:
            raise NotFound("There is no payment emulator on this stage")
        fields = {name: payment[name] for name in ("channel", "payment_id", "amount_fen")}
        body = json.dumps({**fields, "notify_url": notify_url, "notify": notify}).encode()
        headers = {"Content-Type": "application/json"}
        answer = outbound.request(
            "POST", f"{url}/__emulator__/pay", EMULATOR_TIMEOUT_SECONDS, content=body, headers=headers
        )
        try:
            result = answer.json()
        except ValueError:
            result = None
        if answer.status_code == 409:  # the trade was closed (the order was cancelled): it cannot be paid
            raise InvalidState(str((result or {}).get("error") or "The trade is closed at the provider"))
        if answer.status_code != 200 or not isinstance(result, dict):
            raise DependencyUnavailable(f"The payment emulator answered {answer.status_code}")
        return {"notify_status": result.get("notify_status"), "notify_answer": result.get("notify_answer")}


def _allowed_return_url(url: str) -> bool:
    from chalicelib.accounts.oauth.config import OAuthSettings

    return OAuthSettings.from_env().redirect_allowed(url)


CHANNELS = ChannelRegistry()
CHANNELS.register("sandbox", _sandbox, lambda settings: settings.sandbox.configured)
CHANNELS.register("alipay", _alipay, lambda settings: settings.alipay.configured)
CHANNELS.register("wechat", _wechat, lambda settings: settings.wechat.configured)
CHANNELS.register("alipay_wap", _alipay_wap, lambda settings: settings.alipay.configured)
CHANNELS.register("wechat_jsapi", _wechat_jsapi, lambda settings: settings.wechat.configured)
CHANNELS.register("wechat_h5", _wechat_h5, lambda settings: settings.wechat.configured)


@lru_cache(maxsize=8)
def _channel(name: str, settings: PaymentSettings) -> PaymentChannel:
    return CHANNELS.channel(name, settings)  # keys are parsed once per channel and configuration


def configured_channel(name: str) -> PaymentChannel:
    """The channel as the environment configures it now (NotFound when unknown or not configured)."""
    return _channel(name, PaymentSettings.from_env())


def build_payments(container: Container) -> Payments:
    from chalicelib.orders import service as orders
    from chalicelib.payments.events import SqsLateRefunds
    from chalicelib.payments.repository import DynamoPaymentsRepository
    from chalicelib.payments.service import Payments

    def buyers_order(user_id: str, order_id: str) -> dict[str, Any]:
        return orders.get_order(container.shop, user_id, order_id)

    def confirm_with_orders(
        order_id: str, payment_id: str, amount_fen: int, paid_at: str | None = None
    ) -> dict[str, Any]:
        return orders.confirm_payment(container.shop, order_id, payment_id, amount_fen, paid_at)

    return Payments(
        repo=DynamoPaymentsRepository(),
        channels=configured_channel,
        confirm=confirm_with_orders,
        late_refunds=SqsLateRefunds(),
        buyers_order=buyers_order,
        return_url_allowed=_allowed_return_url,
        payer_emulator=HttpPayerEmulator(),
        notify_url=lambda channel: PaymentSettings.from_env().notify_url(channel),
    )
