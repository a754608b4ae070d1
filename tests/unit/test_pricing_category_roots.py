"""pricing.checkout.category_roots: made once per category tree read, and made again when the tree is read again."""

from __future__ import annotations

from chalicelib.catalog.service import category_tree
from chalicelib.pricing.checkout import category_roots
from tests.unit.fakes import FakeCatalogRepository


def _catalog(parent_of_phones: str) -> FakeCatalogRepository:
    catalog = FakeCatalogRepository()
    for category_id, parent_id in (("c_digital", None), ("c_home", None), ("c_phone", parent_of_phones)):
        catalog.save_category({"category_id": category_id, "name": category_id, "parent_id": parent_id}, True)
    return catalog


def test_roots_are_kept_while_the_tree_is_and_follow_it_when_it_is_read_again() -> None:
    # GIVEN phones under digital, priced twice while the category tree is cached
    category_tree.forget()
    first = category_roots(_catalog("c_digital"))
    again = category_roots(_catalog("c_home"))  # the cached tree still answers: the same roots, not made again

    # WHEN the tree is read again after phones moved under home
    category_tree.forget()
    moved = category_roots(_catalog("c_home"))

    # THEN the roots were kept while the tree was, and follow the tree read again
    assert first == {"c_digital": "c_digital", "c_home": "c_home", "c_phone": "c_digital"}
    assert again is first
    assert moved["c_phone"] == "c_home"
    category_tree.forget()
