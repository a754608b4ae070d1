"""Data migration (idempotent): the low-stock list moves from its one partition `LOW_STOCK` to its 16 shards.

Releases before the shards kept every low SKU under pk `LOW_STOCK`; this one reads and writes `LOW_STOCK#<shard>`.
Until it runs, a SKU that was low before the release and has not changed since is missing from
`GET /admin/inventory/low-stock` (its next stock change lists it again). Run it once the release is deployed:

    PYTHONPATH=. .venv/bin/python -m infra.migrations.low_stock_shards --stage dev [--dry-run]

Each entry is put in its shard only if the shard has none yet (a newer stock change wrote a newer one), then
deleted from the old partition: a second run finds nothing to move.
"""

from __future__ import annotations

import sys
from typing import Any

from infra.migrations import migrate_stage


def run(dry_run: bool = False) -> dict[str, Any]:
    from pynamodb.exceptions import PutError

    from chalicelib.inventory.models import LOW_STOCK_PK, LowStockModel, low_stock_pk

    outcome: dict[str, Any] = {"moved": 0, "newer_kept": 0, "dry_run": dry_run}
    for old in LowStockModel.query(LOW_STOCK_PK):  # one partition, read with a Query
        if dry_run:
            outcome["moved"] += 1
            continue
        moved = LowStockModel(low_stock_pk(old.sku_id), old.sku_id)
        for name in ("sku_id", "product_id", "title", "stock", "threshold", "since"):
            setattr(moved, name, getattr(old, name))
        try:
            moved.save(condition=LowStockModel.pk.does_not_exist())
            outcome["moved"] += 1
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            outcome["newer_kept"] += 1
        old.delete()
    return outcome


def main(argv: list[str] | None = None) -> int:
    return migrate_stage(__doc__, argv, lambda dry_run: run(dry_run=dry_run))


if __name__ == "__main__":
    sys.exit(main())
