"""The staff side of the catalog table: the product list of every status (gsi_admin) and archiving."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import (
    ADMIN_SHARDS,
    ARCHIVED,
    CatalogItem,
    ProductItem,
    SkuItem,
    admin_pk,
    product_pk,
    product_status,
    sku_sk,
)
from chalicelib.dynamo import connection
from chalicelib.errors import Conflict
from chalicelib.logistics.repository import add_template_use


def admin_key_of(product: dict[str, Any]) -> str:
    return admin_pk(product["product_id"], product_status(product["on_sale"], bool(product.get("archived"))))


class StaffCatalogStore:
    """What the catalog repository does for staff only (mixed into DynamoCatalogRepository)."""

    def staff_listing(
        self,
        statuses: tuple[str, ...],
        category_ids: list[str],
        title_has: str | None,
        limit: int,
        start: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """One Query per (status, shard) partition, merged newest first; the position of each is kept apart.

        `start` maps a partition to the index key after which it resumes (absent: from its top; None: it is done),
        so a page never repeats or skips a product whichever partitions it drew from."""
        condition: Condition | None = None
        if category_ids:
            condition = ProductItem.category_id.is_in(*category_ids)
        if title_has:
            title_condition = ProductItem.title.contains(title_has)
            condition = title_condition if condition is None else condition & title_condition
        partitions = [f"{status}#{shard}" for status in statuses for shard in range(ADMIN_SHARDS)]
        start = start or {}
        streams = [
            self._staff_partition(partition, condition, start.get(partition), limit)
            for partition in partitions
            if start.get(partition, {}) is not None
        ]
        merged = heapq.merge(*streams, key=lambda entry: entry[0], reverse=True)
        picked: list[str] = []
        position: dict[str, Any] = {p: start.get(p, {}) for p in partitions}
        for listing_sk, partition, product_id in merged:
            if len(picked) == limit:
                return picked, position
            picked.append(product_id)
            position[partition] = {
                "admin_pk": {"S": partition},
                "listing_sk": {"S": listing_sk},
                "pk": {"S": product_pk(product_id)},
                "sk": {"S": "META"},
            }
        return picked, None

    @staticmethod
    def _staff_partition(
        partition: str, condition: Condition | None, after: dict[str, Any] | None, limit: int
    ) -> Iterator[tuple[str, str, str]]:
        results = CatalogItem.admin_index.query(
            partition,
            filter_condition=condition,
            scan_index_forward=False,
            last_evaluated_key=after or None,
            page_size=limit + 1,
        )
        for item in results:
            if isinstance(item, ProductItem):
                yield item.listing_sk, partition, item.pk.removeprefix("PRODUCT#")

    def archive_product(self, product: dict[str, Any], sku_ids: list[str], updated_at: str) -> None:
        """Off sale for good: gone from listings, search and carts; the version check loses to a concurrent edit."""
        pk = product_pk(product["product_id"])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    ProductItem(pk, "META"),
                    actions=[
                        ProductItem.on_sale.set(False),
                        ProductItem.archived.set(True),
                        ProductItem.listing_pk.remove(),
                        ProductItem.admin_pk.set(admin_pk(product["product_id"], ARCHIVED)),
                        ProductItem.updated_at.set(updated_at),
                        ProductItem.version.set(product["version"] + 1),
                    ],
                    condition=ProductItem.version == product["version"],
                )
                if product.get("freight_template_id"):  # an archived product no longer keeps its template in use
                    add_template_use(transaction, product["freight_template_id"], -1)
                for sku_id in sku_ids:
                    transaction.update(
                        SkuItem(pk, sku_sk(sku_id)),
                        actions=[SkuItem.on_sale.set(False), SkuItem.updated_at.set(updated_at)],
                        condition=SkuItem.pk.exists(),
                    )
        except TransactWriteError as error:
            raise Conflict("The product changed meanwhile: read it again and retry") from error
