"""The deterministic demo catalog (category tree, brands, products) that the local stack seeds: the taxonomy of
taxonomy.py and the listings of data/*.toml, made into the bodies the catalog's admin API takes."""

from __future__ import annotations

import hashlib
import itertools
import random
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from local.demo import taxonomy

# The raw listings live in local/demo/data/<root>.toml, one file per root category. Prices there are in
# yuan; a spec written as a table ({"12GB+256GB" = 0, "12GB+512GB" = 500}) carries each value's price delta.
DATA_DIR = Path(__file__).resolve().parent / "data"
# The local stack draws these pictures itself (local/demo/pictures.py): the demo names no outside host.
IMAGE_HOST = "/demo-media"
# The demo's "today": every created_at falls within the CREATED_WINDOW_DAYS before it.
CATALOG_DATE = datetime(2026, 11, 20, tzinfo=UTC)
CREATED_WINDOW_DAYS = 90
MAX_SKUS = 6
MAX_STOCK = 500
MAX_STOCK_PRICEY = 200  # fewer units of anything over PRICEY_YUAN on hand
PRICEY_YUAN = 3000
SOLD_OUT_SHARE = 0.04
LOW_STOCK_SHARE = 0.05


def categories() -> list[dict[str, Any]]:
    """The two-level category tree: each root followed by its leaves, sort_order counting from 1 per parent."""
    rows: list[dict[str, Any]] = []
    for root_order, (root_id, root_name, leaves) in enumerate(taxonomy.CATEGORY_TREE, start=1):
        rows.append({"category_id": root_id, "name": root_name, "parent_id": None, "sort_order": root_order})
        rows.extend(
            {"category_id": leaf_id, "name": leaf_name, "parent_id": root_id, "sort_order": leaf_order}
            for leaf_order, (leaf_id, leaf_name) in enumerate(leaves, start=1)
        )
    return rows


def brands() -> list[dict[str, Any]]:
    """The real-world brands the demo products are sold under."""
    return [
        {"brand_id": brand_id, "name": name, "logo_url": f"{IMAGE_HOST}/brands/{brand_id}.svg"}
        for brand_id, name, _roots in taxonomy.BRANDS
    ]


def products() -> list[dict[str, Any]]:
    """Every demo product with its specs and SKUs, in category order; a fresh copy on every call."""
    brand_roots = {brand_id: roots for brand_id, _name, roots in taxonomy.BRANDS}
    return [_build_product(root_id, leaf_id, listing, brand_roots) for root_id, leaf_id, listing in _raw_listings()]


@lru_cache(maxsize=1)
def _raw_listings() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """(root id, leaf id, raw listing) for every listing in the data files, in category-tree order."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for root_id, _name, leaves in taxonomy.CATEGORY_TREE:
        path = DATA_DIR / f"{root_id.removeprefix('c_')}.toml"
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        leaf_ids = [leaf_id for leaf_id, _leaf_name in leaves]
        unknown = set(data) - set(leaf_ids)
        if unknown:
            raise ValueError(f"{path.name}: {sorted(unknown)} are not leaves of {root_id}")
        rows.extend((root_id, leaf_id, listing) for leaf_id in leaf_ids for listing in data.get(leaf_id, ()))
    return tuple(rows)


def _build_product(
    root_id: str, leaf_id: str, listing: dict[str, Any], brand_roots: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    slug, brand_id, title = listing["slug"], listing["brand"], listing["title"]
    if root_id not in brand_roots.get(brand_id, ()):
        raise ValueError(f"{slug}: brand {brand_id} does not trade in {root_id}")
    digest = hashlib.sha1(slug.encode("utf-8"), usedforsecurity=False).digest()
    product_id = f"p_{digest.hex()[:12]}"
    rng = random.Random(int.from_bytes(digest[8:16], "big"))
    threshold, root_after_sales, root_closing = taxonomy.ROOT_TERMS[root_id]

    tables = _spec_tables(slug, listing["specs"])
    combos = _pick_combos(tables, title, rng)
    base = Decimal(str(listing["price"]))
    skus = []
    for number, combo in enumerate(combos, start=1):
        price = base + sum((deltas[value] for (_name, deltas), value in zip(tables, combo, strict=True)), Decimal(0))
        price_fen = price * 100
        if price_fen <= 0 or price_fen != price_fen.to_integral_value():
            raise ValueError(f"{slug}: {combo} costs {price} yuan")
        cap = MAX_STOCK_PRICEY if price > PRICEY_YUAN else MAX_STOCK
        skus.append(
            {
                "sku_id": f"{product_id}-{number:02d}",
                "attributes": {name: value for (name, _deltas), value in zip(tables, combo, strict=True)},
                "price_fen": int(price_fen),
                "stock": _stock(rng, threshold, cap),
            }
        )
    # A value no chosen SKU offers is dropped, so the specs list exactly what can be bought.
    specs = [
        {"name": name, "values": [value for value in deltas if any(combo[i] == value for combo in combos)]}
        for i, (name, deltas) in enumerate(tables)
    ]
    return {
        "product_id": product_id,
        "title": title,
        "subtitle": listing["subtitle"],
        "description": listing["description"] + taxonomy.LEAF_CLOSING.get(leaf_id, root_closing),
        "category_id": leaf_id,
        "brand_id": brand_id,
        "images": [f"{IMAGE_HOST}/{product_id}/{n}.svg" for n in range(1, 2 + digest[0] % 3 + 1)],
        "specs": specs,
        "skus": skus,
        "after_sales": list(taxonomy.LEAF_AFTER_SALES.get(leaf_id, root_after_sales)),
        "created_at": _created_at(digest),
        "low_stock_threshold": threshold,
    }


def _spec_tables(slug: str, raw_specs: dict[str, Any]) -> list[tuple[str, dict[str, Decimal]]]:
    """Each spec as (name, value -> price delta in yuan); a plain list of values adds nothing to the price."""
    tables: list[tuple[str, dict[str, Decimal]]] = []
    for name, values in raw_specs.items():
        if isinstance(values, dict):
            deltas = {value: Decimal(str(delta)) for value, delta in values.items()}
        else:
            if len(set(values)) != len(values):
                raise ValueError(f"{slug}: {name} repeats a value")
            deltas = dict.fromkeys(values, Decimal(0))
        if not deltas:
            raise ValueError(f"{slug}: {name} has no values")
        tables.append((name, deltas))
    if not tables:
        raise ValueError(f"{slug}: no specs")
    return tables


def _pick_combos(tables: list[tuple[str, dict[str, Decimal]]], title: str, rng: random.Random) -> list[tuple[str, ...]]:
    """The SKUs' value combinations: the whole cartesian product when small, else MAX_SKUS-2..MAX_SKUS of it.

    A cut-down set always keeps the variant the title names and tries to offer every value at least once.
    """
    combos = list(itertools.product(*(list(deltas) for _name, deltas in tables)))
    if len(combos) <= MAX_SKUS:
        return combos
    words = set(title.split())

    def title_match(index: int) -> tuple[int, int]:
        combo = combos[index]
        return sum(value in words for value in combo), sum(value in title for value in combo)

    anchor = max(range(len(combos)), key=lambda index: (title_match(index), -index))
    target = rng.randint(MAX_SKUS - 2, MAX_SKUS)
    others = [index for index in range(len(combos)) if index != anchor]
    rng.shuffle(others)
    chosen = [anchor]
    offered = [{value} for value in combos[anchor]]
    for index in others:
        if len(chosen) == target:
            break
        if any(value not in seen for value, seen in zip(combos[index], offered, strict=True)):
            chosen.append(index)
            for value, seen in zip(combos[index], offered, strict=True):
                seen.add(value)
    for index in others:
        if len(chosen) == target:
            break
        if index not in chosen:
            chosen.append(index)
    return [combos[index] for index in sorted(chosen)]


def _stock(rng: random.Random, threshold: int, cap: int) -> int:
    """Mostly comfortable stock, with a few SKUs sold out and a few under the low-stock threshold."""
    roll = rng.random()
    if roll < SOLD_OUT_SHARE:
        return 0
    if roll < SOLD_OUT_SHARE + LOW_STOCK_SHARE:
        return rng.randint(1, threshold - 1)
    return rng.randint(threshold, cap)


def _created_at(digest: bytes) -> str:
    """A listing time between 08:00 and 22:59 on one of the CREATED_WINDOW_DAYS days before CATALOG_DATE."""
    spread = int.from_bytes(digest[16:20], "big")
    days_back = spread % CREATED_WINDOW_DAYS + 1
    hour = 8 + (spread // CREATED_WINDOW_DAYS) % 15
    minute = (spread // (CREATED_WINDOW_DAYS * 15)) % 60
    created = CATALOG_DATE - timedelta(days=days_back) + timedelta(hours=hour, minutes=minute)
    return created.strftime("%Y-%m-%dT%H:%M:%SZ")
