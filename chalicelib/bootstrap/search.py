"""The container's search parts: the index's pointer, storage and holder, the search log and the catalog source of
full builds (chalicelib.bootstrap.Container inherits them; each built on first use, like the rest)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.search.repository import CatalogSource, SearchRepository
    from chalicelib.search.service import IndexSource, SearchLog
    from chalicelib.search.store import IndexStorage


class SearchParts:
    settings: Settings

    @cached_property
    def search_repo(self) -> SearchRepository:
        from chalicelib.search.repository import DynamoSearchRepository

        return DynamoSearchRepository()

    @cached_property
    def search_log(self) -> SearchLog:
        from chalicelib.search.events import SqsSearchLog

        return SqsSearchLog(self.settings.search_log_queue_url)

    @cached_property
    def index_storage(self) -> IndexStorage:
        from chalicelib.search.store import S3IndexStorage

        return S3IndexStorage(self.settings.search_index_bucket)

    @cached_property
    def search_index(self) -> IndexSource:
        from chalicelib.search.store import IndexHolder, open_index

        return IndexHolder(
            repository=lambda: self.search_repo,
            storage=lambda: self.index_storage,
            opener=open_index,
            check_seconds=lambda: self.settings.search_index_check_seconds,
        )

    @cached_property
    def catalog_source(self) -> CatalogSource:
        from chalicelib.search.repository import DynamoCatalogSource

        return DynamoCatalogSource(self.settings.search_scan_segments)
