"""HTTP routes of coupons: admin templates, the claimable list, claiming, the signed-in user's coupons."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.coupons import service
from chalicelib.coupons.repository import DynamoCouponsRepository
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
from chalicelib.http import Principal, endpoint
from chalicelib.pagination import PageQuery

coupons_api = Blueprint(__name__)
repo = DynamoCouponsRepository()
TAGS = ("coupons",)
ADMIN_TAGS = ("admin",)


@endpoint(coupons_api, "/coupons", summary="Coupon templates open for claiming now, with how many are left",
          tags=TAGS, auth="optional", query=PageQuery, response=ClaimablePage)  # fmt: skip
def list_claimable(principal: Principal | None, query: PageQuery) -> dict[str, Any]:
    return service.list_claimable(repo, principal.user_id if principal else None, query)


@endpoint(coupons_api, "/coupons/{template_id}/claim", "POST", summary="Claim one coupon (409 when none are left "
          "or at the per-user limit)", tags=TAGS, auth="customer", response=Claimed, status=201,
          errors=(404, 409))  # fmt: skip
def claim(principal: Principal, template_id: str) -> dict[str, Any]:
    return service.claim(repo, principal.user_id, template_id)


@endpoint(coupons_api, "/me/coupons", summary="My coupons, newest first (?status=unused|used|expired; used "
          "includes coupons locked to an unpaid order)", tags=TAGS, auth="customer", query=MyCouponsQuery,
          response=MyCouponPage)  # fmt: skip
def list_my_coupons(principal: Principal, query: MyCouponsQuery) -> dict[str, Any]:
    return service.list_my_coupons(repo, principal.user_id, query)


@endpoint(coupons_api, "/admin/coupons", "POST", summary="Create a coupon template", tags=ADMIN_TAGS, auth="admin",
          body=TemplateWrite, response=AdminTemplate, status=201, errors=(409,))  # fmt: skip
def create_template(body: TemplateWrite) -> dict[str, Any]:
    return service.create_template(repo, body)


@endpoint(coupons_api, "/admin/coupons", summary="Every coupon template, newest first, with issued counts",
          tags=ADMIN_TAGS, auth="admin", query=PageQuery, response=AdminTemplatePage)  # fmt: skip
def list_templates(query: PageQuery) -> dict[str, Any]:
    return service.list_templates(repo, query)


@endpoint(coupons_api, "/admin/coupons/{template_id}", "PUT", summary="Change a template's name, window, total "
          "(never below what was issued) or claimable; its terms never change", tags=ADMIN_TAGS, auth="admin",
          body=TemplateUpdate, response=AdminTemplate, errors=(404, 409))  # fmt: skip
def update_template(template_id: str, body: TemplateUpdate) -> dict[str, Any]:
    return service.update_template(repo, template_id, body)
