"""The demo community seed: published reviews with photos and a reply, pending ones for staff, feedback in each
state, member prices on a few SKUs, all through the app's services; a second run adds nothing."""

from __future__ import annotations

import requests

from local.demo.community import seed_community
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient


def test_the_demo_shows_photo_reviews_pending_reviews_and_feedback_in_each_state(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    products = [create_product(client, admin_token, f"华为 Mate {60 + n}") for n in range(4)]

    assert seed_community(products) == {"reviews": 5, "feedback": 3}
    assert seed_community(products) == {"reviews": 0, "feedback": 0}

    page = client.call("GET", f"/products/{products[0]['product_id']}/reviews")[1]
    photographed = next(review for review in page["items"] if review["images"])
    assert len(photographed["images"]) == 2 and photographed["reply"] and photographed["follow_up"]
    assert requests.get(photographed["images"][0], timeout=10).content.startswith(b"\x89PNG")
    assert page["summary"]["with_images_count"] == 1
    pending = client.call("GET", "/admin/reviews?status=PENDING", token=admin_token)[1]["items"]
    assert len(pending) == 2
    states = [item["status"] for item in client.call("GET", "/admin/feedback", token=admin_token)[1]["items"]]
    assert sorted(states) == ["CLOSED", "OPEN", "REPLIED"]
    sku = client.call("GET", f"/products/{products[0]['product_id']}")[1]["skus"][0]
    gold = next(level for level in sku["member_prices"] if level["level"] == 3)
    assert gold["price_fen"] == sku["list_price_fen"] * 88 // 100
