"""Where index files live: S3 under versioned keys, and the copy a search container keeps in /tmp and in memory."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.observability import logger
from chalicelib.search.repository import IndexPointer, SearchRepository

INDEX_PREFIX = "index/"
KEEP_PUBLISHED = 5  # the newest few stay, so a reader that read the pointer just before a move still finds its file


def index_key(version: str) -> str:
    return f"{INDEX_PREFIX}{version}.sqlite"


class IndexStorage(Protocol):
    def upload(self, path: str, key: str) -> None: ...
    def download(self, key: str, path: str) -> None: ...
    def keys(self) -> list[str]:
        """Every published index key, oldest first (keys sort by version)."""

    def delete(self, keys: list[str]) -> None: ...


class S3IndexStorage:
    """IndexStorage in the search index bucket (SEARCH_INDEX_BUCKET)."""

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or get_settings().search_index_bucket

    def upload(self, path: str, key: str) -> None:
        client("s3").upload_file(path, self.bucket, key, ExtraArgs={"ContentType": "application/vnd.sqlite3"})

    def download(self, key: str, path: str) -> None:
        client("s3").download_file(self.bucket, key, path)

    def keys(self) -> list[str]:
        keys: list[str] = []
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=INDEX_PREFIX):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            client("s3").delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk]})


def _scratch_directory() -> str:
    directory = tempfile.mkdtemp(prefix="shop-search-")
    atexit.register(shutil.rmtree, directory, True)
    return directory


class IndexHolder:
    """The open index of this container, kept across warm invocations.

    It looks at the pointer at most every `check_seconds` (the first use always looks), downloads a newer index
    next to the current one under a temporary name and renames it into place, then swaps the open index. Searches
    run under the same lock, so an index is never closed under a search (the local server is threaded; a Lambda
    container serves one request at a time anyway). Until an index is published it holds nothing.
    """

    def __init__(
        self,
        repository: Callable[[], SearchRepository],
        storage: Callable[[], IndexStorage],
        opener: Callable[[str], Any],
        check_seconds: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
        directory: str | None = None,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._opener = opener
        self._check_seconds = check_seconds
        self.clock = clock
        self._directory = directory
        self._lock = threading.RLock()
        self._checked_at: float | None = None
        self._pointer: IndexPointer | None = None
        self._index: Any = None
        self._path = ""

    @property
    def version(self) -> str | None:
        return self._pointer.version if self._pointer else None

    @contextmanager
    def use(self) -> Iterator[Any]:
        """The current index (None before the first publish), held for the duration of the block."""
        with self._lock:
            if self._checked_at is None or self.clock() - self._checked_at >= self._check_seconds():
                self._checked_at = self.clock()
                self._load_newer()
            yield self._index

    def _load_newer(self) -> None:
        try:
            pointer = self._repository().index_pointer()
        except Exception:  # a failed look keeps the index we have; the next look is after check_seconds
            logger.exception("could not read the search index pointer")
            return
        if pointer is None or (self._pointer is not None and pointer.catalog_as_of <= self._pointer.catalog_as_of):
            return
        if self._directory is None:
            self._directory = _scratch_directory()
        path = os.path.join(self._directory, f"{pointer.version}.sqlite")
        partial = f"{path}.part"
        started = time.perf_counter()
        try:
            self._storage().download(pointer.key, partial)
            os.replace(partial, path)  # a reader never opens a half-written file
            index = self._opener(path)
        except Exception:
            logger.exception("could not load search index", extra={"version": pointer.version})
            _remove(partial)
            return
        old_index, old_path = self._index, self._path
        self._index, self._path, self._pointer = index, path, pointer
        _close(old_index)
        if old_path and old_path != path:
            _remove(old_path)
        logger.info(
            "search index loaded",
            extra={"version": pointer.version, "ms": round((time.perf_counter() - started) * 1000, 1)},
        )

    def forget(self) -> None:
        """Drop the open index and look again on the next use (tests; a new stage in the same process)."""
        with self._lock:
            _close(self._index)
            if self._path:
                _remove(self._path)
            self._index, self._path, self._pointer, self._checked_at = None, "", None, None


def _close(index: Any) -> None:
    close = getattr(index, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            logger.exception("could not close a search index")


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)


def open_index(path: str) -> Any:
    """The engine's index in this file (the engine loads with the first search, never at import)."""
    from chalicelib.search.engine import SearchIndex

    return SearchIndex(path)
