"""Coupon rules on an in-memory repository: claim limits under racing claims, validity, status, lock and release."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.coupons import service
from chalicelib.coupons.domain import ClaimLimitReached, NoneLeft, NotClaimable, status_of
from chalicelib.coupons.schemas import MyCouponsQuery, TemplateUpdate, TemplateWrite
from chalicelib.errors import Conflict, InvalidState, NotFound
from chalicelib.pagination import PageQuery
from tests.unit.test_coupons_fakes import FakeCouponsRepository


def write(**overrides: Any) -> TemplateWrite:
    now = utcnow()
    data: dict[str, Any] = {
        "name": "新人券 满99减10", "type": "amount_off", "amount_off_fen": 1000, "threshold_fen": 9900,
        "valid_from": iso(now - timedelta(days=1)), "valid_to": iso(now + timedelta(days=30)),
        "per_user_limit": 2, "total": 10,
    }  # fmt: skip
    data.update(overrides)
    return TemplateWrite.model_validate(data)


@pytest.fixture
def repo() -> FakeCouponsRepository:
    return FakeCouponsRepository()


class StaleReadsRepository(FakeCouponsRepository):
    """Every read of a template shows it as it was first read: claims race past the service's own checks."""

    def __init__(self) -> None:
        super().__init__()
        self.first_seen: dict[str, dict[str, Any]] = {}

    def template(self, template_id: str) -> dict[str, Any] | None:
        seen = self.first_seen.setdefault(template_id, super().template(template_id) or {})
        return dict(seen) or None


def test_racing_claims_never_pass_the_total_nor_anyones_per_user_limit() -> None:
    repo = StaleReadsRepository()
    template_id = service.create_template(repo, write(total=10, per_user_limit=2))["template_id"]
    users = [f"u_{n}" for n in range(12)]

    def claim(user_id: str) -> str:
        try:
            service.claim(repo, user_id, template_id)
        except (NoneLeft, ClaimLimitReached) as error:
            return error.code
        return "claimed"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(claim, [user for user in users for _ in range(3)]))

    assert outcomes.count("claimed") == 10
    assert repo.template_items[template_id]["issued"] == 10
    assert max(len(repo.coupon_items.get(user, {})) for user in users) <= 2


def test_the_claimable_list_shows_what_is_left_and_drops_sold_out_and_closed_templates(
    repo: FakeCouponsRepository,
) -> None:
    now = utcnow()
    open_id = service.create_template(repo, write(template_id="open", total=3))["template_id"]
    service.create_template(repo, write(template_id="sold", total=1, per_user_limit=1))
    service.claim(repo, "u_1", "sold")
    service.create_template(repo, write(template_id="over", valid_from=iso(now - timedelta(days=9)),
                                        valid_to=iso(now - timedelta(days=1))))  # fmt: skip
    service.create_template(repo, write(template_id="later", valid_from=iso(now + timedelta(days=1)),
                                        valid_to=None, valid_days=7))  # fmt: skip
    service.claim(repo, "u_1", open_id)

    listed = service.list_claimable(repo, "u_1", PageQuery())["items"]

    assert [(t["template_id"], t["remaining"], t["claimed"]) for t in listed] == [("open", 2, 1)]


def test_a_claim_outside_the_window_is_refused_and_unknown_templates_are_not_found(
    repo: FakeCouponsRepository,
) -> None:
    now = utcnow()
    service.create_template(repo, write(template_id="over", valid_from=iso(now - timedelta(days=9)),
                                        valid_to=iso(now - timedelta(days=1))))  # fmt: skip

    with pytest.raises(NotClaimable):
        service.claim(repo, "u_1", "over")
    with pytest.raises(NotFound):
        service.claim(repo, "u_1", "nope")


def test_percent_off_coupons_become_offers_with_their_cap_and_scope(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write(
        type="percent_off", amount_off_fen=None, percent_off=5, max_discount_fen=10000, threshold_fen=0,
        scope="category", scope_ids=["c_phone"],
    ))["template_id"]  # fmt: skip
    service.claim(repo, "u_1", template_id)

    [offer] = service.usable_offers(repo, "u_1", utcnow())

    assert (offer.type, offer.percent_off, offer.max_discount_fen, offer.amount_off_fen) == (
        "percent_off",
        5,
        10000,
        None,
    )
    assert (offer.scope, offer.scope_ids, offer.template_id) == ("category", ("c_phone",), template_id)


def test_a_coupon_keeps_its_terms_and_window_when_the_template_changes_later(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write())["template_id"]
    claimed = service.claim(repo, "u_1", template_id)

    service.update_template(repo, template_id, TemplateUpdate(name="改名", valid_to=utcnow() + timedelta(days=90)))

    [coupon] = service.list_my_coupons(repo, "u_1", MyCouponsQuery())["items"]
    assert (coupon["name"], coupon["valid_to"]) == ("新人券 满99减10", claimed["valid_to"])


def test_the_total_can_be_raised_but_never_below_what_was_issued(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write(total=2, per_user_limit=2))["template_id"]
    service.claim(repo, "u_1", template_id)
    service.claim(repo, "u_1", template_id)

    with pytest.raises(NoneLeft):
        service.claim(repo, "u_2", template_id)
    with pytest.raises(Conflict):
        service.update_template(repo, template_id, TemplateUpdate(total=1))
    assert service.update_template(repo, template_id, TemplateUpdate(total=3))["remaining"] == 1
    service.claim(repo, "u_2", template_id)


def test_valid_days_can_change_only_on_a_template_valid_for_days(repo: FakeCouponsRepository) -> None:
    fixed = service.create_template(repo, write())["template_id"]

    with pytest.raises(InvalidState):
        service.update_template(repo, fixed, TemplateUpdate(valid_days=3))


def test_status_is_used_then_locked_then_expired_then_unused() -> None:
    now = utcnow()
    coupon = {"status": "unused", "locked_by": None, "valid_from": iso(now - timedelta(days=2)),
              "valid_to": iso(now - timedelta(days=1))}  # fmt: skip

    assert status_of(coupon, now) == "expired"
    assert status_of({**coupon, "locked_by": "o_1"}, now) == "locked"
    assert status_of({**coupon, "locked_by": "o_1", "status": "used"}, now) == "used"
    assert status_of({**coupon, "valid_to": iso(now + timedelta(days=1))}, now) == "unused"


def test_expired_and_not_yet_valid_coupons_are_not_offered_nor_lockable(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write())["template_id"]
    coupon_id = service.claim(repo, "u_1", template_id)["coupon_id"]
    repo.coupon_items["u_1"][coupon_id]["valid_to"] = iso(utcnow() - timedelta(seconds=1))

    assert service.usable_offers(repo, "u_1", utcnow()) == []
    with pytest.raises(InvalidState):
        service.lock_coupon(repo, "u_1", coupon_id, "o_1")
    assert [c["status"] for c in service.list_my_coupons(repo, "u_1", MyCouponsQuery(status="expired"))["items"]] == [
        "expired"
    ]


def test_lock_release_and_use_are_idempotent_per_order(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write())["template_id"]
    coupon_id = service.claim(repo, "u_1", template_id)["coupon_id"]

    service.lock_coupon(repo, "u_1", coupon_id, "o_1")
    service.lock_coupon(repo, "u_1", coupon_id, "o_1")
    with pytest.raises(Conflict):
        service.lock_coupon(repo, "u_1", coupon_id, "o_2")
    with pytest.raises(Conflict):
        service.release_coupon(repo, "u_1", coupon_id, "o_2")
    service.release_coupon(repo, "u_1", coupon_id, "o_1")
    service.release_coupon(repo, "u_1", coupon_id, "o_1")
    service.lock_coupon(repo, "u_1", coupon_id, "o_2")
    service.mark_used(repo, "u_1", coupon_id, "o_2")
    service.mark_used(repo, "u_1", coupon_id, "o_2")

    with pytest.raises(InvalidState):
        service.mark_used(repo, "u_1", coupon_id, "o_3")
    with pytest.raises(InvalidState):
        service.release_coupon(repo, "u_1", coupon_id, "o_2")
    assert [c["status"] for c in service.list_my_coupons(repo, "u_1", MyCouponsQuery(status="used"))["items"]] == [
        "used"
    ]
    with pytest.raises(NotFound):
        service.lock_coupon(repo, "u_2", coupon_id, "o_9")


def test_a_coupon_named_for_an_order_must_be_the_users_and_usable(repo: FakeCouponsRepository) -> None:
    template_id = service.create_template(repo, write())["template_id"]
    coupon_id = service.claim(repo, "u_1", template_id)["coupon_id"]

    assert service.usable_offer(repo, "u_1", coupon_id).coupon_id == coupon_id
    with pytest.raises(NotFound):
        service.usable_offer(repo, "u_2", coupon_id)
    service.lock_coupon(repo, "u_1", coupon_id, "o_1")
    with pytest.raises(InvalidState):
        service.usable_offer(repo, "u_1", coupon_id)
