"""A deployed stage's first day: its first staff admin and its catalog (docs/deploy.md, "First day on a stage").

    make admin STAGE=dev USERNAME=ops-li          # creates the admin, or resets its password; prints a new one once
    make import-catalog STAGE=dev FILE=catalog.json

Run with the credentials used to deploy. The stage's table names are the template's (`shop-<stage>-accounts`...),
or those in `build/<stage>/outputs.json` when this checkout deployed it. Both go through the app's own services:
the password is hashed and checked as any staff password, every category, brand and product is validated as an
admin's write, and products that exist already are left alone (a second import creates nothing).

The catalog file is JSON (UTF-8): `{"categories": [...], "brands": [...], "products": [...]}`, each entry the body
the admin API takes (`POST /admin/categories`, `POST /admin/brands`, `POST /admin/products`) plus the ids it keeps:
a category's `category_id` and `parent_id` (roots first or not: they are ordered here), a brand's `brand_id`, a
product's `product_id` and each SKU's `sku_id`. `python -m infra.first_day export-demo FILE` writes the demo catalog
of `make run` in this format.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from infra.migrations import stage_environment
from infra.stack_outputs import env_from_outputs

REPO_ROOT = Path(__file__).resolve().parents[1]

PASSWORD_BYTES = 12  # 16 URL-safe characters


class CatalogFileError(ValueError):
    """The catalog file is not in the documented format."""


def create_admin(username: str) -> tuple[str, str]:
    """Create the staff admin `username`, or reset its password; (its user id, the new one-time password)."""
    from chalicelib.accounts import service as accounts
    from chalicelib.accounts.repository import DynamoAccountsRepository

    password = secrets.token_urlsafe(PASSWORD_BYTES)
    return accounts.ensure_admin(DynamoAccountsRepository(), username, password), password


def read_catalog(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The file's categories, brands and products (lists of objects), or CatalogFileError saying what is wrong."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogFileError(f"{path}: cannot be read ({error.strerror})") from error
    except ValueError as error:
        raise CatalogFileError(f"{path}: not JSON ({error})") from error
    if not isinstance(body, dict) or not set(body) <= {"categories", "brands", "products"}:
        raise CatalogFileError(f'{path}: expected an object with "categories", "brands" and "products"')
    catalog = {key: body.get(key) or [] for key in ("categories", "brands", "products")}
    for key, rows in catalog.items():
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise CatalogFileError(f'{path}: "{key}" must be a list of objects')
    return catalog


def import_catalog(catalog: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Write what the stage lacks of the catalog through the catalog service; how many of each were created."""
    from pydantic import ValidationError

    from chalicelib.catalog import service
    from chalicelib.catalog.repository import DynamoCatalogRepository
    from chalicelib.catalog.schemas import BrandWrite, CategoryWrite
    from chalicelib.errors import Conflict

    repo = DynamoCatalogRepository()
    created = {"categories": 0, "brands": 0, "products": 0}
    try:
        for category in sorted(catalog["categories"], key=lambda c: c.get("parent_id") is not None):  # roots first
            with contextlib.suppress(Conflict):
                service.save_category(repo, CategoryWrite.model_validate(category))
                created["categories"] += 1
        for brand in catalog["brands"]:
            with contextlib.suppress(Conflict):
                service.save_brand(repo, BrandWrite.model_validate(brand))
                created["brands"] += 1
        for product in catalog["products"]:
            if not product.get("product_id") or not all(sku.get("sku_id") for sku in product.get("skus") or [{}]):
                raise CatalogFileError(f"every product needs a product_id and every SKU a sku_id: {product}")
        created["products"] = service.import_products(repo, catalog["products"])
    except ValidationError as error:
        raise CatalogFileError(f"an entry is not valid: {error}") from error
    return created


def export_demo(path: Path) -> dict[str, int]:
    """Write the demo catalog of `make run` in the import format."""
    from local.demo import catalog

    body = {"categories": catalog.categories(), "brands": catalog.brands(), "products": catalog.products()}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    return {key: len(rows) for key, rows in body.items()}


def _use_stage(stage: str) -> None:
    """The stage's settings; resource names default to the template's (`shop-<stage>-accounts`...), and the deploy's
    `build/<stage>/outputs.json`, when this checkout deployed the stage, names them exactly."""
    os.environ.update(stage_environment(stage))
    outputs = REPO_ROOT / "build" / stage / "outputs.json"
    if outputs.is_file():
        os.environ.update(env_from_outputs(json.loads(outputs.read_text(encoding="utf-8"))))
    from chalicelib.aws import reset_clients
    from chalicelib.config import reset_caches

    reset_caches()
    reset_clients()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.first_day", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("admin", help="create a staff admin or reset its password; print a new one")
    admin.add_argument("--stage", required=True)
    admin.add_argument("--username", required=True)
    loader = commands.add_parser("import-catalog", help="load categories, brands and products from a JSON file")
    loader.add_argument("--stage", required=True)
    loader.add_argument("--file", required=True, type=Path)
    demo = commands.add_parser("export-demo", help="write the demo catalog in the import format")
    demo.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "export-demo":
        print(json.dumps(export_demo(args.file)))
        return 0
    if args.command == "admin" and not args.username.strip():
        parser.error("USERNAME is required: make admin STAGE=dev USERNAME=<name>")
    _use_stage(args.stage)
    from chalicelib.errors import DomainError

    if args.command == "admin":
        try:
            user_id, password = create_admin(args.username.strip())
        except DomainError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
        print(f"staff admin {args.username.strip()} ({user_id}) on stage {args.stage}")
        print(f"one-time password: {password}")
        print("Sign in with it now and set your own (PUT /me/password); it is not shown again.")
        return 0
    try:
        created = import_catalog(read_catalog(args.file))
    except (CatalogFileError, DomainError) as error:
        print(f"not imported: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"stage": args.stage, "created": created}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
