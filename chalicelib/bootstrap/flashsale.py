"""The flash-sale graph: its repository, the catalog, profile and freight templates it reads, the admission queue,
and its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.flashsale.service import FlashSale


def build_flash_sale(container: Container) -> FlashSale:
    from chalicelib.flashsale.dynamo_repository import DynamoFlashSaleRepository
    from chalicelib.flashsale.events import SqsAdmissionQueue
    from chalicelib.flashsale.service import FlashSale, Snapshot

    settings = container.settings
    return FlashSale(
        repo=DynamoFlashSaleRepository(),
        catalog=container.catalog,
        profile=container.profile,
        queue=SqsAdmissionQueue(settings.flash_sale_queue_url),
        pay_seconds=settings.flash_sale_pay_seconds,
        snapshot=Snapshot(settings.flash_sale_cache_seconds),
        freight=container.freight,
    )
