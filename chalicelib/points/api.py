"""HTTP routes of points: the rules, my balance and ledger, the exchange store, admin grants and rewards."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.pagination import PageQuery
from chalicelib.points import service
from chalicelib.points.repository import PointsRepository
from chalicelib.points.schemas import (
    AdminReward,
    AdminRewardPage,
    Exchange,
    ExchangePage,
    ExchangeWrite,
    Grant,
    GrantWrite,
    MyPoints,
    RewardPage,
    RewardUpdate,
    RewardWrite,
    Rules,
    RulesWrite,
)
from chalicelib.points.service import ExchangeOrders
from chalicelib.routes import Json, Routes

points_api = Routes(__name__, tags=("points",), admin_tags=("admin",))


@points_api.get("/points/rules")
def get_rules(points: PointsRepository) -> Json[Rules]:
    """How points are earned and spent, with the rules' explanation (Markdown)"""
    return service.current_rules(points)


@points_api.put("/admin/points/rules", roles=("operator",))
def put_rules(body: RulesWrite, points: PointsRepository) -> Json[Rules]:
    """Change the points rules: new orders are priced and earn by them, placed orders keep theirs (out of range 400)"""
    return service.set_rules(points, body)


@points_api.get("/me/points")
def my_points(principal: Principal, query: PageQuery, points: PointsRepository) -> Json[MyPoints]:
    """My points balance and ledger, newest first"""
    return service.my_points(points, principal.user_id, query)


@points_api.get("/points/rewards")
def list_rewards(query: PageQuery, points: PointsRepository, coupons: CouponsRepository) -> Json[RewardPage]:
    """The exchange store: rewards on offer and what is left"""
    return service.list_rewards(points, coupons, query)


@points_api.post("/points/exchange", status=201, errors=(400, 404, 409))
def exchange(
    principal: Principal,
    body: ExchangeWrite,
    points: PointsRepository,
    coupons: CouponsRepository,
    exchange_orders: ExchangeOrders,
) -> Json[Exchange]:
    """Spend points on a reward: a coupon, or goods as an order to my address (409 CONFLICT: not enough points;
    409 OUT_OF_STOCK: sold out)"""
    return service.exchange(points, coupons, exchange_orders, principal.user_id, body)


@points_api.get("/me/points/exchanges")
def my_exchanges(principal: Principal, query: PageQuery, points: PointsRepository) -> Json[ExchangePage]:
    """My exchanges, newest first"""
    return service.my_exchanges(points, principal.user_id, query)


@points_api.post("/admin/points/grants", status=201, errors=(404,), roles=("service",))
def grant_points(body: GrantWrite, points: PointsRepository) -> Json[Grant]:
    """Grant a user points (idempotent by ref)"""
    return service.grant(points, body)


@points_api.post("/admin/points/rewards", status=201, errors=(404, 409), roles=("operator",))
def create_reward(body: RewardWrite, points: PointsRepository, coupons: CouponsRepository) -> Json[AdminReward]:
    """Create a points reward (a coupon or goods)"""
    return service.create_reward(points, coupons, body)


@points_api.get("/admin/points/rewards", roles=("operator",))
def list_all_rewards(query: PageQuery, points: PointsRepository, coupons: CouponsRepository) -> Json[AdminRewardPage]:
    """Every points reward, with counts"""
    return service.list_rewards(points, coupons, query, admin=True)


@points_api.put("/admin/points/rewards/{reward_id}", errors=(404,), roles=("operator",))
def update_reward(
    reward_id: str, body: RewardUpdate, points: PointsRepository, coupons: CouponsRepository
) -> Json[AdminReward]:
    """Change a reward's title, image, price in points, stock (goods) or whether it is offered"""
    return service.update_reward(points, coupons, reward_id, body)
