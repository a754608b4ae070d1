"""Points rules on an in-memory repository: the rules, idempotent postings, a balance that never goes negative,
and exchanges of coupons and goods."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.coupons import service as coupons
from chalicelib.coupons.schemas import TemplateWrite
from chalicelib.errors import NotFound, OutOfStock
from chalicelib.pagination import PageQuery
from chalicelib.points import rules, service
from chalicelib.points.domain import NotEnoughPoints, new_entry
from chalicelib.points.schemas import ExchangeWrite, GrantWrite, RewardUpdate, RewardWrite
from chalicelib.points.service import ExchangeOrders
from tests.unit.test_coupons_fakes import FakeCouponsRepository
from tests.unit.test_points_fakes import FakePointsRepository


@pytest.fixture
def coupon_repo() -> FakeCouponsRepository:
    return FakeCouponsRepository()


@pytest.fixture
def repo(coupon_repo: FakeCouponsRepository) -> FakePointsRepository:
    points = FakePointsRepository(coupon_repo)
    points.add_user("u_1")
    points.add_user("u_2")
    return points


# -- rules ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payable_fen", "most_points"),
    [(0, 0), (-5, 0), (199, 0), (200, 100), (9999, 4900), (10000, 5000), (123456, 61700)],
)
def test_points_pay_at_most_half_of_the_payable_amount_in_whole_yuan(payable_fen: int, most_points: int) -> None:
    points = rules.max_points_for(payable_fen)

    assert points == most_points
    assert points % rules.DEDUCTION_STEP_POINTS == 0
    assert rules.points_to_fen(points) * 100 <= max(payable_fen, 0) * rules.MAX_DEDUCTION_SHARE_PERCENT


def test_a_hundred_points_take_a_yuan_off_and_each_whole_yuan_paid_earns_one_point() -> None:
    assert rules.points_to_fen(100) == 100
    assert rules.points_to_fen(4900) == 4900
    assert rules.points_to_fen(-1) == 0
    assert rules.points_earned_for(9999) == 99
    assert rules.points_earned_for(100) == 1
    assert rules.points_earned_for(99) == 0
    assert rules.is_usable_amount(300) and not rules.is_usable_amount(150)


# -- postings -------------------------------------------------------------------------------------------------------


def test_a_reference_posts_once(repo: FakePointsRepository) -> None:
    assert service.credit(repo, "u_1", 500, "确认收货", "order:o_1:earn") is True
    assert service.credit(repo, "u_1", 500, "确认收货", "order:o_1:earn") is False
    assert service.debit(repo, "u_1", 200, "订单抵扣", "order:o_2:deduct") is True
    assert service.debit(repo, "u_1", 200, "订单抵扣", "order:o_2:deduct") is False

    mine = service.my_points(repo, "u_1", PageQuery())
    assert mine["balance"] == 300
    assert [e["delta"] for e in mine["items"]] == [-200, 500]


def test_racing_debits_never_take_the_balance_below_zero(repo: FakePointsRepository) -> None:
    service.credit(repo, "u_1", 1000, "赠送", "grant:1")

    def debit(n: int) -> bool:
        try:
            return service.debit(repo, "u_1", 300, "订单抵扣", f"order:o_{n}:deduct")
        except NotEnoughPoints:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(debit, range(10)))

    assert outcomes.count(True) == 3
    assert repo.balance("u_1") == 100
    assert sum(e["delta"] for e in repo.entries["u_1"]) == 100


def test_a_debit_over_the_balance_says_how_many_points_are_held(repo: FakePointsRepository) -> None:
    service.credit(repo, "u_1", 50, "赠送", "grant:1")

    with pytest.raises(NotEnoughPoints) as short:
        service.debit(repo, "u_1", 100, "订单抵扣", "order:o_1:deduct")

    assert short.value.code == "CONFLICT" and "50 held" in short.value.message
    assert repo.balance("u_1") == 50


def test_postings_to_an_unknown_user_are_not_found(repo: FakePointsRepository) -> None:
    with pytest.raises(NotFound):
        service.credit(repo, "u_nobody", 1, "赠送", "grant:1")
    with pytest.raises(NotFound):
        service.grant(repo, GrantWrite(user_id="u_nobody", points=1, reason="x"))


def test_a_grant_with_a_ref_is_made_once(repo: FakePointsRepository) -> None:
    first = service.grant(repo, GrantWrite(user_id="u_1", points=300, reason="演示", ref="demo"))
    again = service.grant(repo, GrantWrite(user_id="u_1", points=300, reason="演示", ref="demo"))

    assert (first["newly_granted"], again["newly_granted"], again["balance"]) == (True, False, 300)


# -- exchanges ------------------------------------------------------------------------------------------------------


class FakeExchangeOrders(ExchangeOrders):
    """Places a goods exchange's order as the orders repository's one transaction does: the points and the reward's
    stock together, or neither."""

    def __init__(self, repo: FakePointsRepository) -> None:
        self.repo = repo
        self.placed: list[dict[str, Any]] = []

    def place(
        self, user_id: str, reward: dict[str, Any], quantity: int, address_id: str, exchange_id: str
    ) -> dict[str, Any]:
        entry = new_entry(-reward["points"] * quantity, "积分兑换", f"order:{exchange_id}:deduct", utcnow())
        with self.repo.coupons.lock_:
            current = self.repo.reward_items[reward["reward_id"]]
            if current["stock"] < quantity:
                raise OutOfStock("sold out")
            self.repo._post(user_id, entry)
            self.repo._apply(user_id, entry)
            current["stock"] -= quantity
        order = {"order_id": f"o_{exchange_id}", "amounts": {"payable_fen": reward["cash_fen"] * quantity},
                 "created_at": iso(utcnow()), "address_id": address_id}  # fmt: skip
        self.placed.append(order)
        return order


def exchanging(reward_id: str, **body: Any) -> ExchangeWrite:
    return ExchangeWrite.model_validate({"reward_id": reward_id, **body})


def coupon_reward(repo: FakePointsRepository, coupon_repo: FakeCouponsRepository, total: int = 2) -> str:
    now = utcnow()
    coupons.create_template(coupon_repo, TemplateWrite.model_validate({
        "template_id": "t_ex", "name": "满50减10", "type": "amount_off", "amount_off_fen": 1000,
        "threshold_fen": 5000, "valid_from": iso(now - timedelta(days=1)), "valid_to": iso(now + timedelta(days=9)),
        "per_user_limit": 1, "total": total,
    }))  # fmt: skip
    body: dict[str, Any] = {"kind": "coupon", "points": 200, "coupon_template_id": "t_ex"}
    return str(service.create_reward(repo, coupon_repo, RewardWrite.model_validate(body))["reward_id"])


def test_a_coupon_exchange_issues_coupons_past_the_claim_limit_until_the_template_runs_out(
    repo: FakePointsRepository, coupon_repo: FakeCouponsRepository
) -> None:
    reward_id = coupon_reward(repo, coupon_repo, total=2)
    service.credit(repo, "u_1", 1000, "赠送", "grant:1")

    first = service.exchange(repo, coupon_repo, FakeExchangeOrders(repo), "u_1", exchanging(reward_id))
    second = service.exchange(repo, coupon_repo, FakeExchangeOrders(repo), "u_1", exchanging(reward_id))
    with pytest.raises(OutOfStock):
        service.exchange(repo, coupon_repo, FakeExchangeOrders(repo), "u_1", exchanging(reward_id))

    assert first["coupon_id"] != second["coupon_id"]
    assert repo.balance("u_1") == 600
    assert len(coupon_repo.coupon_items["u_1"]) == 2  # per_user_limit 1 bounds claims, not exchanges
    [listed] = service.list_rewards(repo, coupon_repo, PageQuery())["items"]
    assert (listed["title"], listed["remaining"]) == ("满50减10", 0)


def test_racing_exchanges_of_one_user_never_overdraw_and_never_oversell(
    repo: FakePointsRepository, coupon_repo: FakeCouponsRepository
) -> None:
    goods = service.create_reward(repo, coupon_repo, RewardWrite(kind="goods", title="帆布袋", points=300, stock=5))
    service.credit(repo, "u_1", 1000, "赠送", "grant:1")
    orders = FakeExchangeOrders(repo)

    def exchange(_: int) -> str:
        try:
            service.exchange(repo, coupon_repo, orders, "u_1", exchanging(goods["reward_id"], address_id="a_1"))
        except (NotEnoughPoints, OutOfStock) as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(exchange, range(6)))

    assert sorted(outcomes) == ["CONFLICT"] * 3 + ["ok"] * 3
    assert repo.balance("u_1") == 100
    assert repo.reward_items[goods["reward_id"]]["stock"] == 2


def test_sold_out_goods_are_out_of_stock_and_withdrawn_rewards_are_not_found(
    repo: FakePointsRepository, coupon_repo: FakeCouponsRepository
) -> None:
    goods = service.create_reward(repo, coupon_repo, RewardWrite(kind="goods", title="帆布袋", points=10, stock=0))
    service.credit(repo, "u_1", 100, "赠送", "grant:1")

    with pytest.raises(OutOfStock):
        service.exchange(
            repo, coupon_repo, FakeExchangeOrders(repo), "u_1", exchanging(goods["reward_id"], address_id="a_1")
        )
    service.update_reward(repo, coupon_repo, goods["reward_id"], RewardUpdate(stock=3, active=False))
    with pytest.raises(NotFound):
        service.exchange(
            repo, coupon_repo, FakeExchangeOrders(repo), "u_1", exchanging(goods["reward_id"], address_id="a_1")
        )
    assert service.list_rewards(repo, coupon_repo, PageQuery())["items"] == []
    assert repo.balance("u_1") == 100
