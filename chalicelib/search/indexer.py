"""Index builds: which catalog changes need one, whether a build is still due, and build -> publish -> move pointer."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.clock import iso, precise_iso
from chalicelib.observability import logger
from chalicelib.search.repository import CatalogRead, CatalogSource, IndexPointer, SearchRepository
from chalicelib.search.store import KEEP_PUBLISHED, IndexStorage, index_key

# What a change must touch to matter to search. View and favorite counts change all day long: they reach the
# index with the next scheduled rebuild instead of setting one off each time.
PRODUCT_FIELDS = (
    "title", "subtitle", "description", "category_id", "root_category_id", "brand_id", "specs", "images",
    "price_fen", "on_sale", "sales", "rating_avg", "review_count", "created_at",
)  # fmt: skip
SKU_FIELDS = ("price_fen", "attributes", "title", "category_id", "brand_id", "on_sale")
ALWAYS_RELEVANT_KINDS = ("category", "brand")

BuildIndex = Callable[[Iterable[Any], str, Iterable[tuple[str, int]]], Any]
ToDoc = Callable[[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]], Any]


def is_search_relevant(record: dict[str, Any]) -> bool:
    """Whether a catalog stream record (Lambda's shape) changes what search shows."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    change = DynamoDBRecord(record).dynamodb
    old, new = (change.old_image, change.new_image) if change is not None else ({}, {})
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
) -> RebuildOutcome:
    """Read the whole catalog, build the index file in /tmp, upload it under a new key, then move the pointer.

    The pointer moves only forward (by the time the catalog read started), so of two overlapping builds the one
    that read later wins whatever order they finish in, and readers only ever see a complete, uploaded file.
    """
    started = time.perf_counter()
    as_of = now()
    version = f"{as_of.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
    read = catalog.read_catalog()
    docs = list(_docs(read, to_doc))
    key = index_key(version)
    with tempfile.TemporaryDirectory(prefix="shop-search-build-") as directory:
        path = os.path.join(directory, "index.sqlite")
        build(docs, path, popular_queries)
        storage.upload(path, key)
    pointer = IndexPointer(
        version=version, key=key, catalog_as_of=precise_iso(as_of), built_at=iso(now()), documents=len(docs)
    )
    published = repo.move_index_pointer(pointer)
    if not published:
        storage.delete([key])
    _drop_old_files(storage, repo)
    outcome = RebuildOutcome(version, len(docs), published, time.perf_counter() - started)
    logger.info("search index rebuilt", extra=outcome.as_dict())
    return outcome


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
