"""The orders graph: the repositories an order touches, its Step Functions workflow, and refunds through the
payments context (imported when a refund is first paid back: payment SDKs stay off the cold start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.orders.domain import Order
    from chalicelib.orders.service import Shop


class RefundsThroughPayments:
    """orders.service.PaymentRefunds: the channel that took the order's payment pays the refund back."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def refund(self, order: Order, refund_id: str, amount_fen: int, reason: str) -> str:
        from chalicelib.payments.service import refund_order_payment

        return refund_order_payment(self.container.payments, order.record(), refund_id, amount_fen, reason)


class OpenPaymentsThroughPayments:
    """orders.service.OpenPayments: each open payment's provider asked before a cancel, and closed after it."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def settle_before_cancel(self, order: Order) -> bool:
        from chalicelib.payments.trades import settle_before_cancel

        return settle_before_cancel(self.container.payments, order.order_id)

    def close_trades(self, order: Order) -> str:
        from chalicelib.payments.trades import close_order_trades

        return close_order_trades(self.container.payments, order.order_id)


class FlashSaleUnits:
    """orders.service.FlashUnits: a cancelled flash-sale order's units go back through the flash sale context."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def give_back(self, order: Order) -> str:
        from chalicelib.flashsale.admission import give_back

        return give_back(self.container.flash_sale, order)


def build_shop(container: Container) -> Shop:
    from chalicelib.orders.deadlines import OrderTimers
    from chalicelib.orders.service import Shop
    from chalicelib.orders.workflow import StepFunctionsOrderWorkflow

    return Shop(
        orders=_orders_repository(),
        catalog=container.catalog,
        profile=container.profile,
        cart=container.cart,
        coupons=container.coupons,
        points=container.points,
        workflow=StepFunctionsOrderWorkflow(
            container.settings.state_machine_order_arn, container.settings.state_machine_refund_arn
        ),
        refunds=RefundsThroughPayments(container),
        promotions=container.running_promotions,
        timers=OrderTimers.from_settings(container.settings),
        flash_units=FlashSaleUnits(container),
        membership=container.membership,
        open_payments=OpenPaymentsThroughPayments(container),
        parcels=container.parcels,
        freight=container.freight,
    )


def _orders_repository() -> Any:
    from chalicelib.orders.dynamo_cases import DynamoShopOrders

    return DynamoShopOrders()
