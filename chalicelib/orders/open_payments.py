"""The port through which orders reach the payments of an unpaid order: asked before it is cancelled (a payment
its provider reports paid wins), closed at the providers once it is (answered by payments, in the composition root)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.orders.domain import Order


class OpenPayments(Protocol):
    def settle_before_cancel(self, order: Order) -> bool:
        """Ask the provider of each open payment of the unpaid order; one reported paid pays it as its notify would.
        True when the order was paid so."""

    def close_trades(self, order: Order) -> str:
        """The cancelled order's open trades closed at their providers (idempotent; raises while one cannot be
        reached, so the outbox delivers it again)."""


class NoOpenPayments:
    """OpenPayments of a shop whose payments are not wired (tests of orders alone)."""

    def settle_before_cancel(self, order: Order) -> bool:
        return False

    def close_trades(self, order: Order) -> str:
        return "no_payments"
