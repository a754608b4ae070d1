"""Data migration (idempotent): the orders table's items get the attributes its sharded indexes key on.

Orders stored before `gsi_created` get `created_shard` (`ORDERS#<Asia/Shanghai month>#<shard>`) and lose the old
`listing` = `ORDERS`; refunds get `refund_status` (= their `status`) and `refund_listing` = `REFUNDS` for
`gsi_refund_status` / `gsi_refund_all`, and lose `listing`. Until it runs, older orders are missing from the admin's
list and search by days and status (a buyer's, an order number's and the sweeper's indexes need nothing: DynamoDB
fills them from attributes every order already has), and older refunds from the admin's refund queue.

Run it on a deployed stage once the release is deployed, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.orders_index_keys --stage dev [--dry-run]

It reads the table once (a paged Scan: a one-off job, never a request path) and writes only items that lack the new
attributes, each conditional on still lacking them (and, for a refund, on its status being the one read): an item
the running code changed meanwhile already carries them, so running it again, or alongside traffic, changes nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from infra.migrations import migrate_stage


def run(dry_run: bool = False) -> dict[str, Any]:
    """Backfill every order and refund that lacks its index keys. Returns what it read and changed."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.orders.models import (
        ALL_REFUNDS,
        ORDER_SK,
        REFUND_SK,
        OrderModel,
        RefundModel,
        created_shard_key,
    )

    outcome = {"orders": 0, "orders_changed": 0, "refunds": 0, "refunds_changed": 0, "skipped": 0, "dry_run": dry_run}
    for item in OrderModel.scan(OrderModel.sk == ORDER_SK):
        outcome["orders"] += 1
        if item.created_shard:
            continue
        outcome["orders_changed"] += 1
        if dry_run:
            continue
        try:
            item.update(
                actions=[
                    OrderModel.created_shard.set(created_shard_key(item.order_id, item.created_at)),
                    OrderModel.listing.remove(),
                ],
                condition=OrderModel.created_shard.does_not_exist(),
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            outcome["skipped"] += 1
    for refund in RefundModel.scan(RefundModel.sk == REFUND_SK):
        outcome["refunds"] += 1
        if refund.refund_status == refund.status and refund.refund_listing == ALL_REFUNDS:
            continue
        outcome["refunds_changed"] += 1
        if dry_run:
            continue
        try:
            refund.update(
                actions=[
                    RefundModel.refund_status.set(refund.status),
                    RefundModel.refund_listing.set(ALL_REFUNDS),
                    RefundModel.listing.remove(),
                ],
                condition=RefundModel.status == refund.status,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            outcome["skipped"] += 1
    return outcome


def main(argv: list[str] | None = None) -> int:
    return migrate_stage(__doc__, argv, lambda dry_run: run(dry_run=dry_run))


if __name__ == "__main__":
    sys.exit(main())
