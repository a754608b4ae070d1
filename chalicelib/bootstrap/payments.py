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


def _sandbox(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.sandbox import SandboxChannel

    return SandboxChannel(settings.sandbox, settings.notify_url("sandbox"), transport)


def _alipay(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.alipay import AlipayChannel  # cryptography: only where Alipay is used

    return AlipayChannel(settings.alipay, settings.notify_url("alipay"), transport)


def _wechat(settings: PaymentSettings, transport: PaymentTransport) -> PaymentChannel:
    from chalicelib.payments.channels.wechat import WeChatPayChannel

    return WeChatPayChannel(settings.wechat, settings.notify_url("wechat"), transport)


CHANNELS = ChannelRegistry()
CHANNELS.register("sandbox", _sandbox, lambda settings: settings.sandbox.configured)
CHANNELS.register("alipay", _alipay, lambda settings: settings.alipay.configured)
CHANNELS.register("wechat", _wechat, lambda settings: settings.wechat.configured)


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

    def confirm_with_orders(order_id: str, payment_id: str, amount_fen: int) -> dict[str, Any]:
        return orders.confirm_payment(container.shop, order_id, payment_id, amount_fen)

    def buyers_order(user_id: str, order_id: str) -> dict[str, Any]:
        return orders.get_order(container.shop, user_id, order_id)

    return Payments(
        repo=DynamoPaymentsRepository(),
        channels=configured_channel,
        confirm=confirm_with_orders,
        late_refunds=SqsLateRefunds(),
        buyers_order=buyers_order,
    )
