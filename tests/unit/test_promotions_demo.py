"""The demo promotions are valid admin bodies on real demo SKUs, with stable ids and running windows."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.promotions.schemas import PromotionWrite
from local.demo import catalog as demo_catalog
from local.demo import promotions as demo_promotions

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_every_demo_promotion_is_a_valid_body_running_now() -> None:
    bodies = [PromotionWrite.model_validate(body) for body in demo_promotions.promotions(NOW)]

    assert all(body.starts_at <= NOW < body.ends_at for body in bodies)
    assert [b.kind for b in bodies].count("threshold") == 2


def test_demo_flash_prices_are_below_the_list_price_of_in_stock_demo_skus() -> None:
    skus = {sku["sku_id"]: sku for product in demo_catalog.products() for sku in product["skus"]}
    flash = [body for body in demo_promotions.promotions(NOW) if body["kind"] == "flash_price"]

    for body in flash:
        [entry] = body["sku_prices"]
        sku = skus[entry["sku_id"]]
        assert 0 < entry["price_fen"] < sku["price_fen"] and sku["stock"] > 0


def test_demo_promotion_ids_are_stable_across_calls() -> None:
    first = [body["promotion_id"] for body in demo_promotions.promotions(NOW)]
    later = [body["promotion_id"] for body in demo_promotions.promotions()]

    assert first == later and len(set(first)) == len(first)
