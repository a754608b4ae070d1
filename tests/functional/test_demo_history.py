"""The demo's month of history is made by the app's services with the clock set back: the analytics summary, the
products' sales and reviews show it, day by day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.bootstrap import container
from chalicelib.clock import SHANGHAI, utcnow
from local.demo.history import DAYS, seed_history
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient
from tests.functional.test_analytics import AnalyticsQueue, summary


def products(client: ShopClient, admin_token: str) -> list[dict[str, Any]]:
    create_catalog(client, admin_token)
    made = [create_product(client, admin_token, f"华为 Mate {n}", stock=500) for n in range(4)]
    return [client.call("GET", f"/products/{product['product_id']}")[1] for product in made]


def test_a_month_of_history_shows_in_the_summary_the_sales_and_the_reviews(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN a catalog  WHEN the demo's month is replayed through the services
    catalog = products(client, admin_token)
    now = utcnow()
    made = seed_history(container(), catalog, now)
    AnalyticsQueue(client).consume(AnalyticsQueue(client).take())

    # THEN the month's summary counts its orders, paid ones, buyers and takings, on most of its days
    # 31 Asia/Shanghai days up to today (longer ranges are answered from the columnar lake, compacted hourly)
    first, last = (
        (now - timedelta(days=DAYS)).astimezone(SHANGHAI).date().isoformat(),
        now.astimezone(SHANGHAI).date().isoformat(),
    )
    status, figures = summary(client, admin_token, first, last)
    assert status == 200, figures
    assert figures["orders"] == made["orders"] >= DAYS
    assert 0 < figures["paid_orders"] < figures["orders"]  # a few buyers never paid
    assert figures["gmv_fen"] > 0 and figures["buyers"] > 5
    assert sum(1 for day in figures["daily"] if day["orders"]) >= DAYS * 2 // 3
    assert figures["behaviour"]["receipts"] > 0 and figures["behaviour"]["reviews"] == made["reviews"] > 0
    # AND the settled orders counted their sales, and the reviews rate the products
    listed = [client.call("GET", f"/products/{p['product_id']}")[1] for p in catalog]
    assert sum(p["sales"] for p in listed) > 0 and made["settled"] > 0
    assert sum(p["review_count"] for p in listed) == made["reviews"]
    assert all(p["sales"] >= 0 for p in listed)
    # AND its orders shipped with 顺丰 by kuaidi100's short name: real parcels the shop tracks
    parcels = [p for n in range(made["orders"]) for p in container().parcels.parcels(f"SF{1300000000 + n}")]
    assert parcels and {p["carrier_code"] for p in parcels} == {"shunfeng"}
