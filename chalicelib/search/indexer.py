"""Index builds and updates: which catalog changes matter, full build -> publish -> move pointer, and the update in
place of the published index for a few changed products (read them, apply, publish)."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.clock import iso, precise_iso
from chalicelib.errors import ChangedMeanwhile
from chalicelib.observability import logger
from chalicelib.search.repository import CatalogRead, CatalogSource, IndexPointer, SearchRepository
from chalicelib.search.store import KEEP_PUBLISHED, IndexStorage, index_key

# What a change must touch to matter to search right away. Sales, ratings, view and favorite counts change with
# every order, review and visit: they only rank, and reach the index with the next scheduled full build instead.
PRODUCT_FIELDS = (
    "title", "subtitle", "description", "category_id", "root_category_id", "brand_id", "specs", "images",
    "price_fen", "on_sale", "created_at",
)  # fmt: skip
SKU_FIELDS = ("price_fen", "attributes", "title", "category_id", "brand_id", "on_sale")
ALWAYS_RELEVANT_KINDS = ("category", "brand")

BuildIndex = Callable[[Iterable[Any], str, Iterable[tuple[str, int]]], Any]
ApplyChanges = Callable[[str, Iterable[Any], Iterable[str]], "ChangeCount"]  # (index file, docs, removed ids)
PUBLISH_TRIES = 3
# An update in place reads each changed product; past this many (an import, a new catalog) a full build is cheaper.
IN_PLACE_AT_LEAST = 50
IN_PLACE_SHARE = 0.05
ToDoc = Callable[[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]], Any]


class ChangeCount(Protocol):
    """What an ApplyChanges did (chalicelib.search.updating.ChangeStats)."""

    @property
    def updated(self) -> int: ...
    @property
    def added(self) -> int: ...
    @property
    def removed(self) -> int: ...


@dataclass(frozen=True)
class SearchChange:
    """What one catalog change asks of the index: a product to update in place, or a full build (a category or
    brand renamed touches every product under it)."""

    product_id: str | None
    full: bool = False


def search_change(record: dict[str, Any]) -> SearchChange | None:
    """What a catalog stream record (Lambda's shape) changes in what search shows, or None."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    change = DynamoDBRecord(record).dynamodb
    old, new = (change.old_image, change.new_image) if change is not None else ({}, {})
    if not _relevant(record, old or {}, new or {}):
        return None
    kind = (new or old or {}).get("kind")
    if kind in ALWAYS_RELEVANT_KINDS:
        return SearchChange(None, full=True)
    product_id = (new or old or {}).get("product_id")
    return SearchChange(str(product_id)) if product_id else SearchChange(None, full=True)


def is_search_relevant(record: dict[str, Any]) -> bool:
    """Whether a catalog stream record (Lambda's shape) changes what search shows."""
    return search_change(record) is not None


def _relevant(record: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> bool:
    kind = (new or old).get("kind")
    if kind in ALWAYS_RELEVANT_KINDS:
        return True
    if kind not in ("product", "sku"):
        return False  # reviews, stock bookkeeping and whatever else shares the table
    if record.get("eventName") != "MODIFY" or not old or not new:
        return True
    if kind == "product":
        return any(old.get(name) != new.get(name) for name in PRODUCT_FIELDS)
    return any(old.get(name) != new.get(name) for name in SKU_FIELDS) or _in_stock(old) != _in_stock(new)


def _in_stock(image: dict[str, Any]) -> bool:
    stock = image.get("stock")
    return isinstance(stock, int | Decimal) and stock > 0


def needs_rebuild(pointer: IndexPointer | None, changed_at: str) -> bool:
    """A change at `changed_at` is in every index whose catalog read started after it (reads are consistent)."""
    return pointer is None or pointer.catalog_as_of < changed_at


@dataclass(frozen=True)
class RebuildOutcome:
    version: str
    documents: int
    published: bool  # False: a build that read the catalog later got there first, and this one was dropped
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "documents": self.documents,
            "published": self.published,
            "seconds": round(self.seconds, 3),
        }


def rebuild_index(
    catalog: CatalogSource,
    repo: SearchRepository,
    storage: IndexStorage,
    build: BuildIndex,
    to_doc: ToDoc,
    popular_queries: list[tuple[str, int]],
    now: Callable[[], datetime],
    apply: ApplyChanges | None = None,
) -> RebuildOutcome:
    """Read the whole catalog, build the index file in /tmp, upload it under a new key, then move the pointer.

    The pointer never goes back to an older read of the whole catalog, so of two overlapping builds the one that
    read later wins whatever order they finish in, and readers only ever see a complete, uploaded file. Products
    changed in place while this build read the catalog are applied again before it publishes (see _publish_build).
    """
    started = time.perf_counter()
    as_of = now()
    version = f"{as_of.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
    started_from = repo.index_pointer()
    read = catalog.read_catalog()
    docs = list(_docs(read, to_doc))
    key = index_key(version)
    with tempfile.TemporaryDirectory(prefix="shop-search-build-") as directory:
        path = os.path.join(directory, "index.sqlite")
        build(docs, path, popular_queries)
        pointer = IndexPointer(
            version=version, key=key, catalog_as_of=precise_iso(as_of), built_at=iso(now()), documents=len(docs)
        )
        published = _publish_build(catalog, repo, storage, apply, to_doc, path, pointer, started_from)
    _drop_old_files(storage, repo)
    outcome = RebuildOutcome(version, len(docs), published, time.perf_counter() - started)
    logger.info("search index rebuilt", extra=outcome.as_dict())
    return outcome


def _publish_build(
    catalog: CatalogSource,
    repo: SearchRepository,
    storage: IndexStorage,
    apply: ApplyChanges | None,
    to_doc: ToDoc,
    path: str,
    pointer: IndexPointer,
    started_from: IndexPointer | None,
) -> bool:
    """Upload a full build and move the pointer to it. When updates in place were published while it read the
    catalog, their products are read and applied again first (the build may have read them before the change)."""
    for _ in range(PUBLISH_TRIES):
        current = repo.index_pointer()
        if current is not None and current.catalog_as_of > pointer.catalog_as_of:
            break  # a build that read the catalog later is published: this one is stale
        overtaken = current is not None and (started_from is None or current.version != started_from.version)
        if overtaken and current is not None and current.recent_ids and apply is not None:
            read = catalog.read_products(list(current.recent_ids))
            apply(path, [to_doc(p, s, read.categories, read.brands) for p, s in read.products], current.recent_ids)
        storage.upload(path, pointer.key)
        if repo.move_index_pointer(pointer, current.version if current else None):
            return True
    storage.delete([pointer.key])
    return False


@dataclass(frozen=True)
class UpdateOutcome:
    version: str
    updated: int
    removed: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "updated": self.updated, "removed": self.removed, "seconds": self.seconds}


def update_index(
    catalog: CatalogSource,
    repo: SearchRepository,
    storage: IndexStorage,
    apply: ApplyChanges,
    to_doc: ToDoc,
    product_ids: list[str],
    now: Callable[[], datetime],
) -> UpdateOutcome | None:
    """Apply the current state of these products to a copy of the published index and publish the copy; None when
    there is no index yet, or when more products changed than an update in place is worth (more than 50 and more
    than 5% of the index): a full build must do it. Costs a read of these products, not of the catalog.

    The pointer moves only from the version the copy was made of: when another update or a build got there first,
    the products are applied again to the new version (they are read again: the state written is the latest).
    """
    started = time.perf_counter()
    ids = list(dict.fromkeys(product_ids))
    for _ in range(PUBLISH_TRIES):
        base = repo.index_pointer()
        if base is None or len(ids) > max(IN_PLACE_AT_LEAST, base.documents * IN_PLACE_SHARE):
            return None  # no index yet, or an import: one Scan of the catalog beats a Query per product
        read = catalog.read_products(ids)
        docs = [to_doc(product, skus, read.categories, read.brands) for product, skus in read.products]
        found = {product["product_id"] for product, _ in read.products}
        version = f"{now().astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
        key = index_key(version)
        with tempfile.TemporaryDirectory(prefix="shop-search-update-") as directory:
            path = os.path.join(directory, "index.sqlite")
            storage.download(base.key, path)
            stats = apply(path, docs, [pid for pid in ids if pid not in found])
            storage.upload(path, key)
        recent = (*[pid for pid in base.recent_ids if pid not in ids], *ids)
        pointer = IndexPointer(
            version=version,
            key=key,
            catalog_as_of=base.catalog_as_of,  # the last full read of the catalog, plus these products
            built_at=iso(now()),
            documents=base.documents + stats.added - stats.removed,
            recent_ids=recent,
        )
        if repo.move_index_pointer(pointer, base.version):
            _drop_old_files(storage, repo)
            outcome = UpdateOutcome(version, stats.updated, stats.removed, round(time.perf_counter() - started, 3))
            logger.info("search index updated in place", extra=outcome.as_dict())
            return outcome
        storage.delete([key])
    raise ChangedMeanwhile("the search index pointer kept moving; the batch comes again")


def _docs(read: CatalogRead, to_doc: ToDoc) -> Iterable[Any]:
    for product, skus in read.products:
        if product.get("on_sale"):  # goods off sale are not found (their pages still answer by id)
            yield to_doc(product, skus, read.categories, read.brands)


def _drop_old_files(storage: IndexStorage, repo: SearchRepository) -> None:
    """Keep the newest few files (a reader may be downloading one the pointer just left) and the pointer's."""
    try:
        current = repo.index_pointer()
        keys = storage.keys()
        old = [key for key in keys[:-KEEP_PUBLISHED] if current is None or key != current.key]
        if old:
            storage.delete(old)
    except Exception:  # housekeeping; the next build tries again
        logger.exception("could not drop old search index files")
