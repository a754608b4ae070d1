"""The home page's promotion and theme shelves as a refresh stores them: which sellable products each shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.models import product_id_of_sku
from chalicelib.clock import iso, parse_iso
from chalicelib.pricing.promotion import Promotion

if TYPE_CHECKING:
    from chalicelib.recommend.refresh import CatalogProduct, CatalogSnapshot

HOME_LIST = 50  # stored per home list; the page shows fewer and skips what went off sale since
THEME_ITEMS = 50


def _epoch(value: Any) -> float:
    return parse_iso(value).timestamp()


def _in_scope(promotion: Promotion, product: CatalogProduct) -> bool:
    if promotion.scope == "all":
        return True
    if promotion.scope == "category":
        return product.category_id in promotion.scope_ids or product.root_category_id in promotion.scope_ids
    return product.product_id in promotion.scope_ids


def promotion_entries(
    promotions: Sequence[Promotion], snapshot: CatalogSnapshot, popular: list[str], now: datetime
) -> list[dict[str, str]]:
    """Sellable products of the running promotions: flash-price ones first, deepest discount first, then those in a
    threshold promotion's scope, hottest first. Each with its promotion and when that ends (the page skips ended
    ones between refreshes)."""
    rank = {product_id: position for position, product_id in enumerate(popular)}
    by_id = {p.product_id: p for p in snapshot.products}
    flash: dict[str, tuple[float, Promotion]] = {}
    threshold: dict[str, Promotion] = {}
    for promotion in sorted(promotions, key=lambda p: p.promotion_id):
        if not promotion.is_running(now):
            continue
        if promotion.kind == "flash_price":
            for sku_id, price_fen in promotion.sku_prices:
                product_id = product_id_of_sku(sku_id)
                list_price = snapshot.sku_prices.get(sku_id)
                if product_id not in rank or not list_price:
                    continue
                discount = 1.0 - price_fen / list_price
                if product_id not in flash or discount > flash[product_id][0]:
                    flash[product_id] = (discount, promotion)
        else:
            for product_id in rank:
                if product_id not in threshold and _in_scope(promotion, by_id[product_id]):
                    threshold[product_id] = promotion
    ordered = sorted(flash, key=lambda pid: (-flash[pid][0], rank[pid]))
    ordered += sorted((pid for pid in threshold if pid not in flash), key=rank.__getitem__)
    chosen = [(pid, flash[pid][1] if pid in flash else threshold[pid]) for pid in ordered[:HOME_LIST]]
    return [{"product_id": pid, "promotion_id": p.promotion_id, "ends_at": iso(p.ends_at)} for pid, p in chosen]


def _theme_matches(rule: Mapping[str, Any], product: CatalogProduct) -> bool:
    category_id, brand_id, cap = rule.get("category_id"), rule.get("brand_id"), rule.get("max_price_fen")
    if category_id and category_id not in (product.category_id, product.root_category_id):
        return False
    if brand_id and brand_id != product.brand_id:
        return False
    return cap is None or product.price_fen <= int(cap)


def theme_entries(
    themes: Sequence[Mapping[str, Any]], products: Sequence[CatalogProduct], popular: list[str], now: float
) -> list[dict[str, Any]]:
    """Every theme not yet ended (the page shows those whose window is open) with its sellable items: curated ones in
    their order, or the products its rule picks (category leaf or top-level, brand, price cap), hottest first."""
    sellable = {p.product_id: p for p in products if p.sellable}
    entries = []
    for theme in sorted(themes, key=lambda t: (int(t.get("sort_order") or 0), t["starts_at"], t["theme_id"])):
        if _epoch(theme["ends_at"]) <= now:
            continue
        if theme.get("product_ids"):
            items = [pid for pid in dict.fromkeys(theme["product_ids"]) if pid in sellable]
        else:
            rule = theme.get("rule") or {}
            items = [pid for pid in popular if _theme_matches(rule, sellable[pid])] if rule else []
        entries.append({
            "theme_id": theme["theme_id"], "title": theme["title"], "subtitle": theme.get("subtitle") or "",
            "banner_url": theme.get("banner_url"), "sort_order": int(theme.get("sort_order") or 0),
            "starts_at": theme["starts_at"], "ends_at": theme["ends_at"], "product_ids": items[:THEME_ITEMS],
        })  # fmt: skip
    return entries
