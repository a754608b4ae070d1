"""Catalog changes reach the published index in place: the changed products are read and applied to a copy of the
published file, never the whole catalog; a full build overtaken by such updates applies them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.errors import ChangedMeanwhile
from chalicelib.search import indexer
from chalicelib.search.repository import IndexPointer
from chalicelib.search.updating import ChangeStats
from tests.unit.test_search_pipeline import (
    FakeCatalog,
    FakeSearchRepository,
    FakeStorage,
    Ticker,
    fake_build,
    fake_doc,
    stream_record,
)


@pytest.fixture
def bucket(tmp_path: Path) -> FakeStorage:
    return FakeStorage(tmp_path / "bucket")


def fake_apply(path: str, docs: Any, removed: Any) -> ChangeStats:
    """The stand-in engine's file is a list of product ids: changed ones move to the end, removed ones leave."""
    content = json.loads(Path(path).read_text(encoding="utf-8"))
    docs, gone = list(docs), set(removed)
    before = set(content["docs"])
    content["docs"] = [d for d in content["docs"] if d not in gone and d not in docs] + docs
    Path(path).write_text(json.dumps(content), encoding="utf-8")
    return ChangeStats(updated=len(docs), added=len(set(docs) - before), removed=len(before & gone))


def published_docs(repo: FakeSearchRepository, bucket: FakeStorage) -> list[str]:
    assert repo.pointer is not None
    return json.loads((bucket.root / repo.pointer.key).read_text(encoding="utf-8"))["docs"]


def update(catalog: FakeCatalog, repo: FakeSearchRepository, bucket: FakeStorage, ids: list[str]) -> Any:
    return indexer.update_index(catalog, repo, bucket, fake_apply, fake_doc, ids, Ticker())


def rebuild(catalog: FakeCatalog, repo: FakeSearchRepository, bucket: FakeStorage) -> indexer.RebuildOutcome:
    return indexer.rebuild_index(catalog, repo, bucket, fake_build, fake_doc, [], Ticker(), fake_apply)


def test_a_product_change_names_its_product_and_a_category_change_asks_for_a_full_build() -> None:
    sku = stream_record("sku", event="INSERT", product_id={"S": "p_1"})
    assert indexer.search_change(sku) == indexer.SearchChange("p_1")
    assert indexer.search_change(stream_record("category")) == indexer.SearchChange(None, full=True)
    assert indexer.search_change(stream_record("product", view_count={"N": "9"})) is None


def test_an_update_reads_only_the_changed_products_and_publishes_them_on_a_new_version(bucket: FakeStorage) -> None:
    # GIVEN a published index of two products
    repo = FakeSearchRepository()
    catalog = FakeCatalog({"p_1": "一", "p_2": "二"})
    rebuild(catalog, repo, bucket)
    built = repo.pointer
    # WHEN p_3 is added, p_2 goes off sale and p_9 was deleted
    catalog = FakeCatalog({"p_1": "一", "p_2": "二", "p_3": "三"}, off_sale=("p_2",))
    outcome = update(catalog, repo, bucket, ["p_3", "p_9"])
    # THEN only those were read, and the new version holds the change on top of the published one
    assert catalog.full_reads == 0 and catalog.product_reads == [["p_3", "p_9"]]
    assert outcome is not None and repo.pointer is not None and built is not None
    assert repo.pointer.version == outcome.version != built.version
    assert repo.pointer.catalog_as_of == built.catalog_as_of
    assert published_docs(repo, bucket) == ["p_1", "p_2", "p_3"]
    assert repo.pointer.recent_ids == ("p_3", "p_9") and repo.pointer.documents == 3


def test_an_update_with_no_published_index_leaves_the_first_build_to_a_full_one(bucket: FakeStorage) -> None:
    assert update(FakeCatalog({"p_1": "一"}), FakeSearchRepository(), bucket, ["p_1"]) is None


class MovingRepository(FakeSearchRepository):
    """The pointer moves (another update publishes) between this writer's read of it and its move."""

    def __init__(self, moves: int) -> None:
        super().__init__()
        self.moves = moves

    def move_index_pointer(self, pointer: IndexPointer, replaces: str | None) -> bool:
        if self.moves and self.pointer is not None:
            self.moves -= 1
            other = IndexPointer(f"other-{self.moves}", self.pointer.key, self.pointer.catalog_as_of, "t")
            self.pointer = other
        return super().move_index_pointer(pointer, replaces)


def test_an_update_overtaken_by_another_is_applied_again_to_the_newer_version(bucket: FakeStorage) -> None:
    repo = MovingRepository(moves=0)
    rebuild(FakeCatalog({"p_1": "一"}), repo, bucket)
    repo.moves = 1
    outcome = update(FakeCatalog({"p_1": "一", "p_2": "二"}), repo, bucket, ["p_2"])
    assert outcome is not None and repo.pointer is not None and repo.pointer.version == outcome.version
    assert published_docs(repo, bucket) == ["p_1", "p_2"]


def test_an_update_that_keeps_being_overtaken_gives_up_so_the_batch_comes_again(bucket: FakeStorage) -> None:
    repo = MovingRepository(moves=0)
    rebuild(FakeCatalog({"p_1": "一"}), repo, bucket)
    repo.moves = indexer.PUBLISH_TRIES
    with pytest.raises(ChangedMeanwhile):
        update(FakeCatalog({"p_1": "一", "p_2": "二"}), repo, bucket, ["p_2"])


class UpdatedDuringTheScan(FakeCatalog):
    """A catalog whose full read is overtaken: while it runs, an update in place of p_new is published."""

    def __init__(self, repo: FakeSearchRepository, bucket: FakeStorage) -> None:
        super().__init__({"p_old": "旧"})
        self.repo, self.bucket = repo, bucket

    def read_catalog(self) -> Any:
        read = super().read_catalog()  # the scan has gone past where p_new will be
        self.products["p_new"] = {"product_id": "p_new", "title": "新", "on_sale": True}
        update(self, self.repo, self.bucket, ["p_new"])
        return read


def test_a_full_build_overtaken_by_an_update_applies_its_products_before_publishing(bucket: FakeStorage) -> None:
    repo = FakeSearchRepository()
    rebuild(FakeCatalog({"p_old": "旧"}), repo, bucket)

    outcome = rebuild(UpdatedDuringTheScan(repo, bucket), repo, bucket)

    assert outcome.published and repo.pointer is not None and repo.pointer.version == outcome.version
    assert published_docs(repo, bucket) == ["p_old", "p_new"]
    assert repo.pointer.recent_ids == ()


def test_an_import_of_many_products_is_left_to_a_full_build(bucket: FakeStorage) -> None:
    repo = FakeSearchRepository()
    catalog = FakeCatalog({"p_1": "一"})
    rebuild(catalog, repo, bucket)
    many = [f"p_{n}" for n in range(indexer.IN_PLACE_AT_LEAST + 1)]

    assert update(catalog, repo, bucket, many) is None
    assert catalog.product_reads == []
