"""Payments on moto: the Dynamo repository's conditional writes."""

from __future__ import annotations

from typing import Any

from chalicelib.payments.repository import DynamoPaymentsRepository


def _payment(payment_id: str, order_id: str = "o_1", channel: str = "sandbox") -> dict[str, Any]:
    return {"payment_id": payment_id, "order_id": order_id, "user_id": "u_1", "channel": channel, "amount_fen": 500,
            "status": "CREATED", "late_reason": None, "transaction_id": None, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "paid_at": None, "refunded_fen": 0}  # fmt: skip


def test_an_order_has_one_open_payment_per_channel_and_writes_are_conditional_on_the_version(
    aws_env: dict[str, str],
) -> None:
    repo = DynamoPaymentsRepository()

    assert repo.create(_payment("pay_a"))
    assert not repo.create(_payment("pay_b"))  # the same order and channel: the open one stays
    assert repo.create(_payment("pay_c", channel="alipay"))
    assert repo.open_payment_id("o_1", "sandbox") == "pay_a"
    read = repo.payment("pay_a")
    assert read is not None and read["version"] == 0 and read["refunds"] == {}

    assert repo.update(read, {"status": "PAID", "refunds": {"r1": {"amount_fen": 1}}}, close=True)
    assert not repo.update(read, {"status": "CLOSED"})  # a stale read
    after = repo.payment("pay_a")
    assert after is not None
    assert (after["status"], after["version"], after["refunds"]) == ("PAID", 1, {"r1": {"amount_fen": 1}})
    assert repo.open_payment_id("o_1", "sandbox") is None
    assert repo.update(after, {"updated_at": "2026-01-02T00:00:00Z"}, close=True)  # closing twice is harmless
    assert repo.payment("missing") is None
