"""Theme rules: a window in which a theme shows, and its items (curated, or chosen from the catalog by a rule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.catalog import service as catalog
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.schemas import ProductListQuery
from chalicelib.clock import iso, now_iso, utcnow
from chalicelib.errors import NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.themes.repository import ThemeRepository
from chalicelib.themes.schemas import ThemeWrite


def _view(theme: dict[str, Any], now: str) -> dict[str, Any]:
    return {**theme, "active": theme["starts_at"] <= now < theme["ends_at"]}


def save_theme(
    repo: ThemeRepository,
    catalog_repo: CatalogRepository,
    write: ThemeWrite,
    theme_id: str | None = None,
    create: bool | None = None,
) -> dict[str, Any]:
    """Create (no theme_id, or create=True with a chosen id) or replace a theme."""
    if write.product_ids:
        found = catalog_repo.products_by_ids(write.product_ids)
        missing = [pid for pid in write.product_ids if pid not in found]
        if missing:
            raise ValidationError(
                "Unknown products",
                errors=[{"field": "product_ids", "message": f"No product has the id {', '.join(missing)}."}],
            )
    theme = {
        "theme_id": theme_id or new_id("t"),
        **write.model_dump(exclude={"starts_at", "ends_at", "rule"}),
        "rule": write.rule.model_dump(exclude_none=True) if write.rule else None,
        "starts_at": iso(write.starts_at),
        "ends_at": iso(write.ends_at),
        "updated_at": now_iso(),
    }
    repo.save_theme(theme, create=theme_id is None if create is None else create)
    return _view(theme, now_iso())


def list_themes(repo: ThemeRepository, active_only: bool, now: datetime | None = None) -> dict[str, Any]:
    at = iso(now or utcnow())
    themes = [_view(theme, at) for theme in repo.themes()]
    themes = [theme for theme in themes if theme["active"] or not active_only]
    return {"items": sorted(themes, key=lambda t: (t["sort_order"], t["starts_at"], t["theme_id"]))}


def theme_items(catalog_repo: CatalogRepository, theme: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The theme's products as cards: curated ones in their order (gone or off-sale ones left out), or by its rule."""
    if theme["product_ids"]:
        found = catalog_repo.products_by_ids(theme["product_ids"][:limit])
        return [
            catalog.summary(found[pid]) for pid in theme["product_ids"][:limit] if found.get(pid, {}).get("on_sale")
        ]
    rule = theme["rule"] or {}
    query = ProductListQuery.model_validate(
        {"category_id": rule.get("category_id"), "brand_id": rule.get("brand_id"), "page_size": 100}
    )
    try:
        products = catalog.list_products(catalog_repo, query)["items"]
    except NotFound:
        return []  # the rule's category was removed: the theme shows nothing rather than failing
    cap = rule.get("max_price_fen")
    return [p for p in products if cap is None or p["price_fen"] <= cap][:limit]


def get_theme(
    repo: ThemeRepository, catalog_repo: CatalogRepository, theme_id: str, limit: int, now: datetime | None = None
) -> dict[str, Any]:
    at = iso(now or utcnow())
    theme = next((t for t in repo.themes() if t["theme_id"] == theme_id), None)
    if theme is None:
        raise NotFound("No such theme")
    return {**_view(theme, at), "items": theme_items(catalog_repo, theme, limit)}
