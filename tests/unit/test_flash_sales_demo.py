"""The demo flash sales: `make run` always shows one session running and one to come, each a valid admin body."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.flashsale.schemas import SessionWrite
from local.demo.flash_sales import flash_sales


def test_the_demo_has_one_running_and_one_upcoming_flash_sale_below_list_price() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    bodies = [SessionWrite.model_validate(body) for body in flash_sales(now)]
    assert [body.starts_at <= now < body.ends_at for body in bodies] == [True, False]
    assert bodies[1].starts_at > now
    assert all(item.promo_price_fen > 0 and item.promo_stock > 0 for body in bodies for item in body.items)
