"""An in-memory ProfileRepository: the same interface and the same write conditions, no AWS."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.dynamo import PendingRead, PendingSlice
from chalicelib.errors import ChangedMeanwhile, NotFound
from chalicelib.profile.domain import AddressBook
from chalicelib.profile.repository import DefaultChange


class FakeProfileRepository:
    def __init__(self) -> None:
        self.books: dict[str, AddressBook] = {}
        self.address_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.favorite_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.favorite_counts: dict[str, int] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.footprint_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.search_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.closed_accounts: set[str] = set()

    def add_product(self, product_id: str, title: str = "华为 Mate 60", on_sale: bool = True) -> None:
        self.products[product_id] = {
            "product_id": product_id,
            "title": title,
            "price_fen": 699900,
            "images": ["https://img.shop.example/1.jpg"],
            "sales": 0,
            "rating_avg": 0.0,
            "category_id": "c_phone",
            "brand_id": "b_huawei",
            "on_sale": on_sale,
        }
        self.favorite_counts[product_id] = 0

    # -- addresses ---------------------------------------------------------------------------------------------

    def address_book(self, user_id: str) -> AddressBook:
        return self.books.get(user_id, AddressBook())

    def address_book_slice(self, user_id: str) -> PendingSlice[AddressBook]:
        return PendingSlice(None, user_id, "", "", lambda _: self.address_book(user_id))

    def address_read(self, user_id: str, address_id: str) -> PendingRead[dict[str, Any] | None]:
        return PendingRead(None, None, lambda _: self.address(user_id, address_id))

    def addresses(self, user_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.address_items.get(user_id, {}).values()))

    def address(self, user_id: str, address_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.address_items.get(user_id, {}).get(address_id))

    def add_address(self, user_id: str, address: dict[str, Any], seen: AddressBook, max_count: int) -> None:
        book = self.address_book(user_id)
        if book.address_count >= max_count or (address["is_default"] and book.default_id != seen.default_id):
            raise ChangedMeanwhile()
        items = self.address_items.setdefault(user_id, {})
        default_id = book.default_id
        if address["is_default"]:
            if seen.default_id:
                items[seen.default_id]["is_default"] = False
            default_id = address["address_id"]
        items[address["address_id"]] = copy.deepcopy(address)
        self.books[user_id] = AddressBook(book.address_count + 1, default_id)

    def replace_address(
        self, user_id: str, address: dict[str, Any], seen: AddressBook, default_change: DefaultChange
    ) -> None:
        items = self.address_items.get(user_id, {})
        if address["address_id"] not in items:
            raise NotFound()
        book = self.address_book(user_id)
        if default_change == "set" and book.default_id != seen.default_id:
            raise ChangedMeanwhile()
        if default_change == "clear" and book.default_id != address["address_id"]:
            raise ChangedMeanwhile()
        stored = items[address["address_id"]]
        stored.update({k: v for k, v in address.items() if k not in ("is_default", "created_at")})
        if default_change == "set":
            if seen.default_id:
                items[seen.default_id]["is_default"] = False
            stored["is_default"] = True
            self.books[user_id] = AddressBook(book.address_count, address["address_id"])
        elif default_change == "clear":
            stored["is_default"] = False
            self.books[user_id] = AddressBook(book.address_count, None)

    def remove_address(self, user_id: str, address_id: str, seen: AddressBook, promote: str | None) -> None:
        items = self.address_items.get(user_id, {})
        if address_id not in items:
            raise NotFound()
        book = self.address_book(user_id)
        if book.default_id != seen.default_id or (promote is not None and promote not in items):
            raise ChangedMeanwhile()
        del items[address_id]
        default_id = book.default_id
        if default_id == address_id:
            default_id = promote
            if promote:
                items[promote]["is_default"] = True
        self.books[user_id] = AddressBook(book.address_count - 1, default_id)

    # -- favorites ---------------------------------------------------------------------------------------------

    def add_favorite(self, user_id: str, product_id: str, favorited_at: str, order_key: str) -> bool:
        if product_id not in self.products:
            raise NotFound()
        favorites = self.favorite_items.setdefault(user_id, {})
        if product_id in favorites:
            return False
        favorites[product_id] = {"product_id": product_id, "favorited_at": favorited_at, "order_key": order_key}
        self.favorite_counts[product_id] += 1
        return True

    def favorite(self, user_id: str, product_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.favorite_items.get(user_id, {}).get(product_id))

    def remove_favorite(self, user_id: str, favorite: dict[str, Any]) -> None:
        favorites = self.favorite_items.get(user_id, {})
        stored = favorites.get(favorite["product_id"])
        if stored is None or stored["order_key"] != favorite["order_key"]:
            raise ChangedMeanwhile()
        del favorites[favorite["product_id"]]
        if favorite["product_id"] in self.products:
            self.favorite_counts[favorite["product_id"]] -= 1

    def favorites(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        ordered = sorted(
            self.favorite_items.get(user_id, {}).values(), key=lambda f: (f["order_key"], f["product_id"]), reverse=True
        )
        if start is not None:
            ordered = [f for f in ordered if (f["order_key"], f["product_id"]) < (start["k"], start["p"])]
        chunk = ordered[:limit]
        last = {"k": chunk[-1]["order_key"], "p": chunk[-1]["product_id"]} if len(ordered) > limit else None
        return [{"product_id": f["product_id"], "favorited_at": f["favorited_at"]} for f in chunk], last

    def product_summaries(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {pid: copy.deepcopy(self.products[pid]) for pid in product_ids if pid in self.products}

    # -- footprints and searches -------------------------------------------------------------------------------

    def footprints(self, user_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.footprint_items.get(user_id, {}).values()))

    def save_footprint(self, user_id: str, footprint: dict[str, Any]) -> None:
        _save_if_newer(self.footprint_items.setdefault(user_id, {}), footprint["product_id"], footprint)

    def drop_footprints(self, user_id: str, footprints: list[dict[str, Any]]) -> None:
        _drop_unchanged(self.footprint_items.get(user_id, {}), [(f["product_id"], f) for f in footprints])

    def clear_footprints(self, user_id: str) -> None:
        self.footprint_items.pop(user_id, None)

    def searches(self, user_id: str) -> list[dict[str, Any]]:
        return [{**s, "sk": key} for key, s in copy.deepcopy(self.search_items.get(user_id, {})).items()]

    def save_search(self, user_id: str, search: dict[str, Any]) -> None:
        stored = {k: search[k] for k in ("keyword", "searched_at", "order_key")}
        _save_if_newer(self.search_items.setdefault(user_id, {}), search["normalized"], stored)

    def drop_searches(self, user_id: str, searches: list[dict[str, Any]]) -> None:
        _drop_unchanged(self.search_items.get(user_id, {}), [(s["sk"], s) for s in searches])

    def clear_searches(self, user_id: str) -> None:
        self.search_items.pop(user_id, None)

    def clear_addresses(self, user_id: str) -> None:
        self.address_items.pop(user_id, None)
        self.books.pop(user_id, None)

    def account_closed(self, user_id: str) -> bool:
        return user_id in self.closed_accounts


def _save_if_newer(store: dict[str, dict[str, Any]], key: str, value: dict[str, Any]) -> None:
    if key not in store or store[key]["order_key"] < value["order_key"]:
        store[key] = copy.deepcopy(value)


def _drop_unchanged(store: dict[str, dict[str, Any]], entries: list[tuple[str, dict[str, Any]]]) -> None:
    for key, entry in entries:
        if key in store and store[key]["order_key"] == entry["order_key"]:
            del store[key]
