"""The only module touching search's models: the index pointer, hot-word counters, the catalog read for builds."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.catalog.models import CatalogItem, ProductItem, SkuItem, product_pk
from chalicelib.catalog.records import _product_dict, _sku_dict
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.search.models import (
    HOT_PK,
    HOT_SOURCE_TALLY_SK,
    HotCountModel,
    HotSourceModel,
    HotTopModel,
    IndexPointerModel,
    hot_day_pk,
    hot_source_pk,
)


@dataclass(frozen=True)
class IndexPointer:
    """Which published index readers load: its S3 key, and as of when it saw the catalog."""

    version: str
    key: str
    catalog_as_of: str
    built_at: str
    documents: int = 0
    # Products changed in place since the last full build, newest last (at most RECENT_IDS_KEPT): a full build that
    # was overtaken by such changes while it read the catalog applies them again before it publishes.
    recent_ids: tuple[str, ...] = ()


RECENT_IDS_KEPT = 1_000


@dataclass(frozen=True)
class CatalogRead:
    """Everything an index build needs from the catalog, read in one pass."""

    products: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    categories: dict[str, dict[str, Any]]
    brands: dict[str, dict[str, Any]]


class SearchRepository(Protocol):
    def index_pointer(self) -> IndexPointer | None: ...
    def move_index_pointer(self, pointer: IndexPointer, replaces: str | None) -> bool:
        """Point readers at this index if the current pointer is still version `replaces` (None: no index yet) and
        did not read the whole catalog later than this one; True if moved."""

    def add_hot_counts(self, day: str, counts: dict[str, int], expires_at: int) -> None: ...
    def claim_hot_count(self, day: str, source: str, keyword: str, cap: int, expires_at: int) -> bool:
        """True (and remembered) the first time this source counts this keyword on this day, while the source has
        counted fewer than `cap` keywords that day; False otherwise."""

    def hot_counts(self, days: list[str]) -> dict[str, dict[str, int]]:
        """day -> keyword -> searches, for these days."""

    def hot_top(self) -> tuple[list[dict[str, Any]], int]:
        """The folded top list and when it was folded (epoch milliseconds; 0 if never)."""

    def save_hot_top(self, items: list[dict[str, Any]], refreshed_at: int) -> bool:
        """Store a fold unless a later one is there; True if stored."""


class CatalogSource(Protocol):
    def read_catalog(self) -> CatalogRead: ...
    def read_products(self, product_ids: list[str]) -> CatalogRead:
        """These products (those that exist) with their SKUs, the category tree and the brands."""


class DynamoSearchRepository:
    """SearchRepository on the marketing table."""

    def index_pointer(self) -> IndexPointer | None:
        try:
            item = IndexPointerModel.get(IndexPointerModel.pk.default, IndexPointerModel.sk.default)
        except IndexPointerModel.DoesNotExist:
            return None
        return IndexPointer(
            version=item.version,
            key=item.key,
            catalog_as_of=item.catalog_as_of,
            built_at=item.built_at,
            documents=int(item.documents or 0),
            recent_ids=tuple(str(product_id) for product_id in item.recent_ids or ()),
        )

    def move_index_pointer(self, pointer: IndexPointer, replaces: str | None) -> bool:
        item = IndexPointerModel(
            version=pointer.version,
            key=pointer.key,
            catalog_as_of=pointer.catalog_as_of,
            built_at=pointer.built_at,
            documents=pointer.documents,
            recent_ids=list(pointer.recent_ids[-RECENT_IDS_KEPT:]) or None,
        )
        if replaces is None:
            condition = IndexPointerModel.pk.does_not_exist()
        else:
            condition = (IndexPointerModel.version == replaces) & (
                IndexPointerModel.catalog_as_of <= pointer.catalog_as_of
            )
        try:
            item.save(condition=condition)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def add_hot_counts(self, day: str, counts: dict[str, int], expires_at: int) -> None:
        for keyword, count in counts.items():
            HotCountModel(hot_day_pk(day), keyword).update(
                actions=[HotCountModel.searches.add(count), HotCountModel.expires_at.set(expires_at)]
            )

    def claim_hot_count(self, day: str, source: str, keyword: str, cap: int, expires_at: int) -> bool:
        # Two conditional writes, not a transaction: a crash between them leaves a claim that was not counted, which
        # only ever undercounts (the safe side for a guard), and each stays one cheap write (moto copies the whole
        # table on every transaction, which would stall the local stack as claims pile up).
        pk = hot_source_pk(day, source)
        try:
            HotSourceModel(pk, keyword, counted=1, expires_at=expires_at).save(
                condition=HotSourceModel.pk.does_not_exist()
            )
            HotSourceModel(pk, HOT_SOURCE_TALLY_SK).update(
                actions=[HotSourceModel.counted.add(1), HotSourceModel.expires_at.set(expires_at)],
                condition=HotSourceModel.pk.does_not_exist() | (HotSourceModel.counted < cap),
            )
        except (PutError, UpdateError) as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False  # counted already today, or the searcher used up its keywords for the day
            raise
        return True

    def hot_counts(self, days: list[str]) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for day in days:
            for item in HotCountModel.query(hot_day_pk(day), attributes_to_get=["sk", "searches"]):
                counts[day][item.sk] = int(item.searches or 0)
        return dict(counts)

    def hot_top(self) -> tuple[list[dict[str, Any]], int]:
        try:
            item = HotTopModel.get(HOT_PK, HotTopModel.sk.default)
        except HotTopModel.DoesNotExist:
            return [], 0
        items = [entry.as_dict() if hasattr(entry, "as_dict") else dict(entry) for entry in item.items]
        return items, int(item.refreshed_at or 0)

    def save_hot_top(self, items: list[dict[str, Any]], refreshed_at: int) -> bool:
        item = HotTopModel(items=items, refreshed_at=refreshed_at)
        try:
            # <=: two folds of the same moment read the same counters, either may stay
            item.save(condition=HotTopModel.pk.does_not_exist() | (HotTopModel.refreshed_at <= refreshed_at))
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoCatalogSource:
    """CatalogSource on the catalog table: products and SKUs by one (parallel) Scan, the category tree and the
    brands by their one-partition Queries -- never a request per product."""

    def __init__(self, segments: int = 1) -> None:
        self.segments = max(1, segments)

    def read_catalog(self) -> CatalogRead:
        if self.segments == 1:
            parts = [self._scan_segment(None)]
        else:
            with ThreadPoolExecutor(max_workers=self.segments) as pool:
                parts = list(pool.map(self._scan_segment, range(self.segments)))
        products: dict[str, dict[str, Any]] = {}
        skus: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for part_products, part_skus in parts:
            products.update(part_products)
            for product_id, some in part_skus.items():
                skus[product_id].extend(some)
        catalog = DynamoCatalogRepository()
        return CatalogRead(
            products=[
                (product, sorted(skus.get(product_id, []), key=lambda s: s["sku_id"]))
                for product_id, product in sorted(products.items())
            ],
            categories={c["category_id"]: c for c in catalog.categories()},
            brands={b["brand_id"]: b for b in catalog.brands()},
        )

    def read_products(self, product_ids: list[str]) -> CatalogRead:
        """One strongly consistent Query per product (its item and its SKUs share a partition), a few in parallel."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = [read for read in pool.map(_product_with_skus, dict.fromkeys(product_ids)) if read is not None]
        catalog = DynamoCatalogRepository()
        return CatalogRead(
            products=found,
            categories={c["category_id"]: c for c in catalog.categories()},
            brands={b["brand_id"]: b for b in catalog.brands()},
        )

    def _scan_segment(self, segment: int | None) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        products: dict[str, dict[str, Any]] = {}
        skus: dict[str, list[dict[str, Any]]] = defaultdict(list)
        scan = CatalogItem.scan(
            CatalogItem.kind.is_in(ProductItem, SkuItem),
            segment=segment,
            total_segments=self.segments if segment is not None else None,
            consistent_read=True,  # the build's as-of time must cover every write acknowledged before it
        )
        for item in scan:
            if isinstance(item, ProductItem):
                products[item.product_id] = _product_dict(item)
            elif isinstance(item, SkuItem):
                skus[item.product_id].append(_sku_dict(item))
        return products, skus


def _product_with_skus(product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    product: dict[str, Any] | None = None
    skus: list[dict[str, Any]] = []
    for item in CatalogItem.query(product_pk(product_id), consistent_read=True):
        if isinstance(item, ProductItem):
            product = _product_dict(item)
        elif isinstance(item, SkuItem):
            skus.append(_sku_dict(item))
    return (product, sorted(skus, key=lambda s: s["sku_id"])) if product else None
