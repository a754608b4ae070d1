"""In-memory fakes of the repositories: the same interfaces, no AWS."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.accounts.domain import User
from chalicelib.catalog.repository import ListingBy
from chalicelib.errors import Conflict, InvalidState, NotFound


class FakeAccountsRepository:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.handles: dict[tuple[str, str], str] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}

    def create_user(self, user: User, handles: list[tuple[str, str]]) -> None:
        for kind, value in handles:
            if (kind, value) in self.handles:
                raise Conflict(f"This {kind} is already registered", field=kind)
        self.users[user.user_id] = copy.deepcopy(user)
        for handle in handles:
            self.handles[handle] = user.user_id

    def find_user_id(self, kind: str, value: str) -> str | None:
        return self.handles.get((kind, value))

    def get_user(self, user_id: str) -> User | None:
        return copy.deepcopy(self.users.get(user_id))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.users[user_id].password_hash = password_hash

    def add_role(self, user_id: str, role: str) -> None:
        self.users[user_id].roles.add(role)

    def save_refresh_token(self, digest: str, user_id: str, family_id: str, created_at: str, expires_at: int) -> None:
        self.refresh_tokens[digest] = {"user_id": user_id, "family_id": family_id, "expires_at": expires_at}

    def bind_handle(self, user: User, kind: str, value: str, binding: dict[str, str] | None) -> None:
        if (kind, value) in self.handles:
            raise Conflict(f"This {kind} is bound to another account", field=kind)
        stored = self.users[user.user_id]
        if stored.version != user.version:
            raise InvalidState()
        self.handles[(kind, value)] = user.user_id
        if binding is None:
            stored.phone = value
        else:
            stored.bindings[kind] = dict(binding)
        stored.version += 1

    def unbind_handle(self, user: User, kind: str, value: str) -> None:
        stored = self.users[user.user_id]
        if stored.version != user.version or self.handles.get((kind, value)) != user.user_id:
            raise InvalidState()
        del self.handles[(kind, value)]
        if kind == "phone":
            stored.phone = None
        else:
            stored.bindings.pop(kind)
        stored.version += 1


class FakeCatalogRepository:
    def __init__(self) -> None:
        self.category_items: dict[str, dict[str, Any]] = {}
        self.brand_items: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.skus: dict[str, dict[str, dict[str, Any]]] = {}
        self.views: dict[str, int] = {}
        self.listings: list[tuple[ListingBy, str | None]] = []

    def categories(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.category_items.values()))

    def brands(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.brand_items.values()))

    def save_category(self, category: dict[str, Any], create: bool) -> None:
        self._save(self.category_items, category["category_id"], category, create)

    def save_brand(self, brand: dict[str, Any], create: bool) -> None:
        self._save(self.brand_items, brand["brand_id"], brand, create)

    @staticmethod
    def _save(store: dict[str, Any], key: str, value: dict[str, Any], create: bool) -> None:
        if create and key in store:
            raise Conflict()
        if not create and key not in store:
            raise NotFound()
        store[key] = copy.deepcopy(value)

    def product_with_skus(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        if product_id not in self.products:
            return None
        return copy.deepcopy(self.products[product_id]), copy.deepcopy(list(self.skus[product_id].values()))

    def list_products(
        self, by: ListingBy, key: str | None, brand_id: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        self.listings.append((by, key))
        field = {"all": None, "category": "category_id", "root_category": "root_category_id", "brand": "brand_id"}[by]
        items = [
            p
            for p in sorted(self.products.values(), key=lambda p: (p["created_at"], p["product_id"]), reverse=True)
            if (field is None or p[field] == key) and (brand_id is None or p["brand_id"] == brand_id) and p["on_sale"]
        ]
        offset = int(start["offset"]) if start else 0
        chunk = items[offset : offset + limit]
        more = offset + limit < len(items)
        return copy.deepcopy(chunk), ({"offset": offset + limit} if more else None)

    def save_product(
        self, product: dict[str, Any], skus: list[dict[str, Any]], removed_sku_ids: list[str], create: bool
    ) -> None:
        exists = product["product_id"] in self.products
        if exists == create:
            raise Conflict()
        if exists and self.products[product["product_id"]]["version"] != product["version"] - 1:
            raise Conflict("The product changed meanwhile")
        current = self.skus.get(product["product_id"], {})
        updated = {}
        for sku in skus:
            stored = {k: v for k, v in sku.items() if k != "existing"} | {"product_id": product["product_id"]}
            if sku["existing"]:
                stored["stock"] = current[sku["sku_id"]]["stock"]
            updated[sku["sku_id"]] = stored
        self.products[product["product_id"]] = copy.deepcopy(product)
        self.skus[product["product_id"]] = updated

    def set_stock(self, sku_id: str, stock: int, updated_at: str) -> dict[str, Any] | None:
        for skus in self.skus.values():
            if sku_id in skus:
                skus[sku_id]["stock"] = stock
                return copy.deepcopy(skus[sku_id])
        return None

    def has_products(self, category_id: str) -> bool:
        return any(category_id in (p["category_id"], p["root_category_id"]) for p in self.products.values())

    def import_products(self, products: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        for product, skus in products:
            self.products[product["product_id"]] = copy.deepcopy(product)
            self.skus[product["product_id"]] = {s["sku_id"]: {**s, "product_id": product["product_id"]} for s in skus}

    def add_view_counts(self, counts: dict[str, int]) -> None:
        for product_id, count in counts.items():
            if product_id in self.products:
                self.products[product_id]["view_count"] += count


class RecordingViewEvents:
    def __init__(self) -> None:
        self.viewed: list[str] = []

    def product_viewed(self, product_id: str) -> None:
        self.viewed.append(product_id)
