"""The demo shop's past: 30 days of orders, payments, shipments, receipts, reviews and settlements, made by the
app's own services with this thread's clock set back to each moment (chalicelib.clock.clock_at), so the analytics
roll-ups, the products' sales and ratings, and every order's timeline are what a real month would have left.

A dozen demo shoppers (registered and given an address through the accounts and profile services) buy on most
days, the best-known products of a category more often. Each order goes as far as its age allows: paid minutes
after it was placed (as the payment notify confirms it), shipped a day later, received by the buyer three days
after that and reviewed, then settled when its return window closes (the execution's settle step, so the sales
are counted). The last days' orders are still paid, shipped or received: their executions start from the order
outbox as for any order, with the time their timers have left.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.accounts import service as accounts
from chalicelib.analytics import emitter as analytics
from chalicelib.bootstrap import Container
from chalicelib.clock import clock_at, utcnow
from chalicelib.errors import Conflict, DomainError
from chalicelib.orders import placing, tasks
from chalicelib.orders import service as orders
from chalicelib.orders.schemas import OrderCreate, ShipmentWrite
from chalicelib.profile import service as profile
from chalicelib.profile.schemas import AddressWrite
from chalicelib.reviews import service as reviews
from chalicelib.reviews.schemas import ReviewWrite
from local.demo.ready import READY, READY_WAIT_SECONDS

logger = logging.getLogger("local.demo.history")
DAYS = 30
SHOPPERS = 12
SEED = 11  # the same month on every empty start
QUIET_DAY_SHARE = 0.15  # days without an order: "most days" have some
ORDERS_PER_DAY = (1, 3)
PASSWORD = "demo-shopper-password"  # noqa: S105 - the demo shoppers of the local stage only
REVIEWS = {
    5: ("质量很好，和描述一致，物流也快。", "非常满意，已经推荐给朋友了。", "包装完好，做工精细，好评！"),
    4: ("整体不错，性价比挺高。", "东西可以，就是发货稍慢一点。"),
    3: ("一般般，凑合能用。",),
}


@dataclass(frozen=True)
class Shopper:
    user_id: str
    address_id: str


def seed_demo_history(_admin_id: str) -> dict[str, str]:
    """The seed's part (local/demo/seed.py DEMO_PARTS): the month, for the demo catalog, on the app's container, in
    a thread of its own so the API answers meanwhile (a few hundred AWS calls on moto); it prints what it made."""
    if os.environ.get("LOCAL_DEMO_HISTORY", "on") == "off":
        return {}
    threading.Thread(target=_replay_month, name="demo-history", daemon=True).start()  # once the runtime is READY
    return {"history": f"{DAYS} days of orders, reviews and settlements, being replayed (a line says when done)"}


def _replay_month() -> None:
    from chalicelib.bootstrap import container
    from local.demo import catalog

    READY.wait(READY_WAIT_SECONDS)
    started = time.monotonic()
    try:
        made = seed_history(container(), catalog.products())
    except Exception:  # the demo's past is a nicety: the shop runs without it
        logger.exception("the demo history could not be replayed")
        return
    print(f"demo history: {made['orders']} orders, {made['reviews']} reviews, {made['settled']} settled over "
          f"{DAYS} days ({time.monotonic() - started:.1f} s)", flush=True)  # fmt: skip


def seed_history(container: Container, products: list[dict[str, Any]], now: datetime | None = None) -> dict[str, int]:
    """Replay the month; returns how many orders, reviews and settled orders it made."""
    now = now or utcnow()
    rng = random.Random(SEED)
    start = now - timedelta(days=DAYS)
    with clock_at(start - timedelta(hours=1)):
        shoppers = [_shopper(container, n) for n in range(SHOPPERS)]
    pool = [p for p in products if any(sku.get("stock", 0) > 5 for sku in p["skus"])]
    weights = [1.0 / (1 + (rank % 40)) for rank in range(len(pool))]  # the first of each category sell most
    plans: list[tuple[datetime, Shopper, dict[str, Any]]] = []
    for day in range(DAYS):
        if rng.random() < QUIET_DAY_SHARE:
            continue
        for _ in range(rng.randint(*ORDERS_PER_DAY)):
            moment = start + timedelta(days=day, hours=rng.uniform(1, 14))  # 09:00-22:00 in Shanghai
            plans.append((moment, rng.choice(shoppers), rng.choices(pool, weights)[0]))
    made = {"orders": 0, "reviews": 0, "settled": 0}
    for number, (moment, shopper, product) in enumerate(sorted(plans, key=lambda plan: plan[0])):
        outcome = _order_life(container, rng, number, moment, now, shopper, product)
        for key in made:
            made[key] += outcome.get(key, 0)
    return made


def _shopper(container: Container, number: int) -> Shopper:
    username = f"demo_shopper_{number:02d}"
    try:
        user_id = accounts.register(container.accounts, username, PASSWORD).user_id
    except Conflict:
        found = container.accounts.find_user_id("username", username)
        if found is None:
            raise
        user_id = found
    address = AddressWrite.model_validate(
        {
            "receiver": f"演示用户{number:02d}",
            "phone": f"1380013{8000 + number:04d}",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": f"世纪大道 {100 + number} 号",
        }
    )
    existing = profile.list_addresses(container.profile, user_id)["items"]
    address_id = (
        existing[0]["address_id"]
        if existing
        else profile.create_address(container.profile, user_id, address)["address_id"]
    )
    return Shopper(user_id, address_id)


def _order_life(
    container: Container,
    rng: random.Random,
    number: int,
    placed_at: datetime,
    now: datetime,
    shopper: Shopper,
    product: dict[str, Any],
) -> dict[str, int]:
    """One order from its placing to as far as its age allows; what it made."""
    shop = container.shop
    sku = next(s for s in product["skus"] if s.get("stock", 0) > 5)
    body = OrderCreate.model_validate(
        {"address_id": shopper.address_id, "items": [{"sku_id": sku["sku_id"], "quantity": rng.choice((1, 1, 1, 2))}]}
    )
    try:
        with clock_at(placed_at):
            order = placing.create_order(shop, shopper.user_id, f"demo-history-{number:04d}", body)
    except DomainError:  # sold out meanwhile, a limit: a shopper who changed their mind
        return {}
    order_id = order["order_id"]
    made = {"orders": 1}
    steps = (
        (timedelta(minutes=3), lambda: orders.confirm_payment(shop, order_id, f"pay_demo_{number:04d}",
                                                              order["amounts"]["payable_fen"])),
        (timedelta(days=1), lambda: orders.ship_order(shop, order_id, ShipmentWrite.model_validate(
            {"carrier": "SF", "tracking_no": f"SF{1300000000 + number}"}))),
        (timedelta(days=4), lambda: orders.receive_order(shop, shopper.user_id, order_id)),
    )  # fmt: skip
    if rng.random() < 0.1:  # some buyers never pay: the order is cancelled when its pay deadline passes
        return made
    for after, step in steps:
        if placed_at + after > now:
            return made
        if not _live(shop, order_id, step, placed_at + after):
            return made
    reviewed_at = placed_at + timedelta(days=4, hours=rng.uniform(1, 30))
    if reviewed_at < now and rng.random() < 0.7:
        rating = rng.choice((5, 5, 5, 4, 4, 3))
        with clock_at(reviewed_at):
            written = reviews.write_reviews(
                container.reviews, container.received_lines, container.review_words, container.own_images,
                container.membership, shopper.user_id, order_id,
                [ReviewWrite(sku_id=sku["sku_id"], rating=rating, content=rng.choice(REVIEWS[rating]))],
            )  # fmt: skip
            analytics.emit_as(analytics.reviews_posted, shopper.user_id, order_id, written["items"])
        made["reviews"] = 1
    settle_at = placed_at + timedelta(days=4, seconds=shop.timers.durations()["review_window_seconds"])
    if settle_at < now and _live(shop, order_id, lambda: tasks.settle(shop, order_id), settle_at):
        made["settled"] = 1
    return made


def _live(shop: Any, order_id: str, step: Any, at: datetime) -> bool:
    """Take the step at `at`; True if the order is on its way. The running shop replays nothing: its sweeper and the
    order's execution (started from the outbox, its timers long run out) may take a step first, such as receiving
    the order automatically; then the order is where the step would have put it, and the history goes on."""
    try:
        with clock_at(at):
            step()
    except DomainError:
        return orders.owned(shop, None, order_id).status not in ("CANCELLED", "REFUNDED")
    return True
