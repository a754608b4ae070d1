"""The stock writes flash sales share: SKU stock moved inside a session's or an attempt's transaction, and the
promo stock shards' keys."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from chalicelib.catalog.models import SkuItem, product_id_of_sku, product_pk, sku_sk
from chalicelib.flashsale.models import FlashShardModel, shard_pk


def sku_key(sku_id: str) -> SkuItem:
    return SkuItem(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id))


def shard_key(session_id: str, sku_id: str, shard: int) -> FlashShardModel:
    return FlashShardModel(shard_pk(session_id, sku_id, shard))


def existing_skus(sku_ids: list[str]) -> set[str]:
    keys = [(product_pk(product_id_of_sku(sku_id)), sku_sk(sku_id)) for sku_id in dict.fromkeys(sku_ids)]
    return (
        {item.sku_id for item in SkuItem.batch_get(keys, attributes_to_get=["pk", "sk", "sku_id"])} if keys else set()
    )


def move_stock(transaction: TransactWrite, changes: dict[str, int]) -> list[str]:
    """Each SKU's stock moved by its change (a take never below zero); the SKUs in the order of their actions."""
    for sku_id, change in changes.items():
        condition = SkuItem.pk.exists() & (SkuItem.stock >= -change) if change < 0 else SkuItem.pk.exists()
        transaction.update(sku_key(sku_id), actions=[SkuItem.stock.add(change)], condition=condition)
    return list(changes)
