"""Data migration (idempotent): products stored before the staff product list existed get their key in it
(`admin_pk` of the catalog table's `gsi_admin`), so `GET /admin/products` lists every product.

Run it on a deployed stage after `make deploy`, with the credentials used to deploy (docs/deploy.md):

    PYTHONPATH=. .venv/bin/python -m infra.migrations.product_staff_listing --stage dev [--dry-run]

It scans the catalog table once for products without the key and writes each with a condition that it still has
none, so running it again, or while staff edit products (an edit writes the key too), changes nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.migrations import migrate_stage

if TYPE_CHECKING:
    from chalicelib.catalog.repository import DynamoCatalogRepository


def run(catalog: DynamoCatalogRepository, dry_run: bool = False) -> dict[str, Any]:
    """Key every product the staff list misses; returns how many were found and written."""
    found = written = 0
    for product in catalog.products_unlisted_for_staff():
        found += 1
        if not dry_run and catalog.list_for_staff(product):
            written += 1
    return {"unlisted": found, "written": written, "dry_run": dry_run}


def main(argv: list[str] | None = None) -> int:
    def migrate(dry_run: bool) -> dict[str, Any]:
        from chalicelib.catalog.repository import DynamoCatalogRepository

        return run(DynamoCatalogRepository(), dry_run=dry_run)

    return migrate_stage(__doc__, argv, migrate)


if __name__ == "__main__":
    raise SystemExit(main())
