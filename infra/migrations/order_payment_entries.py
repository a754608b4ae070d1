"""Data migration (idempotent): every payment gets its entry in its order's partition.

Payments stored before `GET /orders/{order_id}/payments` have no `ORDER#<order_id>` / `PAYMENT#<created_at>#<id>`
entry, so until it runs they are missing from their order's list of payments, from the query before an unpaid order
is cancelled and from the closing of a cancelled order's trades (their notifies work as before).

Run it on a deployed stage once the release is deployed, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.order_payment_entries --stage dev [--dry-run]

It reads the table once (a paged Scan: a one-off job, never a request path) and writes each missing entry on the
condition that it is still missing, so running it again, or alongside traffic, changes nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from infra.migrations import migrate_stage


def run(dry_run: bool = False) -> dict[str, Any]:
    """Write the missing order entry of every payment. Returns what it read and changed."""
    from pynamodb.exceptions import PutError

    from chalicelib.payments.models import PAYMENT_SK, OrderPaymentModel, PaymentModel, order_payment_keys

    outcome = {"payments": 0, "entries_written": 0, "skipped": 0, "dry_run": dry_run}
    for payment in PaymentModel.scan(PaymentModel.sk == PAYMENT_SK):
        outcome["payments"] += 1
        pk, sk = order_payment_keys(payment.order_id, payment.created_at, payment.payment_id)
        if OrderPaymentModel.count(pk, OrderPaymentModel.sk == sk, consistent_read=True):
            continue
        outcome["entries_written"] += 1
        if dry_run:
            continue
        try:
            OrderPaymentModel(pk, sk, payment_id=payment.payment_id).save(
                condition=OrderPaymentModel.pk.does_not_exist()
            )
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            outcome["skipped"] += 1
    return outcome


def main(argv: list[str] | None = None) -> int:
    return migrate_stage(__doc__, argv, lambda dry_run: run(dry_run=dry_run))


if __name__ == "__main__":
    sys.exit(main())
