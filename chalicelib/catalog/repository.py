"""The only module that touches the catalog models: categories, brands, products with their SKUs, stock, views."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, Protocol

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import (
    ON_SALE,
    BrandItem,
    CatalogItem,
    CategoryItem,
    ProductItem,
    SkuItem,
    product_id_of_sku,
    product_pk,
    sku_sk,
)
from chalicelib.catalog.records import (
    SKU_ATTRIBUTES,
    _product_dict,
    _product_item,
    _sku_card,
    _sku_dict,
    _sku_item,
    sku_of_item,
)
from chalicelib.catalog.staff_store import StaffCatalogStore, admin_key_of
from chalicelib.dynamo import PendingRead, connection, read_together, set_or_remove
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.logistics.repository import add_template_use, template_exists
from chalicelib.observability import logger

BATCH_GET_KEYS = 100

EDITABLE_FIELDS = (
    "title", "subtitle", "description", "category_id", "root_category_id", "brand_id", "images", "specs",
    "after_sales", "price_fen", "on_sale", "updated_at", "freight_template_id",
)  # fmt: skip
ListingBy = Literal["all", "category", "root_category", "brand"]


class CatalogRepository(Protocol):
    def categories(self) -> list[dict[str, Any]]: ...
    def brands(self) -> list[dict[str, Any]]: ...
    def save_category(self, category: dict[str, Any], create: bool) -> None: ...
    def save_brand(self, brand: dict[str, Any], create: bool) -> None: ...
    def product_with_skus(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None: ...
    def list_products(
        self, by: ListingBy, key: str | None, brand_id: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def save_product(
        self,
        product: dict[str, Any],
        skus: list[dict[str, Any]],
        removed_sku_ids: list[str],
        create: bool,
        previous_template_id: str | None = None,
    ) -> None:
        """Create or replace a product and its SKUs with its freight templates' use counts, in one transaction."""

    def set_stock(self, sku_id: str, stock: int, updated_at: str) -> dict[str, Any] | None: ...
    def set_member_prices(self, sku_id: str, prices: dict[int, int], updated_at: str) -> dict[str, Any] | None:
        """Replace the SKU's member prices (level -> price_fen); None when there is no such SKU."""

    def has_products(self, category_id: str) -> bool: ...
    def products_by_ids(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The products that exist among these ids (no SKUs), by BatchGetItem."""

    def skus_by_ids(self, sku_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The SKUs that exist among these ids, each with its product's card, in one BatchGetItem (<= 100 ids)."""

    def sku_read(self, sku_id: str) -> PendingRead[dict[str, Any] | None]:
        """The SKU (as skus_by_ids gives it, None if it does not exist) as a read another context's read joins
        (dynamo.read_together: one BatchGetItem for both)."""

    def import_products(self, products: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None: ...
    def staff_listing(
        self,
        statuses: tuple[str, ...],
        category_ids: list[str],
        title_has: str | None,
        limit: int,
        start: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Ids of products in these statuses, newest first, and where the next page starts (None at the end)."""

    def archive_product(self, product: dict[str, Any], sku_ids: list[str], updated_at: str) -> None: ...
    def add_view_counts(self, counts: dict[str, int]) -> None: ...


class DynamoCatalogRepository(StaffCatalogStore):
    """CatalogRepository on the catalog table."""

    def categories(self) -> list[dict[str, Any]]:
        return [
            {"category_id": c.sk, "name": c.name, "parent_id": c.parent_id, "sort_order": int(c.sort_order or 0)}
            for c in CategoryItem.query("CATEGORY")
        ]

    def brands(self) -> list[dict[str, Any]]:
        return [{"brand_id": b.sk, "name": b.name, "logo_url": b.logo_url} for b in BrandItem.query("BRAND")]

    def save_category(self, category: dict[str, Any], create: bool) -> None:
        item = CategoryItem(
            "CATEGORY",
            category["category_id"],
            name=category["name"],
            parent_id=category["parent_id"],
            sort_order=category["sort_order"],
        )
        self._save(item, CategoryItem, create, "category")

    def save_brand(self, brand: dict[str, Any], create: bool) -> None:
        item = BrandItem("BRAND", brand["brand_id"], name=brand["name"], logo_url=brand.get("logo_url"))
        self._save(item, BrandItem, create, "brand")

    @staticmethod
    def _save(item: CatalogItem, model: type[CatalogItem], create: bool, what: str) -> None:
        condition = model.pk.does_not_exist() if create else model.pk.exists()
        try:
            item.save(condition=condition)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise (Conflict(f"This {what} already exists") if create else NotFound(f"No such {what}")) from error
            raise

    def product_with_skus(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        product: dict[str, Any] | None = None
        skus: list[dict[str, Any]] = []
        for item in CatalogItem.query(product_pk(product_id)):  # the product and its SKUs: one Query
            if isinstance(item, ProductItem):
                product = _product_dict(item)
            elif isinstance(item, SkuItem):
                skus.append(_sku_dict(item))
        return (product, skus) if product else None

    def list_products(
        self, by: ListingBy, key: str | None, brand_id: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        condition = None
        index: GlobalSecondaryIndex[CatalogItem]
        if by == "all":
            index, hash_key = CatalogItem.listing_index, ON_SALE
        else:
            index = {
                "category": CatalogItem.category_index,
                "root_category": CatalogItem.root_category_index,
                "brand": CatalogItem.brand_index,
            }[by]
            hash_key = key or ""
            condition = ProductItem.on_sale == True  # noqa: E712 - a pynamodb condition, not a comparison
        if brand_id and by != "brand":
            brand_condition = ProductItem.brand_id == brand_id
            condition = brand_condition if condition is None else condition & brand_condition
        results = index.query(
            hash_key,
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            page_size=limit,
        )
        product_ids = [item.pk.removeprefix("PRODUCT#") for item in results if isinstance(item, ProductItem)]
        found = self.products_by_ids(product_ids)  # the indexes carry keys: the products themselves are read
        return [found[product_id] for product_id in product_ids if product_id in found], results.last_evaluated_key

    def import_products(self, products: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Bulk load (data import, demo seed) with batch writes: no conditions, so only for products not yet there."""
        with CatalogItem.batch_write() as batch:
            for product, skus in products:
                batch.save(_product_item(product))
                for sku in skus:
                    batch.save(_sku_item(product, sku))

    def save_product(
        self,
        product: dict[str, Any],
        skus: list[dict[str, Any]],
        removed_sku_ids: list[str],
        create: bool,
        previous_template_id: str | None = None,
    ) -> None:
        pk = product_pk(product["product_id"])
        item = _product_item(product)
        template_id = product.get("freight_template_id")
        if template_id and template_id != previous_template_id and not template_exists(template_id):
            field = {"field": "freight_template_id", "message": "No freight template has this id."}
            raise ValidationError("No such freight template", errors=[field])
        try:
            with TransactWrite(connection=connection()) as transaction:
                moved = {previous_template_id: -1, template_id: 1} if template_id != previous_template_id else {}
                for counted_id, delta in moved.items():  # the templates' use counts move with the product
                    if counted_id:
                        add_template_use(transaction, counted_id, delta)
                if create:
                    transaction.save(item, condition=ProductItem.pk.does_not_exist())
                else:
                    # Only the editable fields, so counters bumped meanwhile (views, sales, ratings) survive;
                    # the version check makes two concurrent replacements a conflict instead of a lost update.
                    transaction.update(
                        item,
                        actions=[
                            *(set_or_remove(getattr(ProductItem, name), product[name]) for name in EDITABLE_FIELDS),
                            set_or_remove(ProductItem.listing_pk, ON_SALE if product["on_sale"] else None),
                            ProductItem.admin_pk.set(admin_key_of(product)),
                            ProductItem.version.set(product["version"]),
                        ],
                        condition=ProductItem.version == product["version"] - 1,
                    )
                for sku in skus:
                    sku_item = _sku_item(product, sku)
                    if sku.get("existing"):
                        # Keep the live stock: only price, attributes and threshold change here.
                        transaction.update(
                            sku_item,
                            actions=[
                                SkuItem.attributes.set(sku["attributes"]),
                                SkuItem.price_fen.set(sku["price_fen"]),
                                SkuItem.low_stock_threshold.set(sku["low_stock_threshold"]),
                                SkuItem.updated_at.set(product["updated_at"]),
                                set_or_remove(SkuItem.weight_g, sku.get("weight_g")),
                                *(
                                    set_or_remove(getattr(SkuItem, name), value)
                                    for name, value in _sku_card(product).items()
                                ),
                            ],
                            condition=SkuItem.pk.exists(),
                        )
                    else:
                        transaction.save(sku_item, condition=SkuItem.pk.does_not_exist())
                for sku_id in removed_sku_ids:
                    transaction.delete(SkuItem(pk, sku_sk(sku_id)))
        except TransactWriteError as error:
            message = (
                "This product already exists" if create else "The product changed meanwhile: read it again and retry"
            )
            raise Conflict(message) from error

    def products_unlisted_for_staff(self) -> Iterator[dict[str, Any]]:
        """Products stored before the staff listing existed (no admin_pk): a Scan, for the one-off migration only."""
        # A subclass's scan filters on its discriminator by itself.
        for item in ProductItem.scan(filter_condition=ProductItem.admin_pk.does_not_exist(), page_size=100):
            if isinstance(item, ProductItem):
                yield _product_dict(item)

    def list_for_staff(self, product: dict[str, Any]) -> bool:
        """Give a product its staff-listing key unless it has one; False when it had one or is gone."""
        try:
            ProductItem(product_pk(product["product_id"]), "META").update(
                actions=[ProductItem.admin_pk.set(admin_key_of(product))],
                condition=ProductItem.pk.exists() & ProductItem.admin_pk.does_not_exist(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def products_by_ids(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        keys = [(product_pk(product_id), "META") for product_id in dict.fromkeys(product_ids)]
        items = ProductItem.batch_get(keys)
        return {item.product_id: _product_dict(item) for item in items if isinstance(item, ProductItem)}

    def sku_read(self, sku_id: str) -> PendingRead[dict[str, Any] | None]:
        def parse(raw: dict[str, Any] | None) -> dict[str, Any] | None:
            return sku_of_item(raw) if raw is not None else None

        key = (product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))
        return PendingRead(SkuItem, key, parse, consistent=False, raw=True, projection=SKU_ATTRIBUTES)

    def skus_by_ids(self, sku_ids: list[str]) -> dict[str, dict[str, Any]]:
        reads = [self.sku_read(sku_id) for sku_id in dict.fromkeys(sku_ids)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(reads), BATCH_GET_KEYS):  # one BatchGetItem per 100 (a cart or an order: one)
            found.update((sku["sku_id"], sku) for sku in read_together(*reads[start : start + BATCH_GET_KEYS]) if sku)
        return found

    def has_products(self, category_id: str) -> bool:
        for index in (CatalogItem.category_index, CatalogItem.root_category_index):
            if next(iter(index.query(category_id, limit=1)), None) is not None:
                return True
        return False

    def set_member_prices(self, sku_id: str, prices: dict[int, int], updated_at: str) -> dict[str, Any] | None:
        item = SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))
        stored = {str(level): price for level, price in prices.items()}
        try:
            item.update(
                actions=[SkuItem.member_prices.set(stored), SkuItem.updated_at.set(updated_at)],
                condition=SkuItem.pk.exists(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return _sku_dict(item)

    def set_stock(self, sku_id: str, stock: int, updated_at: str) -> dict[str, Any] | None:
        item = SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))
        try:
            item.update(
                actions=[SkuItem.stock.set(stock), SkuItem.updated_at.set(updated_at)],
                condition=SkuItem.pk.exists(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return _sku_dict(item)

    def add_view_counts(self, counts: dict[str, int]) -> None:
        for product_id, count in counts.items():
            try:
                ProductItem(product_pk(product_id), "META").update(
                    actions=[ProductItem.view_count.add(count)], condition=ProductItem.pk.exists()
                )
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                logger.info("views for a product that is gone", extra={"product_id": product_id})
