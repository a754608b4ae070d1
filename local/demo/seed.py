"""Seeds the local stage: the demo catalog and the admin account, through the app's own services; idempotent."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from chalicelib.accounts import service as accounts
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.catalog import service as catalog
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.catalog.schemas import BrandWrite, CategoryWrite
from chalicelib.clock import utcnow
from chalicelib.coupons import service as coupon_service
from chalicelib.coupons.repository import DynamoCouponsRepository
from chalicelib.coupons.schemas import TemplateWrite
from chalicelib.errors import Conflict
from chalicelib.points import service as points_service
from chalicelib.points.repository import DynamoPointsRepository
from chalicelib.points.schemas import GrantWrite, RewardWrite
from chalicelib.promotions import service as promotion_service
from chalicelib.promotions.repository import DynamoPromotionsRepository
from chalicelib.promotions.schemas import PromotionWrite
from chalicelib.themes import service as themes
from chalicelib.themes.repository import DynamoThemeRepository
from chalicelib.themes.schemas import ThemeWrite
from local.demo import aftersales as demo_aftersales
from local.demo import behaviour as demo_behaviour
from local.demo import catalog as demo_catalog
from local.demo import community as demo_community
from local.demo import coupons as demo_coupons
from local.demo import flash_sales as demo_flash_sales
from local.demo import history as demo_history
from local.demo import logistics as demo_logistics
from local.demo import promotions as demo_promotions
from local.demo import staff as demo_staff
from local.demo import themes as demo_themes

ADMIN_USERNAME = "admin"

# The demo's further parts, run in this order after the catalog, themes, admin and marketing: each takes the admin's
# user id and returns its figures for the banner. A new part is one line here.
DEMO_PARTS: list[Callable[[str], dict[str, Any]]] = [
    lambda _admin_id: demo_community.seed_community(demo_catalog.products()),  # reviews with photos, feedback
    lambda admin_id: _seed_logistics(admin_id),  # freight templates, the admin's shipped order with its parcel's events
    lambda admin_id: _seed_aftersales(admin_id),  # a partial refund done and an exchange under way
    demo_history.seed_demo_history,  # 30 days of orders, payments, shipments, receipts, reviews, settlements
]


def _seed_logistics(admin_id: str) -> dict[str, Any]:
    from chalicelib.bootstrap import container

    return demo_logistics.seed_logistics(container(), admin_id, demo_catalog.products()[0])


def _seed_aftersales(admin_id: str) -> dict[str, Any]:
    from chalicelib.bootstrap import container

    return demo_aftersales.seed_aftersales(container(), admin_id, demo_catalog.products()[0])


def seed_demo_data(admin_password: str) -> dict[str, Any]:
    """Write whatever of the demo data is missing; return what is there."""
    repo = DynamoCatalogRepository()
    categories = sorted(demo_catalog.categories(), key=lambda c: c["parent_id"] is not None)  # roots first
    for category in categories:
        with contextlib.suppress(Conflict):
            catalog.save_category(repo, CategoryWrite.model_validate(category))
    for brand in demo_catalog.brands():
        with contextlib.suppress(Conflict):
            catalog.save_brand(repo, BrandWrite.model_validate(brand))
    created = catalog.import_products(repo, demo_catalog.products())
    for number, body in enumerate(demo_themes.themes(utcnow()), start=1):
        with contextlib.suppress(Conflict):
            themes.save_theme(DynamoThemeRepository(), repo, ThemeWrite.model_validate(body), f"t_demo{number}", True)
    admin_id = accounts.ensure_admin(DynamoAccountsRepository(), ADMIN_USERNAME, admin_password)
    marketing = _seed_marketing(repo, admin_id)
    staff_accounts = demo_staff.seed_staff()
    behaviour = 0  # synthetic views, carts and orders in the analytics lake, for the first recommendations refresh
    if os.environ.get("LOCAL_DEMO_BEHAVIOUR", "on") != "off":
        behaviour = demo_behaviour.seed_behaviour(demo_catalog.products(), (admin_id,))
    parts: dict[str, Any] = {}
    for part in DEMO_PARTS:
        parts |= part(admin_id)
    return {
        "categories": len(categories),
        "brands": len(demo_catalog.brands()),
        "products": len(demo_catalog.products()),
        "products_created": created,
        "themes": len(demo_themes.themes(utcnow())),
        "admin_user_id": admin_id,
        "staff_accounts": staff_accounts,
        **marketing,
        "flash_sales": demo_flash_sales.seed(),  # one running, one upcoming
        "behaviour_events": behaviour,
        **parts,
    }


def seed_admin_only(admin_password: str) -> dict[str, Any]:
    """The admin account alone (an empty shop): what `python -m local --no-seed` writes."""
    return {"admin_user_id": accounts.ensure_admin(DynamoAccountsRepository(), ADMIN_USERNAME, admin_password)}


def _seed_marketing(catalog_repo: DynamoCatalogRepository, admin_id: str) -> dict[str, int]:
    """Running promotions, claimable coupons, points rewards and the admin's demo points."""
    now = utcnow()
    promotion_bodies = demo_promotions.promotions(now)
    for body in promotion_bodies:
        with contextlib.suppress(Conflict):
            promotion_service.create_promotion(
                DynamoPromotionsRepository(), catalog_repo, PromotionWrite.model_validate(body)
            )
    coupon_repo = DynamoCouponsRepository()
    templates = demo_coupons.coupon_templates(demo_catalog.products()[0]["product_id"], now)
    for body in templates:
        with contextlib.suppress(Conflict):
            coupon_service.create_template(coupon_repo, TemplateWrite.model_validate(body))
    points_repo = DynamoPointsRepository()
    for body in demo_coupons.rewards():
        with contextlib.suppress(Conflict):
            points_service.create_reward(points_repo, coupon_repo, RewardWrite.model_validate(body))
    points_service.grant(points_repo, GrantWrite.model_validate(demo_coupons.admin_points_grant(admin_id)))
    return {
        "promotions": len(promotion_bodies),
        "coupon_templates": len(templates),
        "points_rewards": len(demo_coupons.rewards()),
    }
