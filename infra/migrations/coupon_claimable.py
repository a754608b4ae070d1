"""Data migration (idempotent): coupon templates sold in the points store become unclaimable, every other one
claimable, so no points-store coupon stays free to claim from templates stored before the `claimable` flag.

Run it on a deployed stage after `make deploy`, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.coupon_claimable --stage dev [--dry-run]

It reads every points reward and every template (two Queries, paged) and writes only the templates whose flag is
not what it should be, so running it again changes nothing. Reads treat a template without the attribute as
claimable (the default), so templates it leaves alone need no write.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.coupons.repository import CouponsRepository
    from chalicelib.points.repository import PointsRepository

PAGE = 100
CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"


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


def stage_environment(stage: str, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The environment the stage's functions run with (.chalice/config.json, written by make deploy), and SHOP_STAGE."""
    variables: dict[str, str] = {}
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        variables.update(config.get("environment_variables") or {})
        variables.update((config.get("stages", {}).get(stage) or {}).get("environment_variables") or {})
    return {**variables, "SHOP_STAGE": stage}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True, help="the deployed stage (dev, prod)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    args = parser.parse_args(argv)
    os.environ.update(stage_environment(args.stage))
    # Imported once the stage is set: the models take their table names from it.
    from chalicelib.clock import iso, utcnow
    from chalicelib.coupons.repository import DynamoCouponsRepository
    from chalicelib.points.repository import DynamoPointsRepository

    outcome = run(DynamoCouponsRepository(), DynamoPointsRepository(), iso(utcnow()), dry_run=args.dry_run)
    print(json.dumps(outcome, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
