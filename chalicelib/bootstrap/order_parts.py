"""The container's order parts: the sweeper's policy, the order-outbox queue, the order-sweep queue and the
subscription of shipped parcels at kuaidi100 (chalicelib.bootstrap.Container inherits them; each built
on first use, like the rest)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.logistics.subscription import ParcelSubscriber
    from chalicelib.orders.outbox import OrderOutbox
    from chalicelib.orders.sweeper import SweepPolicy


class OrderParts:
    settings: Settings

    @cached_property
    def sweep_policy(self) -> SweepPolicy:
        from chalicelib.orders.sweeper import SweepPolicy

        return SweepPolicy.from_settings(self.settings)

    @cached_property
    def order_outbox(self) -> OrderOutbox:
        from chalicelib.orders.outbox import SqsOrderOutbox

        return SqsOrderOutbox(self.settings.order_outbox_queue_url)

    @cached_property
    def order_sweeps(self) -> OrderOutbox:
        """The order-sweep queue: pages of the due index handed off by the sweep (same sending as the outbox)."""
        from chalicelib.orders.outbox import SqsOrderOutbox

        return SqsOrderOutbox(self.settings.order_sweep_queue_url)

    @cached_property
    def parcel_subscriber(self) -> ParcelSubscriber:
        """What the outbox asks when a parcel ships: a message on the parcel-subscriptions queue."""
        from chalicelib.logistics.subscription import QueuedParcelSubscriber

        return QueuedParcelSubscriber()

    @cached_property
    def kuaidi100_subscriber(self) -> ParcelSubscriber:
        """kuaidi100's subscription API, asked by the parcel-subscriptions queue's consumer."""
        from chalicelib.logistics.subscription import HttpxPollTransport, Kuaidi100Subscriber

        return Kuaidi100Subscriber(HttpxPollTransport())
