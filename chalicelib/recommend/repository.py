"""The only module that touches the recommendation items, and the refresh's one Scan of the catalog's facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.catalog.models import CatalogItem, ProductItem, SkuItem
from chalicelib.clock import parse_iso
from chalicelib.recommend.models import HOME_PK, LIST_SK, RecommendationItem, RefreshRunModel
from chalicelib.recommend.refresh import CatalogProduct, CatalogSnapshot, ListKey, ListKind

_PREFIXES: dict[ListKind, str] = {
    "similar": "RECO#SIMILAR#",
    "hot": "RECO#HOT#",
    "for_you": "RECO#FOR_YOU#",
    "segment": "RECO#SEGMENT#",
}
# What the refresh needs of products and SKUs: the Scan reads only these attributes (not titles, descriptions).
_SCANNED = (
    "pk", "sk", "kind", "product_id", "category_id", "root_category_id", "brand_id", "created_at", "on_sale", "sales",
    "rating_avg", "price_fen", "sku_id", "stock",
)  # fmt: skip


WRITE_CHUNK = 250  # items per worker task (pynamodb sends them as BatchWriteItem requests of 25)
WRITERS = 8  # parallel writers (botocore's pool holds 10 connections)


def list_pk(key: ListKey) -> str:
    kind, subject = key
    return f"{_PREFIXES[kind]}{subject}"


class RefreshRuns(Protocol):
    """The refreshes staff asked for (POST /admin/recommendations/refresh)."""

    def start(self, run: dict[str, Any], expires_at: int) -> None: ...

    def get(self, run_id: str) -> dict[str, Any] | None: ...

    def finish(self, run_id: str, status: str, finished_at: str) -> bool:
        """Record the outcome once (only while RUNNING); False when it was already recorded."""


class RecommendationStore(RefreshRuns, Protocol):
    def read(self, home: bool, keys: list[ListKey]) -> tuple[dict[str, Any] | None, dict[ListKey, list[str]]]:
        """The home lists (when asked) and the stored lists among keys, by one BatchGetItem; absent ones are left
        out (None for the home)."""

    def save_home(self, home: dict[str, Any], generated_at: str) -> None: ...

    def save_lists(self, lists: Mapping[ListKey, list[str]], generated_at: str, expires_at: int) -> int:
        """Put every list whole (BatchWriteItem, 25 a request); how many were written."""


class CatalogFacts(Protocol):
    def catalog_snapshot(self) -> CatalogSnapshot:
        """Every product's facts and every SKU's list price and stock, by one paginated Scan."""


class DynamoRefreshRuns:
    """RefreshRuns on the marketing table (RefreshRunModel)."""

    def start(self, run: dict[str, Any], expires_at: int) -> None:
        item = RefreshRunModel(RefreshRunModel.key(run["run_id"]), "RUN", expires_at=expires_at, **run)
        item.save(condition=RefreshRunModel.pk.does_not_exist())

    def get(self, run_id: str) -> dict[str, Any] | None:
        try:
            item = RefreshRunModel.get(RefreshRunModel.key(run_id), "RUN", consistent_read=True)
        except DoesNotExist:
            return None
        return {name: getattr(item, name) for name in ("run_id", "status", "started_at", "finished_at")}

    def finish(self, run_id: str, status: str, finished_at: str) -> bool:
        try:
            RefreshRunModel(RefreshRunModel.key(run_id), "RUN").update(
                actions=[RefreshRunModel.status.set(status), RefreshRunModel.finished_at.set(finished_at)],
                condition=RefreshRunModel.status == "RUNNING",
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoRecommendationStore(DynamoRefreshRuns):
    """RecommendationStore on the marketing table (the refresh runs staff asked for too)."""

    def read(self, home: bool, keys: list[ListKey]) -> tuple[dict[str, Any] | None, dict[ListKey, list[str]]]:
        by_pk = {list_pk(key): key for key in keys}
        wanted = [(pk, LIST_SK) for pk in by_pk] + ([(HOME_PK, LIST_SK)] if home else [])
        if not wanted:
            return None, {}
        found_home: dict[str, Any] | None = None
        lists: dict[ListKey, list[str]] = {}
        for item in RecommendationItem.batch_get(wanted):
            if item.pk == HOME_PK:
                found_home = dict(item.home or {})
                found_home["generated_at"] = item.generated_at
            elif item.pk in by_pk:
                lists[by_pk[item.pk]] = [str(pid) for pid in item.product_ids or []]
        return found_home, lists

    def save_home(self, home: dict[str, Any], generated_at: str) -> None:
        RecommendationItem(HOME_PK, LIST_SK, home=home, generated_at=generated_at).save()

    def save_lists(self, lists: Mapping[ListKey, list[str]], generated_at: str, expires_at: int) -> int:
        """BatchWriteItem requests of 25 items, WRITERS of them at a time."""
        from concurrent.futures import ThreadPoolExecutor

        keys = list(lists)
        chunks = [keys[start : start + WRITE_CHUNK] for start in range(0, len(keys), WRITE_CHUNK)]

        def write(chunk: list[ListKey]) -> None:
            with RecommendationItem.batch_write() as batch:
                for key in chunk:
                    batch.save(
                        RecommendationItem(
                            list_pk(key), LIST_SK, product_ids=lists[key], generated_at=generated_at,
                            expires_at=expires_at,
                        )
                    )  # fmt: skip

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, chunks))
        return len(keys)


def _epoch(moment: str | None) -> float:
    if not moment:
        return 0.0
    return parse_iso(moment).timestamp()


class DynamoCatalogFacts:
    """CatalogFacts on the catalog table: products and SKUs by one Scan of a few attributes (off the request path)."""

    def catalog_snapshot(self) -> CatalogSnapshot:
        products: dict[str, dict[str, Any]] = {}
        in_stock: set[str] = set()
        sku_prices: dict[str, int] = {}
        scan = CatalogItem.scan(CatalogItem.kind.is_in(ProductItem, SkuItem), attributes_to_get=list(_SCANNED))
        for item in scan:
            if isinstance(item, ProductItem):
                products[item.product_id] = {
                    "product_id": item.product_id,
                    "category_id": item.category_id,
                    "root_category_id": item.root_category_id or item.category_id,
                    "brand_id": item.brand_id,
                    "created_at": _epoch(item.created_at),
                    "on_sale": bool(item.on_sale),
                    "sales": int(item.sales or 0),
                    "rating_avg": float(item.rating_avg or 0),
                    "price_fen": int(item.price_fen or 0),
                }
            elif isinstance(item, SkuItem):
                sku_prices[item.sku_id] = int(item.price_fen or 0)
                if int(item.stock or 0) > 0:
                    in_stock.add(item.product_id)
        return CatalogSnapshot(
            products=[
                CatalogProduct(**fields, in_stock=product_id in in_stock)
                for product_id, fields in sorted(products.items())
            ],
            sku_prices=sku_prices,
        )
