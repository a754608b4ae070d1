"""Data migration (idempotent): coupon templates sold in the points store become unclaimable, every other one
claimable, so no points-store coupon stays free to claim from templates stored before the `claimable` flag.

Run it on a deployed stage after `make deploy`, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.coupon_claimable --stage dev [--dry-run]

It reads every points reward and every template (two Queries, paged) and writes only the templates whose flag is
not what it should be, so running it again changes nothing. Reads treat a template without the attribute as
claimable (the default), so templates it leaves alone need no write.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from infra.migrations import migrate_stage

if TYPE_CHECKING:
    from chalicelib.coupons.repository import CouponsRepository
    from chalicelib.points.repository import PointsRepository

PAGE = 100


def _all(read: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page, start = read(PAGE, start)
        items.extend(page)
        if not start:
            return items


def run(coupons: CouponsRepository, points: PointsRepository, now: str, dry_run: bool = False) -> dict[str, Any]:
    """Set `claimable` on every template: false when a points reward sells it, true otherwise. Returns what changed."""
    sold = {r["coupon_template_id"] for r in _all(points.rewards) if r["kind"] == "coupon" and r["coupon_template_id"]}
    changed: dict[str, bool] = {}
    templates = _all(coupons.templates)
    for template in templates:
        wanted = template["template_id"] not in sold
        if template["claimable"] != wanted:
            changed[template["template_id"]] = wanted
            if not dry_run:
                coupons.update_template(template["template_id"], {"claimable": wanted, "updated_at": now})
    return {"templates": len(templates), "sold_in_points_store": sorted(sold), "changed": changed,
            "dry_run": dry_run}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    def migrate(dry_run: bool) -> dict[str, Any]:
        from chalicelib.clock import iso, utcnow
        from chalicelib.coupons.repository import DynamoCouponsRepository
        from chalicelib.points.repository import DynamoPointsRepository

        return run(DynamoCouponsRepository(), DynamoPointsRepository(), iso(utcnow()), dry_run=dry_run)

    return migrate_stage(__doc__, argv, migrate)


if __name__ == "__main__":
    sys.exit(main())
