"""The admin's order search on fakes: the month-by-month walk of every order, Asia/Shanghai days, status over many
months, and the reading budget of one request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.orders import admin_search
from chalicelib.orders.schemas import AdminOrdersQuery
from tests.unit.orders.fakes import FakeOrdersRepository, an_order


class NoPhones:
    def find_user_id(self, kind: str, value: str) -> str | None:
        return None


def with_orders(*orders: tuple[str, str, str]) -> FakeOrdersRepository:
    repo = FakeOrdersRepository()
    for order_id, created_at, status in orders:
        repo.orders[order_id] = an_order(status, order_id=order_id, created_at=created_at, order_no=order_id[2:])
    return repo


def listed(repo: FakeOrdersRepository, **query: Any) -> tuple[list[str], str | None]:
    body = admin_search.list_admin_orders(repo, NoPhones(), AdminOrdersQuery.model_validate(query))
    return [order["order_id"] for order in body["items"]], body["next_cursor"]


def every_page(repo: FakeOrdersRepository, **query: Any) -> list[str]:
    seen, cursor = [], None
    for _ in range(100):
        found, cursor = listed(repo, **query, **({"cursor": cursor} if cursor else {}))
        seen += found
        if cursor is None:
            return seen
    raise AssertionError("no last page")


def test_every_order_of_the_last_year_is_listed_newest_first_across_months() -> None:
    # GIVEN orders placed now, 40 and 200 days ago, and one 500 days ago
    now = utcnow()
    repo = with_orders(*[(f"o_{age}", iso(now - timedelta(days=age)), "PAID") for age in (0, 40, 200, 500)])
    # WHEN the admin lists every order THEN the last year's come newest first, the older one needs `from`
    assert listed(repo) == (["o_0", "o_40", "o_200"], None)
    old_day = (now - timedelta(days=501)).strftime("%Y-%m-%d")
    assert every_page(repo, **{"from": old_day}) == ["o_0", "o_40", "o_200", "o_500"]


def test_from_and_to_are_asia_shanghai_days() -> None:
    # GIVEN an order placed at 16:30 UTC on 31 March: 00:30 on 1 April in Shanghai
    repo = with_orders(("o_1", "2026-03-31T16:30:00Z", "PAID"), ("o_2", "2026-03-31T15:59:59Z", "PAID"))
    # THEN it is an order of 1 April, and the one a second before midnight Shanghai time one of 31 March
    assert listed(repo, **{"from": "2026-04-01", "to": "2026-04-01"}) == (["o_1"], None)
    assert listed(repo, **{"from": "2026-03-31", "to": "2026-03-31"}) == (["o_2"], None)


def test_a_status_among_many_orders_is_paged_and_each_page_reads_a_bounded_number_of_orders() -> None:
    # GIVEN 300 shipped orders and, older than all of them, 2 paid ones
    now = utcnow()
    repo = with_orders(
        *[(f"o_s{n:03d}", iso(now - timedelta(minutes=n)), "SHIPPED") for n in range(300)],
        *[(f"o_p{n}", iso(now - timedelta(days=1, minutes=n)), "PAID") for n in range(2)],
    )
    # WHEN the admin lists the PAID ones 2 a page
    seen: list[str] = []
    cursor = None
    requests = 0
    while True:
        requests += 1
        found, cursor = listed(repo, status="PAID", page_size=2, **({"cursor": cursor} if cursor else {}))
        seen += found
        if cursor is None:
            break
    # THEN both are found once; the first request stopped at its reading budget and said where to go on
    assert seen == ["o_p0", "o_p1"]
    assert requests > 1


def test_a_range_of_many_years_is_walked_a_year_or_so_per_request_and_finds_every_order() -> None:
    # GIVEN orders in 2001 and 2024
    repo = with_orders(("o_old", "2001-06-01T00:00:00Z", "PAID"), ("o_new", "2024-06-01T00:00:00Z", "PAID"))
    # WHEN the admin lists 2000-2025, following the cursor
    seen: list[str] = []
    cursor = None
    requests = 0
    while requests < 100:
        requests += 1
        found, cursor = listed(
            repo, **{"from": "2000-01-01", "to": "2025-12-31"}, **({"cursor": cursor} if cursor else {})
        )
        seen += found
        if cursor is None:
            break
    # THEN both are found, newest first, over requests that each walk at most MONTHS_PER_REQUEST months
    assert seen == ["o_new", "o_old"]
    assert requests >= 26 * 12 // admin_search.MONTHS_PER_REQUEST
