"""The demo coupons, rewards and grant are valid bodies of the admin APIs, deterministic, and claimable now."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.clock import utcnow
from chalicelib.coupons.domain import is_claimable
from chalicelib.coupons.schemas import TemplateWrite
from chalicelib.points.schemas import GrantWrite, RewardWrite
from local.demo import coupons as demo_coupons


def test_every_demo_template_and_reward_is_a_valid_admin_body_and_rewards_name_demo_templates() -> None:
    templates = [TemplateWrite.model_validate(body) for body in demo_coupons.coupon_templates("p_demo")]
    rewards = [RewardWrite.model_validate(body) for body in demo_coupons.rewards()]

    template_ids = {t.template_id for t in templates}
    assert {r.coupon_template_id for r in rewards if r.kind == "coupon"} <= template_ids
    assert {r.kind for r in rewards} == {"coupon", "goods"}
    assert {t.type for t in templates} == {"amount_off", "percent_off"}
    assert {t.scope for t in templates} == {"all", "category", "product"}
    assert GrantWrite.model_validate(demo_coupons.admin_points_grant("u_admin")).ref == demo_coupons.ADMIN_GRANT_REF


def test_the_demo_is_the_same_each_time_and_its_coupons_are_claimable_today() -> None:
    moment = datetime(2026, 11, 24, 8, tzinfo=UTC)

    assert demo_coupons.coupon_templates("p_1", moment) == demo_coupons.coupon_templates("p_1", moment)
    for body in demo_coupons.coupon_templates("p_1"):
        template = TemplateWrite.model_validate(body).model_dump(mode="json") | {"issued": 0}
        assert is_claimable(template, utcnow()), body["template_id"]


def test_the_coupon_sold_in_the_points_store_is_the_only_demo_template_not_claimable() -> None:
    sold = {reward["coupon_template_id"] for reward in demo_coupons.rewards() if reward["kind"] == "coupon"}
    templates = [TemplateWrite.model_validate(body) for body in demo_coupons.coupon_templates("p_1")]

    assert sold and {t.template_id for t in templates if not t.claimable} == sold
