"""HTTP routes of points: the rules, my balance and ledger, the exchange store, admin grants and rewards."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.coupons.repository import DynamoCouponsRepository
from chalicelib.http import Principal, endpoint
from chalicelib.pagination import PageQuery
from chalicelib.points import rules, service
from chalicelib.points.repository import DynamoPointsRepository
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
)

points_api = Blueprint(__name__)
repo = DynamoPointsRepository()
coupon_repo = DynamoCouponsRepository()
TAGS = ("points",)
ADMIN_TAGS = ("admin",)


@endpoint(points_api, "/points/rules", summary="How points are earned and spent", tags=TAGS, response=Rules)
def get_rules() -> dict[str, Any]:
    return rules.describe()


@endpoint(points_api, "/me/points", summary="My points balance and ledger, newest first", tags=TAGS,
          auth="customer", query=PageQuery, response=MyPoints)  # fmt: skip
def my_points(principal: Principal, query: PageQuery) -> dict[str, Any]:
    return service.my_points(repo, principal.user_id, query)


@endpoint(points_api, "/points/rewards", summary="The exchange store: rewards on offer and what is left",
          tags=TAGS, query=PageQuery, response=RewardPage)  # fmt: skip
def list_rewards(query: PageQuery) -> dict[str, Any]:
    return service.list_rewards(repo, coupon_repo, query)


@endpoint(points_api, "/points/exchange", "POST", summary="Spend points on a reward (409 CONFLICT: not enough "
          "points; 409 OUT_OF_STOCK: sold out)", tags=TAGS, auth="customer", body=ExchangeWrite, response=Exchange,
          status=201, errors=(404, 409))  # fmt: skip
def exchange(principal: Principal, body: ExchangeWrite) -> dict[str, Any]:
    return service.exchange(repo, coupon_repo, principal.user_id, body.reward_id)


@endpoint(points_api, "/me/points/exchanges", summary="My exchanges, newest first", tags=TAGS, auth="customer",
          query=PageQuery, response=ExchangePage)  # fmt: skip
def my_exchanges(principal: Principal, query: PageQuery) -> dict[str, Any]:
    return service.my_exchanges(repo, principal.user_id, query)


@endpoint(points_api, "/admin/points/grants", "POST", summary="Grant a user points (idempotent by ref)",
          tags=ADMIN_TAGS, auth="admin", body=GrantWrite, response=Grant, status=201, errors=(404,))  # fmt: skip
def grant_points(body: GrantWrite) -> dict[str, Any]:
    return service.grant(repo, body)


@endpoint(points_api, "/admin/points/rewards", "POST", summary="Create a points reward (a coupon or goods)",
          tags=ADMIN_TAGS, auth="admin", body=RewardWrite, response=AdminReward, status=201,
          errors=(404, 409))  # fmt: skip
def create_reward(body: RewardWrite) -> dict[str, Any]:
    return service.create_reward(repo, coupon_repo, body)


@endpoint(points_api, "/admin/points/rewards", summary="Every points reward, with counts", tags=ADMIN_TAGS,
          auth="admin", query=PageQuery, response=AdminRewardPage)  # fmt: skip
def list_all_rewards(query: PageQuery) -> dict[str, Any]:
    return service.list_rewards(repo, coupon_repo, query, admin=True)


@endpoint(points_api, "/admin/points/rewards/{reward_id}", "PUT", summary="Change a reward's title, image, "
          "price in points, stock (goods) or whether it is offered", tags=ADMIN_TAGS, auth="admin",
          body=RewardUpdate, response=AdminReward, errors=(404,))  # fmt: skip
def update_reward(reward_id: str, body: RewardUpdate) -> dict[str, Any]:
    return service.update_reward(repo, coupon_repo, reward_id, body)
