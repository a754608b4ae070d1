"""Catalog rules on an in-memory repository."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.catalog import service
from chalicelib.catalog.schemas import BrandWrite, CategoryWrite, ProductListQuery, ProductWrite
from chalicelib.errors import Conflict, InvalidState, NotFound, ValidationError
from chalicelib.pagination import decode_cursor
from tests.unit.fakes import FakeCatalogRepository, RecordingViewEvents


def with_phone_categories(repo: FakeCatalogRepository) -> FakeCatalogRepository:
    """手机数码 > 手机, brands 华为 and 小米."""
    service.category_tree.forget()
    service.save_category(repo, CategoryWrite(category_id="c_digital", name="手机数码"))
    service.save_category(repo, CategoryWrite(category_id="c_phone", name="手机", parent_id="c_digital"))
    service.save_brand(repo, BrandWrite(brand_id="b_huawei", name="华为"))
    service.save_brand(repo, BrandWrite(brand_id="b_xiaomi", name="小米"))
    return repo


@pytest.fixture
def repo() -> FakeCatalogRepository:
    return with_phone_categories(FakeCatalogRepository())


def phone(title: str = "华为 Mate 60 Pro 5G手机", brand: str = "b_huawei", **overrides: Any) -> ProductWrite:
    data: dict[str, Any] = {
        "title": title,
        "category_id": "c_phone",
        "brand_id": brand,
        "images": ["https://img.shop.example/1.jpg"],
        "specs": [{"name": "颜色", "values": ["雅川青", "雅丹黑"]}, {"name": "存储容量", "values": ["12GB+512GB"]}],
        "skus": [
            {"attributes": {"颜色": "雅川青", "存储容量": "12GB+512GB"}, "price_fen": 699900, "stock": 10},
            {"attributes": {"颜色": "雅丹黑", "存储容量": "12GB+512GB"}, "price_fen": 689900, "stock": 0},
        ],
    }
    data.update(overrides)
    return ProductWrite.model_validate(data)


def test_a_new_product_is_priced_from_its_cheapest_sku_and_numbers_its_skus(repo: FakeCatalogRepository) -> None:
    detail = service.save_product(repo, phone())

    assert detail["price_fen"] == 689900
    assert [s["sku_id"] for s in detail["skus"]] == [f"{detail['product_id']}-01", f"{detail['product_id']}-02"]
    assert [s["available"] for s in detail["skus"]] == [True, False]


def test_replacing_a_product_keeps_the_live_stock_of_named_skus_and_drops_the_rest(repo: FakeCatalogRepository) -> None:
    created = service.save_product(repo, phone())
    kept = created["skus"][0]["sku_id"]
    service.set_stock(repo, kept, 7)

    update = phone(
        specs=[{"name": "颜色", "values": ["雅川青", "白沙银"]}, {"name": "存储容量", "values": ["12GB+512GB"]}],
        skus=[
            {
                "sku_id": kept,
                "attributes": {"颜色": "雅川青", "存储容量": "12GB+512GB"},
                "price_fen": 659900,
                "stock": 999,
            },
            {"attributes": {"颜色": "白沙银", "存储容量": "12GB+512GB"}, "price_fen": 669900, "stock": 3},
        ],
    )
    detail = service.save_product(repo, update, created["product_id"])

    by_id = {s["sku_id"]: s for s in detail["skus"]}
    assert by_id[kept]["stock"] == 7 and by_id[kept]["price_fen"] == 659900
    assert f"{created['product_id']}-03" in by_id and by_id[f"{created['product_id']}-03"]["stock"] == 3
    assert created["skus"][1]["sku_id"] not in by_id
    assert detail["created_at"] == created["created_at"]


def test_a_product_must_sit_in_a_leaf_category_of_a_known_brand(repo: FakeCatalogRepository) -> None:
    with pytest.raises(ValidationError):
        service.save_product(repo, phone(category_id="c_digital"))
    with pytest.raises(ValidationError):
        service.save_product(repo, phone(brand="b_nobody"))


def test_skus_must_pick_one_value_of_every_spec() -> None:
    with pytest.raises(ValueError, match="exactly one value"):
        phone(skus=[{"attributes": {"颜色": "金色", "存储容量": "12GB+512GB"}, "price_fen": 1}])
    sku = {"attributes": {"颜色": "雅川青", "存储容量": "12GB+512GB"}, "price_fen": 1}
    with pytest.raises(ValueError, match="same attributes"):
        phone(skus=[sku, sku])


def test_listing_by_a_root_category_uses_the_root_index_and_a_leaf_the_leaf_index(repo: FakeCatalogRepository) -> None:
    service.save_product(repo, phone())

    root = service.list_products(repo, ProductListQuery(category_id="c_digital"))
    leaf = service.list_products(repo, ProductListQuery(category_id="c_phone", brand_id="b_xiaomi"))

    assert len(root["items"]) == 1 and leaf["items"] == []
    assert repo.listings == [("root_category", "c_digital"), ("category", "c_phone")]


def test_listing_an_unknown_category_is_not_found(repo: FakeCatalogRepository) -> None:
    with pytest.raises(NotFound):
        service.list_products(repo, ProductListQuery(category_id="c_nothing"))


def test_pages_chain_through_signed_cursors_bound_to_their_listing(repo: FakeCatalogRepository) -> None:
    for n in range(5):
        service.save_product(repo, phone(title=f"手机 {n}"))

    seen, cursor = [], None
    while True:
        result = service.list_products(repo, ProductListQuery(page_size=2, cursor=cursor))
        seen += [p["product_id"] for p in result["items"]]
        cursor = result["next_cursor"]
        if cursor is None:
            break
        with pytest.raises(ValidationError):
            decode_cursor(cursor, "products|c_phone|")

    assert len(seen) == len(set(seen)) == 5


def test_viewing_a_product_emits_a_view_event_and_views_fold_into_counts(repo: FakeCatalogRepository) -> None:
    product_id = service.save_product(repo, phone())["product_id"]
    views = RecordingViewEvents()

    service.get_product(repo, product_id, views)
    service.get_product(repo, product_id, views)
    counts = service.record_views(repo, [*views.viewed, "p_gone"])

    assert counts == {product_id: 2, "p_gone": 1}
    assert service.get_product(repo, product_id)["view_count"] == 2


def test_setting_stock_of_an_unknown_sku_is_not_found(repo: FakeCatalogRepository) -> None:
    with pytest.raises(NotFound):
        service.set_stock(repo, "p_nothing-01", 3)


def test_a_category_cannot_hang_under_a_leaf(repo: FakeCatalogRepository) -> None:
    with pytest.raises(ValidationError):
        service.save_category(repo, CategoryWrite(name="折叠屏", parent_id="c_phone"))


def test_a_category_with_products_or_children_cannot_change_parent(repo: FakeCatalogRepository) -> None:
    service.save_category(repo, CategoryWrite(category_id="c_home", name="家用电器"))
    service.save_product(repo, phone())

    with pytest.raises(InvalidState):
        service.save_category(repo, CategoryWrite(name="手机", parent_id="c_home"), "c_phone")
    with pytest.raises(InvalidState):
        service.save_category(repo, CategoryWrite(name="手机数码", parent_id="c_home"), "c_digital")
    renamed = service.save_category(repo, CategoryWrite(name="手机通讯", parent_id="c_digital"), "c_phone")
    assert renamed["name"] == "手机通讯"


class ConcurrentWriterRepository(FakeCatalogRepository):
    """Lets another admin's replacement land between our read and our write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.interleave: Any = None

    def product_with_skus(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        found = super().product_with_skus(product_id)
        if self.interleave is not None:
            other_write, self.interleave = self.interleave, None
            other_write()
        return found


def test_two_replacements_from_the_same_read_conflict_instead_of_losing_one() -> None:
    repo = with_phone_categories(ConcurrentWriterRepository())
    product_id = service.save_product(repo, phone())["product_id"]
    repo.interleave = lambda: service.save_product(repo, phone(title="别人的标题"), product_id)

    with pytest.raises(Conflict):
        service.save_product(repo, phone(title="我的标题"), product_id)
    assert repo.products[product_id]["title"] == "别人的标题"
