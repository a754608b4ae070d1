"""Coupon rules: templates, claiming within the total and the per-user limit, the user's coupons, and locking one
to an order (for the cart and orders: usable_offers, lock_coupon, release_coupon, mark_used)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.coupons.domain import (
    CouponOffer,
    ExchangeOnly,
    NoneLeft,
    NotClaimable,
    TemplateChanged,
    is_claimable,
    is_usable,
    new_coupon,
    offer_of,
    status_of,
)
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.coupons.schemas import MyCouponsQuery, TemplateUpdate, TemplateWrite
from chalicelib.errors import Conflict, InvalidState, NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page

ATTEMPTS = 3
UNUSABLE = {
    "used": "This coupon has been used: choose another one",
    "locked": "This coupon is held by another unpaid order: pay or cancel that order, or choose another coupon",
    "expired": "This coupon expired at {valid_to}: choose another one",
}
NOT_YET_VALID = "This coupon can be used from {valid_from}: choose another one until then"
PUBLIC_FIELDS = (
    "template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off", "max_discount_fen", "valid_from",
    "valid_to", "valid_days", "scope", "scope_ids", "per_user_limit", "total", "claimable",
)  # fmt: skip


def _public(template: dict[str, Any]) -> dict[str, Any]:
    return {**{name: template.get(name) for name in PUBLIC_FIELDS}, "remaining": template["total"] - template["issued"]}


def _admin_view(template: dict[str, Any]) -> dict[str, Any]:
    return {**_public(template), **{name: template[name] for name in ("issued", "created_at", "updated_at")}}


# -- templates (admin) ----------------------------------------------------------------------------------------------


def create_template(repo: CouponsRepository, write: TemplateWrite) -> dict[str, Any]:
    now = iso(utcnow())
    template = {
        **write.model_dump(exclude={"valid_from", "valid_to"}),
        "template_id": write.template_id or new_id("ct"),
        "valid_from": iso(write.valid_from) if write.valid_from else None,
        "valid_to": iso(write.valid_to) if write.valid_to else None,
        "issued": 0,
        "created_at": now,
        "updated_at": now,
    }
    if template["type"] == "amount_off":
        template["max_discount_fen"] = None
    repo.create_template(template)
    return _admin_view(template)


def update_template(repo: CouponsRepository, template_id: str, write: TemplateUpdate) -> dict[str, Any]:
    """Change the name, the window, the total or whether it is claimable; the terms of a template never change
    (issued coupons keep theirs)."""
    current = repo.template(template_id)
    if current is None:
        raise NotFound("No such coupon template")
    given = write.model_dump(exclude_unset=True)
    if any(value is None for value in given.values()):
        nulls = [name for name, value in given.items() if value is None]
        raise ValidationError(
            "Fields cannot be set to null: leave them out to keep them",
            errors=[{"field": name, "message": "Cannot be null: leave it out to keep it."} for name in nulls],
        )
    changes: dict[str, Any] = {name: given[name] for name in ("name", "total", "claimable") if name in given}
    for name in ("valid_from", "valid_to"):
        if name in given:
            changes[name] = iso(given[name])
    if "valid_days" in given:
        if not current.get("valid_days"):
            raise InvalidState("valid_days applies only to a template valid for days after the claim")
        changes["valid_days"] = given["valid_days"]
    valid_from = changes.get("valid_from", current.get("valid_from"))
    valid_to = changes.get("valid_to", current.get("valid_to"))
    if valid_from and valid_to and parse_iso(valid_to) <= parse_iso(valid_from):
        raise ValidationError(
            "valid_to must be after valid_from", errors=[{"field": "valid_to", "message": "Must be after valid_from."}]
        )
    changes["updated_at"] = iso(utcnow())
    return _admin_view(repo.update_template(template_id, changes))


def list_templates(repo: CouponsRepository, query: PageQuery) -> dict[str, Any]:
    scope = "coupon-templates|admin"
    templates, last_key = repo.templates(query.page_size, decode_cursor(query.cursor, scope))
    return page([_admin_view(t) for t in templates], encode_cursor(last_key, scope))


def list_claimable(repo: CouponsRepository, user_id: str | None, query: PageQuery) -> dict[str, Any]:
    """Templates open for claiming now with coupons left (a page may hold fewer than page_size); `claimed` counts
    the signed-in caller's claims."""
    scope = "coupon-templates|claimable"
    templates, last_key = repo.templates(query.page_size, decode_cursor(query.cursor, scope))
    now = utcnow()
    open_ones = [t for t in templates if t["claimable"] and is_claimable(t, now)]
    counts = repo.claimed_counts(user_id, [t["template_id"] for t in open_ones]) if user_id else {}
    items = [{**_public(t), "claimed": counts.get(t["template_id"], 0) if user_id else None} for t in open_ones]
    return page(items, encode_cursor(last_key, scope))


# -- claiming -------------------------------------------------------------------------------------------------------


def claim(repo: CouponsRepository, user_id: str, template_id: str) -> dict[str, Any]:
    """Issue one coupon of the template to the user: 404 no template, 409 NOT_CLAIMABLE for one that is not
    claimable (the points store's), 409 INVALID_STATE outside the claim window, 409 CONFLICT when none are left or
    the user is at the per-user limit. The issue is conditional on the template being unchanged since read, so a
    template made unclaimable meanwhile is read again and refused."""
    for attempt in range(ATTEMPTS):
        template = repo.template(template_id)
        if template is None:
            raise NotFound("No such coupon template")
        if not template["claimable"]:
            raise ExchangeOnly()
        now = utcnow()
        if not is_claimable({**template, "issued": 0}, now):
            raise NotClaimable()
        if template["issued"] >= template["total"]:
            raise NoneLeft()
        coupon = new_coupon(template, new_id("cp"), now, source="claim")
        try:
            repo.claim(user_id, coupon, template["per_user_limit"])
        except TemplateChanged:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return {key: coupon[key] for key in ("coupon_id", "template_id", "valid_from", "valid_to")}
    raise AssertionError("unreachable")


def make_exchange_only(repo: CouponsRepository, template_id: str) -> None:
    """The template's coupons are sold in the points store from now on: no longer claimable (a claim reading it
    before this change fails its condition on updated_at, reads it again and is refused)."""
    current = repo.template(template_id)
    if current is None:
        raise NotFound("No such coupon template", field="coupon_template_id")
    if current["claimable"]:
        repo.update_template(template_id, {"claimable": False, "updated_at": iso(utcnow())})


def issue_for_exchange(template: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The coupon a points exchange issues (counted on the template's total, not the per-user claim limit);
    NotClaimable outside the template's window."""
    if not is_claimable({**template, "issued": 0}, now):
        raise NotClaimable("This coupon can no longer be issued")
    return new_coupon(template, new_id("cp"), now, source="exchange")


# -- the user's coupons ---------------------------------------------------------------------------------------------


def _my_view(coupon: dict[str, Any], now: datetime) -> dict[str, Any]:
    view = {name: coupon.get(name) for name in (
        "coupon_id", "template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off",
        "max_discount_fen", "scope", "scope_ids", "valid_from", "valid_to", "claimed_at", "source", "used_at",
    )}  # fmt: skip
    view["status"] = status_of(coupon, now)
    view["order_id"] = coupon.get("locked_by")
    return view


def list_my_coupons(repo: CouponsRepository, user_id: str, query: MyCouponsQuery) -> dict[str, Any]:
    """Newest first; ?status=used lists used and locked coupons, unused / expired / locked exactly those."""
    scope = f"my-coupons|{user_id}|{query.status or ''}"
    coupons, last_key = repo.user_coupons(user_id, query.page_size, decode_cursor(query.cursor, scope))
    now = utcnow()
    wanted = {"used": {"used", "locked"}}.get(query.status or "", {query.status} if query.status else None)
    views = [_my_view(coupon, now) for coupon in coupons]
    return page([v for v in views if wanted is None or v["status"] in wanted], encode_cursor(last_key, scope))


def usable_offers(repo: CouponsRepository, user_id: str, now: datetime | None = None) -> list[CouponOffer]:
    """The user's coupons the cart and an order may apply now: unused, unlocked, inside their window (read from the
    wallet, where used and expired ones are not)."""
    moment = now or utcnow()
    return offers_of(repo.wallet(user_id, moment), moment)


def offers_of(coupons: list[dict[str, Any]], now: datetime) -> list[CouponOffer]:
    """Those of the wallet's coupons usable now, newest first."""
    usable = [coupon for coupon in coupons if is_usable(coupon, now)]
    return [offer_of(coupon) for coupon in sorted(usable, key=lambda coupon: coupon["coupon_id"], reverse=True)]


def usable_offer(repo: CouponsRepository, user_id: str, coupon_id: str, now: datetime | None = None) -> CouponOffer:
    """One coupon the user names for an order: 404 if not theirs, 409 INVALID_STATE if not usable now."""
    coupon = repo.user_coupon(user_id, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon")
    moment = now or utcnow()
    if not is_usable(coupon, moment):
        raise InvalidState(UNUSABLE.get(status_of(coupon, moment), NOT_YET_VALID).format(**coupon))
    return offer_of(coupon)


def lock_coupon(repo: CouponsRepository, user_id: str, coupon_id: str, order_id: str) -> None:
    """Hold the coupon for an order. Again for the same order: nothing happens. Held by another order: 409
    CONFLICT; used, expired or not yet valid: 409 INVALID_STATE; not the user's: 404."""
    now = utcnow()
    coupon = repo.user_coupon(user_id, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon")
    if coupon.get("locked_by") == order_id:
        return
    if repo.lock(user_id, coupon_id, order_id, iso(now)):
        return
    _explain(repo.user_coupon(user_id, coupon_id), order_id, now)


def _explain(coupon: dict[str, Any] | None, order_id: str, now: datetime) -> None:
    if coupon is None:
        raise NotFound("No such coupon")
    if coupon.get("locked_by") == order_id and coupon["status"] != "used":
        return  # a concurrent lock for the same order got there first
    if coupon["status"] == "used":
        raise InvalidState("This coupon has been used")
    if coupon.get("locked_by"):
        raise Conflict("This coupon is held by another order")
    raise InvalidState(f"This coupon is {status_of(coupon, now)} or not valid yet")


def release_coupon(repo: CouponsRepository, user_id: str, coupon_id: str, order_id: str) -> None:
    """Give back a coupon the order held. Not held (released already): nothing happens. Held by another order:
    409 CONFLICT. Used: 409 INVALID_STATE (a paid order's coupon stays used)."""
    if repo.release(user_id, coupon_id, order_id):
        return
    coupon = repo.user_coupon(user_id, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon")
    if coupon["status"] == "used":
        raise InvalidState("This coupon has been used")
    if coupon.get("locked_by") and coupon["locked_by"] != order_id:
        raise Conflict("This coupon is held by another order")


def mark_used(repo: CouponsRepository, user_id: str, coupon_id: str, order_id: str) -> None:
    """The order holding the coupon was paid: the coupon is used. Again for the same order: nothing happens."""
    if repo.mark_used(user_id, coupon_id, order_id, iso(utcnow())):
        return
    coupon = repo.user_coupon(user_id, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon")
    if coupon["status"] == "used" and coupon.get("locked_by") == order_id:
        return
    if coupon["status"] == "used":
        raise InvalidState("This coupon has been used by another order")
    raise Conflict("This coupon is not held by this order")
