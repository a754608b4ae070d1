"""HTTP routes of coupons: admin templates, the claimable list, claiming, the signed-in user's coupons."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.coupons import service
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.coupons.schemas import (
    AdminTemplate,
    AdminTemplatePage,
    ClaimablePage,
    Claimed,
    MyCouponPage,
    MyCouponsQuery,
    TemplateUpdate,
    TemplateWrite,
)
from chalicelib.pagination import PageQuery
from chalicelib.routes import Json, Routes

coupons_api = Routes(__name__, tags=("coupons",), admin_tags=("admin",))


@coupons_api.get("/coupons")
def list_claimable(principal: Principal | None, query: PageQuery, coupons: CouponsRepository) -> Json[ClaimablePage]:
    """Coupon templates open for claiming now, with how many are left"""
    return service.list_claimable(coupons, principal.user_id if principal else None, query)


@coupons_api.post("/coupons/{template_id}/claim", status=201, errors=(404, 409))
def claim(principal: Principal, template_id: str, coupons: CouponsRepository) -> Json[Claimed]:
    """Claim one coupon (409 when none are left or at the per-user limit)"""
    return service.claim(coupons, principal.user_id, template_id)


@coupons_api.get("/me/coupons")
def list_my_coupons(principal: Principal, query: MyCouponsQuery, coupons: CouponsRepository) -> Json[MyCouponPage]:
    """My coupons, newest first (?status=unused|used|expired; used includes coupons locked to an unpaid order)"""
    return service.list_my_coupons(coupons, principal.user_id, query)


@coupons_api.post("/admin/coupons", status=201, errors=(409,), roles=("operator",))
def create_template(body: TemplateWrite, coupons: CouponsRepository) -> Json[AdminTemplate]:
    """Create a coupon template"""
    return service.create_template(coupons, body)


@coupons_api.get("/admin/coupons", roles=("operator",))
def list_templates(query: PageQuery, coupons: CouponsRepository) -> Json[AdminTemplatePage]:
    """Every coupon template, newest first, with issued counts"""
    return service.list_templates(coupons, query)


@coupons_api.put("/admin/coupons/{template_id}", errors=(404, 409), roles=("operator",))
def update_template(template_id: str, body: TemplateUpdate, coupons: CouponsRepository) -> Json[AdminTemplate]:
    """Change a template's name, window, total (never below what was issued) or claimable; its terms never change"""
    return service.update_template(coupons, template_id, body)
