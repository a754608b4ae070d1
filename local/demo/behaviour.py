"""Synthetic shopping behaviour for the demo shop, written straight into the analytics lake so the first
recommendations refresh has something to learn from (`LOCAL_DEMO_BEHAVIOUR=off` leaves the lake empty)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from chalicelib.analytics import emitter
from chalicelib.analytics.lake import Lake, S3Lake, object_key
from chalicelib.analytics.rollup import business_day
from chalicelib.analytics.schemas import EventBase
from chalicelib.clock import utcnow

SHOPPERS = 40
ANONYMOUS_VIEWS = 60
SEED = 7  # the same shop every start


def behaviour_events(
    products: list[dict[str, Any]], now: datetime, extra_shoppers: tuple[str, ...] = ()
) -> list[EventBase]:
    """A few hundred events over the last week: each shopper keeps to one or two categories, views a handful of
    their products (the popular ones more often), carts some and buys a few."""
    rng = random.Random(SEED)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for product in products:
        by_category.setdefault(product["category_id"], []).append(product)
    categories = sorted(by_category)
    events: list[EventBase] = []
    shoppers = [f"demo_shopper_{n:02d}" for n in range(SHOPPERS)] + list(extra_shoppers)
    for number, shopper in enumerate(shoppers):
        liked = rng.sample(categories, k=min(len(categories), rng.choice((1, 1, 2))))
        pool = [p for c in liked for p in by_category[c]]
        weights = [1.0 / (rank + 1) for rank in range(len(pool))]  # the first listed of a category are the best known
        seen = list(dict.fromkeys(p["product_id"] for p in rng.choices(pool, weights, k=rng.randint(4, 9))))
        for step, product_id in enumerate(seen):
            at = now - timedelta(days=rng.uniform(0.05, 7.0))
            events.append(emitter.product_viewed(product_id, shopper, at, view_id=f"demo-{number}-{step}"))
            if rng.random() < 0.2:
                events.append(emitter.favorite_added(shopper, product_id, at + timedelta(minutes=1)))
        for step, product_id in enumerate(seen[:2]):
            if rng.random() < 0.5:
                at = now - timedelta(days=rng.uniform(0.02, 0.05))
                events.append(emitter.cart_item_added(shopper, product_id, f"{product_id}-01", 1, at))
                if rng.random() < 0.4:
                    order = {"order_id": f"o_demo_{number}_{step}", "user_id": shopper, "created_at": at.isoformat(),
                             "items": [{"sku_id": f"{product_id}-01", "product_id": product_id, "quantity": 1,
                                        "payable_fen": 0}], "amounts": {"payable_fen": 0}}  # fmt: skip
                    events += [emitter.order_placed(order), emitter.order_paid(order, at + timedelta(minutes=2))]
    hot = [p["product_id"] for p in products[:: max(1, len(products) // 20)]]
    for n in range(ANONYMOUS_VIEWS):
        at = now - timedelta(days=rng.uniform(0.01, 3.0))
        events.append(emitter.product_viewed(rng.choice(hot), None, at, view_id=f"demo-anonymous-{n}"))
    return events


def seed_behaviour(
    products: list[dict[str, Any]], extra_shoppers: tuple[str, ...] = (), lake: Lake | None = None
) -> int:
    """Write the synthetic events into the lake, one object per business day; how many events."""
    lake = lake or S3Lake()
    by_day: dict[str, list[EventBase]] = {}
    for event in behaviour_events(products, utcnow(), extra_shoppers):
        by_day.setdefault(business_day(event.occurred_at), []).append(event)
    for day, events in sorted(by_day.items()):
        key = object_key(day, [event.event_id for event in events])
        lake.put(key, [event.model_dump(mode="json", exclude_none=True) for event in events])
    return sum(len(events) for events in by_day.values())
