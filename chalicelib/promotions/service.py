"""Promotion rules: admin writes checked against the catalog, what is on now (cached per warm container), prices."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.service import category_tree
from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.errors import NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.pagination import page
from chalicelib.pricing.engine import flash_prices, unit_prices
from chalicelib.pricing.promotion import Promotion, Tier
from chalicelib.promotions.repository import PromotionsRepository
from chalicelib.promotions.schemas import PromotionWrite

CACHE_TTL_SECONDS = 30.0
KEEP_AFTER_END = timedelta(days=180)  # then the TTL removes it; orders keep their own amounts


class PromotionCache:
    """Every stored promotion that has not ended, read with one Query and kept 30 s per warm container."""

    def __init__(self) -> None:
        self._promotions: list[Promotion] | None = None
        self._read_at = 0.0

    def get(self, repo: PromotionsRepository) -> list[Promotion]:
        if self._promotions is None or time.monotonic() - self._read_at > CACHE_TTL_SECONDS:
            now = utcnow()
            self._promotions = [p for p in map(promotion_value, repo.all()) if p.ends_at > now]
            self._read_at = time.monotonic()
        return self._promotions

    def forget(self) -> None:
        self._promotions = None


promotion_cache = PromotionCache()


def promotion_value(record: Mapping[str, Any]) -> Promotion:
    """A stored promotion as the pricing engine sees it."""
    return Promotion(
        promotion_id=record["promotion_id"],
        name=record["name"],
        kind=record["kind"],
        starts_at=parse_iso(record["starts_at"]),
        ends_at=parse_iso(record["ends_at"]),
        sku_prices=tuple((entry["sku_id"], int(entry["price_fen"])) for entry in record["sku_prices"]),
        tiers=tuple(Tier(int(tier["threshold_fen"]), int(tier["off_fen"])) for tier in record["tiers"]),
        scope=record["scope"],
        scope_ids=tuple(record["scope_ids"]),
    )


def status_of(record: Mapping[str, Any], now: datetime) -> str:
    if now < parse_iso(record["starts_at"]):
        return "scheduled"
    return "running" if now < parse_iso(record["ends_at"]) else "ended"


def _public(record: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    keys = ("promotion_id", "name", "kind", "starts_at", "ends_at", "sku_prices", "tiers", "scope", "scope_ids")
    return {**{key: record[key] for key in keys}, "status": status_of(record, now)}


def _check_against_catalog(catalog: CatalogRepository, write: PromotionWrite) -> None:
    """SKUs must exist and be priced below their list price; scope ids must name existing categories or products."""
    if write.sku_prices:
        skus = catalog.skus_by_ids([entry.sku_id for entry in write.sku_prices])
        errors = []
        for i, entry in enumerate(write.sku_prices):
            sku = skus.get(entry.sku_id)
            if sku is None:
                errors.append({"field": f"sku_prices.{i}.sku_id", "message": "No SKU has this id."})
            elif entry.price_fen >= sku["price_fen"]:
                errors.append({"field": f"sku_prices.{i}.price_fen", "message": "Must be below the list price."})
        if errors:
            raise ValidationError("Invalid promotional prices", errors=errors)
    if write.scope == "category":
        categories = category_tree.get(catalog)
        unknown = [i for i in write.scope_ids if i not in categories]
        if unknown:
            category_tree.forget()  # one just created elsewhere may not be in this container's copy yet
            categories = category_tree.get(catalog)
            unknown = [i for i in write.scope_ids if i not in categories]
    elif write.scope == "product":
        unknown = [i for i in dict.fromkeys(write.scope_ids) if catalog.product_with_skus(i) is None]
    else:
        unknown = []
    if unknown:
        errors = [{"field": "scope_ids", "message": f"No {write.scope} has the id {i}."} for i in unknown]
        raise ValidationError(f"Unknown {write.scope} ids in scope_ids", errors=errors)


def _record(write: PromotionWrite, promotion_id: str, created_at: str, version: int) -> dict[str, Any]:
    ends_at = write.ends_at
    return {
        "promotion_id": promotion_id,
        "name": write.name,
        "kind": write.kind,
        "starts_at": iso(write.starts_at),
        "ends_at": iso(ends_at),
        "sku_prices": [entry.model_dump() for entry in write.sku_prices],
        "tiers": [tier.model_dump() for tier in write.tiers],
        "scope": write.scope,
        "scope_ids": list(dict.fromkeys(write.scope_ids)),
        "created_at": created_at,
        "updated_at": iso(utcnow()),
        "version": version,
        "expires_at": int(ends_at.timestamp() + KEEP_AFTER_END.total_seconds()),
    }


def _admin_view(record: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    return {
        **_public(record, now),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "version": record["version"],
    }


def _check_window(write: PromotionWrite) -> None:
    if write.ends_at <= utcnow():
        raise ValidationError("The promotion would have ended already", errors=[{"field": "ends_at",
                              "message": "Must be in the future."}])  # fmt: skip


def create_promotion(repo: PromotionsRepository, catalog: CatalogRepository, write: PromotionWrite) -> dict[str, Any]:
    _check_window(write)
    _check_against_catalog(catalog, write)
    record = _record(write, write.promotion_id or new_id("pr"), iso(utcnow()), 1)
    repo.save(record, expected_version=None)
    promotion_cache.forget()
    return _admin_view(record)


def replace_promotion(
    repo: PromotionsRepository, catalog: CatalogRepository, promotion_id: str, write: PromotionWrite
) -> dict[str, Any]:
    """Replace every field of a promotion (409 if it changed between our read and write)."""
    current = repo.get(promotion_id)
    if current is None:
        raise NotFound("No such promotion")
    _check_window(write)
    _check_against_catalog(catalog, write)
    record = _record(write, promotion_id, current["created_at"], current["version"] + 1)
    repo.save(record, expected_version=current["version"])
    promotion_cache.forget()
    return _admin_view(record)


def delete_promotion(repo: PromotionsRepository, promotion_id: str) -> None:
    """Remove a promotion: it stops applying at once in this container, within 30 s in every other."""
    repo.delete(promotion_id)
    promotion_cache.forget()


def list_promotions(repo: PromotionsRepository) -> dict[str, Any]:
    """Every stored promotion (ended ones until the TTL removes them), latest start first."""
    records = sorted(repo.all(), key=lambda r: (r["starts_at"], r["promotion_id"]), reverse=True)
    return page([_admin_view(record) for record in records], None)


def public_promotions(repo: PromotionsRepository, running_only: bool) -> dict[str, Any]:
    """What is on now (and, unless running_only, what starts later), soonest ending first; from the cache."""
    now = utcnow()
    promotions = [p for p in promotion_cache.get(repo) if p.ends_at > now and (p.starts_at <= now or not running_only)]
    items = [_public(_record_of(p), now) for p in sorted(promotions, key=lambda p: (p.ends_at, p.promotion_id))]
    return page(items, None)


def _record_of(promotion: Promotion) -> dict[str, Any]:
    return {
        "promotion_id": promotion.promotion_id,
        "name": promotion.name,
        "kind": promotion.kind,
        "starts_at": iso(promotion.starts_at),
        "ends_at": iso(promotion.ends_at),
        "sku_prices": [{"sku_id": sku_id, "price_fen": price} for sku_id, price in promotion.sku_prices],
        "tiers": [{"threshold_fen": t.threshold_fen, "off_fen": t.off_fen} for t in promotion.tiers],
        "scope": promotion.scope,
        "scope_ids": list(promotion.scope_ids),
    }


def running_promotions(repo: PromotionsRepository, now: datetime | None = None) -> list[Promotion]:
    """The promotions running at `now` (default: the clock's now), from the cache: what carts and orders price with."""
    moment = now or utcnow()
    return [p for p in promotion_cache.get(repo) if p.is_running(moment)]


def effective_prices(
    repo: PromotionsRepository,
    sku_ids: Iterable[str],
    now: datetime | None = None,
    list_prices: Mapping[str, int] | None = None,
) -> dict[str, tuple[int, str | None]]:
    """sku_id -> (unit price to show, the promotion giving it, or None for the list price).

    Without list_prices: only the SKUs with a running promotional price. With list_prices (sku_id -> list price):
    every SKU named there, at the lower of the two (product detail passes its SKUs' prices).
    """
    moment = now or utcnow()
    running = running_promotions(repo, moment)
    if list_prices is not None:  # the one rule the cart, the preview and orders price units by
        return unit_prices({s: list_prices[s] for s in sku_ids if s in list_prices}, running, moment)
    offers = flash_prices(running, moment)
    return {sku_id: offers[sku_id] for sku_id in sku_ids if sku_id in offers}
