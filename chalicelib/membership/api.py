"""HTTP routes of the members club: levels, my membership and growth, the daily check-in; staff (role operator) edit
the levels."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.membership import service
from chalicelib.membership.repository import MembershipRepository
from chalicelib.membership.schemas import (
    CheckIn,
    GrowthPage,
    LevelTable,
    LevelTableWrite,
    MemberPrices,
    MemberPricesWrite,
    Membership,
)
from chalicelib.pagination import PageQuery
from chalicelib.routes import Json, Routes

membership_api = Routes(__name__, tags=("membership",), admin_tags=("admin",))


@membership_api.get("/membership/levels")
def list_levels(membership: MembershipRepository) -> Json[LevelTable]:
    """The member levels (by growth value) and how growth and check-in points are earned"""
    return service.level_table(membership)


@membership_api.get("/me/membership")
def my_membership(principal: Principal, membership: MembershipRepository) -> Json[Membership]:
    """My level, growth and the way to the next level"""
    return service.my_membership(membership, principal.user_id)


@membership_api.get("/me/membership/growth")
def my_growth(principal: Principal, query: PageQuery, membership: MembershipRepository) -> Json[GrowthPage]:
    """My growth ledger, newest first"""
    return service.my_growth(membership, principal.user_id, query)


@membership_api.post("/me/checkins", status=201, errors=(409,))
def check_in(principal: Principal, membership: MembershipRepository) -> Json[CheckIn]:
    """Today's check-in (Asia/Shanghai day): points and growth; 409 ALREADY_CHECKED_IN the second time"""
    return service.check_in(membership, principal.user_id)


@membership_api.put("/admin/membership/levels", roles=("operator",))
def set_levels(body: LevelTableWrite, membership: MembershipRepository) -> Json[LevelTable]:
    """Replace the levels (and rules); everyone's level follows from their growth at once (role operator)"""
    rules = body.rules.model_dump() if body.rules is not None else None
    return service.set_level_table(membership, [level.model_dump() for level in body.items], rules)


@membership_api.put("/admin/skus/{sku_id}/member-prices", roles=("operator",), errors=(404,))
def set_member_prices(
    sku_id: str, body: MemberPricesWrite, membership: MembershipRepository, catalog: CatalogRepository
) -> Json[MemberPrices]:
    """Replace a SKU's member prices per level (levels without one take their discount) (role operator)"""
    items = [(item.level, item.price_fen) for item in body.items]
    return service.set_member_prices(membership, catalog, sku_id, items)
