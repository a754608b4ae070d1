"""Seeds the local stage: the demo catalog and the admin account, through the app's own services; idempotent."""

from __future__ import annotations

import contextlib
from typing import Any

from chalicelib.accounts import service as accounts
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.catalog import service as catalog
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.catalog.schemas import BrandWrite, CategoryWrite
from chalicelib.clock import utcnow
from chalicelib.errors import Conflict
from chalicelib.themes import service as themes
from chalicelib.themes.repository import DynamoThemeRepository
from chalicelib.themes.schemas import ThemeWrite
from local import demo_catalog, demo_themes

ADMIN_USERNAME = "admin"


def seed_demo_data(admin_password: str) -> dict[str, Any]:
    """Write whatever of the demo data is missing; return what is there."""
    repo = DynamoCatalogRepository()
    categories = sorted(demo_catalog.categories(), key=lambda c: c["parent_id"] is not None)  # roots first
    for category in categories:
        with contextlib.suppress(Conflict):
            catalog.save_category(repo, CategoryWrite.model_validate(category))
    for brand in demo_catalog.brands():
        with contextlib.suppress(Conflict):
            catalog.save_brand(repo, BrandWrite.model_validate(brand))
    created = catalog.import_products(repo, demo_catalog.products())
    for number, body in enumerate(demo_themes.themes(utcnow()), start=1):
        with contextlib.suppress(Conflict):
            themes.save_theme(DynamoThemeRepository(), repo, ThemeWrite.model_validate(body), f"t_demo{number}", True)
    admin_id = accounts.ensure_admin(DynamoAccountsRepository(), ADMIN_USERNAME, admin_password)
    return {
        "categories": len(categories),
        "brands": len(demo_catalog.brands()),
        "products": len(demo_catalog.products()),
        "products_created": created,
        "themes": len(demo_themes.themes(utcnow())),
        "admin_user_id": admin_id,
    }
