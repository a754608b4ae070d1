"""Coupons through the HTTP API on moto: templates, claiming limits, my coupons, lock and release for orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.tokens import verify_access_token
from chalicelib.clock import iso, utcnow
from chalicelib.coupons import service
from chalicelib.coupons.models import UserCouponModel
from chalicelib.coupons.repository import DynamoCouponsRepository, add_lock, coupon_key
from chalicelib.dynamo import connection
from chalicelib.errors import Conflict, InvalidState, NotFound
from tests.functional.conftest import ShopClient, register_and_login


def template_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "全场满300减30",
        "type": "amount_off",
        "amount_off_fen": 3000,
        "threshold_fen": 30000,
        "valid_from": iso(utcnow() - timedelta(days=1)),
        "valid_to": iso(utcnow() + timedelta(days=30)),
        "per_user_limit": 2,
        "total": 3,
    }
    body.update(overrides)
    return body


def create_template(client: ShopClient, admin_token: str, **overrides: Any) -> dict[str, Any]:
    status, body, _ = client.call("POST", "/admin/coupons", template_body(**overrides), token=admin_token)
    assert status == 201, body
    return dict(body)


def user_id_of(token: str) -> str:
    claims = verify_access_token(token)
    assert claims is not None
    return claims.user_id


def claim(client: ShopClient, token: str, template_id: str) -> tuple[int, Any]:
    status, body, _ = client.call("POST", f"/coupons/{template_id}/claim", token=token)
    return status, body


def my_coupons(client: ShopClient, token: str, status: str | None = None) -> list[dict[str, Any]]:
    path = "/me/coupons" + (f"?status={status}" if status else "")
    code, body, _ = client.call("GET", path, token=token)
    assert code == 200, body
    return list(body["items"])


# -- templates ------------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_template_and_customers_see_it_claimable_with_what_is_left(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    created = create_template(client, admin_token, template_id="full_300_30")

    status, anonymous, _ = client.call("GET", "/coupons")
    assert status == 200
    [listed] = anonymous["items"]
    assert listed["template_id"] == "full_300_30" and listed["remaining"] == 3 and listed["claimed"] is None
    assert {"name", "type", "threshold_fen", "amount_off_fen", "valid_from", "valid_to", "per_user_limit"} <= set(
        listed
    )
    assert created["issued"] == 0
    claim(client, customer_token, "full_300_30")
    mine = client.call("GET", "/coupons", token=customer_token)[1]["items"][0]
    assert (mine["remaining"], mine["claimed"]) == (2, 1)


def test_templates_with_inconsistent_terms_are_refused(client: ShopClient, admin_token: str) -> None:
    for bad in (
        template_body(type="percent_off"),
        template_body(percent_off=10),
        template_body(valid_to=iso(utcnow() - timedelta(days=2))),
        template_body(valid_from=None, valid_to=None),
        template_body(scope="category"),
        template_body(scope_ids=["c_phone"]),
        template_body(total=0),
        template_body(type="percent_off", amount_off_fen=None, percent_off=100),
        template_body(valid_to="2026-13-01"),
        template_body(surprise=True),
    ):
        status, body, _ = client.call("POST", "/admin/coupons", bad, token=admin_token)
        assert (status, body["code"]) == (400, "VALIDATION_ERROR"), bad


def test_a_duplicate_template_id_is_a_conflict(client: ShopClient, admin_token: str) -> None:
    create_template(client, admin_token, template_id="t1")

    status, body, _ = client.call("POST", "/admin/coupons", template_body(template_id="t1"), token=admin_token)

    assert (status, body["code"]) == (409, "CONFLICT")


def test_an_admin_renames_a_template_and_raises_its_total_but_never_below_what_was_issued(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = create_template(client, admin_token, total=2)["template_id"]
    claim(client, customer_token, template_id)
    claim(client, customer_token, template_id)

    status, body, _ = client.call(
        "PUT", f"/admin/coupons/{template_id}", {"name": "新名字", "total": 5}, token=admin_token
    )
    assert status == 200, body
    assert (body["name"], body["total"], body["issued"], body["remaining"]) == ("新名字", 5, 2, 3)
    status, body, _ = client.call("PUT", f"/admin/coupons/{template_id}", {"total": 1}, token=admin_token)
    assert (status, body["code"]) == (409, "CONFLICT")
    status, body, _ = client.call("PUT", f"/admin/coupons/{template_id}", {"amount_off_fen": 1}, token=admin_token)
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    status, body, _ = client.call("PUT", "/admin/coupons/nope", {"name": "x"}, token=admin_token)
    assert (status, body["code"]) == (404, "NOT_FOUND")
    listed = client.call("GET", "/admin/coupons", token=admin_token)[1]["items"]
    assert [(t["template_id"], t["issued"]) for t in listed] == [(template_id, 2)]


def test_closing_the_window_takes_a_template_off_the_claimable_list(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = create_template(client, admin_token)["template_id"]
    now = utcnow()

    status, body, _ = client.call(
        "PUT", f"/admin/coupons/{template_id}",
        {"valid_from": iso(now - timedelta(days=3)), "valid_to": iso(now - timedelta(seconds=1))}, token=admin_token,
    )  # fmt: skip

    assert status == 200, body
    assert client.call("GET", "/coupons")[1]["items"] == []
    status, body = claim(client, customer_token, template_id)
    assert (status, body["code"]) == (409, "INVALID_STATE")


def test_a_template_that_is_not_claimable_is_not_listed_and_claiming_it_is_refused(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    hidden = create_template(client, admin_token, template_id="service_only", claimable=False)
    shown = create_template(client, admin_token, template_id="for_all")

    listed = client.call("GET", "/coupons")[1]["items"]
    status, body = claim(client, customer_token, "service_only")

    assert (hidden["claimable"], shown["claimable"]) == (False, True)
    assert [(t["template_id"], t["claimable"]) for t in listed] == [("for_all", True)]
    assert (status, body["code"]) == (409, "NOT_CLAIMABLE")
    assert my_coupons(client, customer_token) == []


def test_an_admin_turns_claiming_off_and_on(client: ShopClient, admin_token: str, customer_token: str) -> None:
    template_id = create_template(client, admin_token)["template_id"]

    off = client.call("PUT", f"/admin/coupons/{template_id}", {"claimable": False}, token=admin_token)
    refused = claim(client, customer_token, template_id)
    listed_off = client.call("GET", "/coupons")[1]["items"]
    on = client.call("PUT", f"/admin/coupons/{template_id}", {"claimable": True}, token=admin_token)

    assert (off[0], off[1]["claimable"], refused[1]["code"], listed_off) == (200, False, "NOT_CLAIMABLE", [])
    assert (on[0], on[1]["claimable"]) == (200, True)
    assert claim(client, customer_token, template_id)[0] == 201


def test_a_coupon_put_in_the_points_store_can_no_longer_be_claimed_only_exchanged(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    # GIVEN a claimable template
    template_id = create_template(client, admin_token, template_id="points_10")["template_id"]

    # WHEN the admin sells it in the points store
    reward = {"kind": "coupon", "title": "满300减30 优惠券", "points": 500, "coupon_template_id": template_id}
    status, created, _ = client.call("POST", "/admin/points/rewards", reward, token=admin_token)

    # THEN claiming it is refused and it leaves the claimable list; the points store still issues it
    assert status == 201, created
    assert claim(client, customer_token, template_id)[1]["code"] == "NOT_CLAIMABLE"
    assert client.call("GET", "/coupons")[1]["items"] == []
    grant = {"user_id": user_id_of(customer_token), "points": 500, "reason": "test"}
    assert client.call("POST", "/admin/points/grants", grant, token=admin_token)[0] in (200, 201)
    exchanged = client.call("POST", "/points/exchange", {"reward_id": created["reward_id"]}, token=customer_token)
    assert exchanged[0] == 201, exchanged[1]
    assert [c["template_id"] for c in my_coupons(client, customer_token)] == [template_id]


def test_the_migration_makes_templates_stored_before_the_flag_claimable_unless_the_points_store_sells_them(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    # GIVEN two templates stored without the flag, one of them sold by a points reward stored directly
    from chalicelib.points.repository import DynamoPointsRepository
    from infra.migrations import coupon_claimable

    coupons_repo, points_repo = DynamoCouponsRepository(), DynamoPointsRepository()
    now = iso(utcnow())
    for template_id in ("old_sold", "old_free"):
        body = {
            **template_body(),
            "template_id": template_id,
            "issued": 0,
            "created_at": now,
            "updated_at": now,
            "valid_days": None,
            "scope": "all",
            "scope_ids": [],
            "percent_off": None,
            "max_discount_fen": None,
        }
        coupons_repo.create_template(body)  # no "claimable": as stored before the flag existed
    points_repo.create_reward({"reward_id": "rw_old", "kind": "coupon", "title": "积分券", "points": 500,
                               "coupon_template_id": "old_sold", "exchanged": 0, "active": True,
                               "created_at": now, "updated_at": now})  # fmt: skip
    before = {t["template_id"]: t["claimable"] for t in client.call("GET", "/coupons")[1]["items"]}

    # WHEN the migration runs, twice
    first = coupon_claimable.run(coupons_repo, points_repo, now)
    second = coupon_claimable.run(coupons_repo, points_repo, now)

    # THEN the flag missing reads as claimable; the migration turns off only the sold one, and the rerun does nothing
    assert before == {"old_sold": True, "old_free": True}
    assert first["changed"] == {"old_sold": False} and second["changed"] == {}
    assert [t["template_id"] for t in client.call("GET", "/coupons")[1]["items"]] == ["old_free"]
    assert claim(client, customer_token, "old_sold")[1]["code"] == "NOT_CLAIMABLE"


# -- claiming -------------------------------------------------------------------------------------------------------


def test_claims_stop_at_the_per_user_limit_and_at_the_total(client: ShopClient, admin_token: str) -> None:
    template_id = create_template(client, admin_token, per_user_limit=2, total=3)["template_id"]
    alice = register_and_login(client, "alice")
    bob = register_and_login(client, "bob")

    assert claim(client, alice, template_id)[0] == 201
    assert claim(client, alice, template_id)[0] == 201
    over_limit = claim(client, alice, template_id)
    assert claim(client, bob, template_id)[0] == 201
    none_left = claim(client, bob, template_id)

    assert (over_limit[0], over_limit[1]["code"]) == (409, "CONFLICT")
    assert "claimed" in over_limit[1]["message"]
    assert (none_left[0], none_left[1]["code"]) == (409, "CONFLICT")
    assert "left" in none_left[1]["message"]
    assert len(my_coupons(client, alice)) == 2 and len(my_coupons(client, bob)) == 1
    assert client.call("GET", "/coupons")[1]["items"] == []  # sold out: no longer claimable


def test_claiming_an_unknown_template_is_not_found(client: ShopClient, customer_token: str) -> None:
    status, body = claim(client, customer_token, "no_such_template")

    assert (status, body["code"]) == (404, "NOT_FOUND")


def test_a_valid_days_coupon_is_valid_for_that_many_days_from_the_claim(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = create_template(client, admin_token, valid_from=None, valid_to=None, valid_days=7)["template_id"]

    status, body = claim(client, customer_token, template_id)

    assert status == 201, body
    [coupon] = my_coupons(client, customer_token)
    assert coupon["coupon_id"] == body["coupon_id"] and coupon["status"] == "unused"
    days = (utcnow() + timedelta(days=7)).date().isoformat()
    assert coupon["valid_to"].startswith(days)


def test_my_coupons_are_filtered_by_status_and_expired_ones_show_as_expired(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    live = create_template(client, admin_token)["template_id"]
    short = create_template(client, admin_token, valid_from=None, valid_to=None, valid_days=1)["template_id"]
    claim(client, customer_token, live)
    claim(client, customer_token, short)
    user_id = user_id_of(customer_token)
    repo = DynamoCouponsRepository()
    [short_coupon] = [c for c in repo.user_coupons(user_id, None, None)[0] if c["template_id"] == short]
    coupon_key(user_id, short_coupon["coupon_id"]).update(  # a day and more later
        actions=[
            UserCouponModel.valid_from.set(iso(utcnow() - timedelta(days=3))),
            UserCouponModel.valid_to.set(iso(utcnow() - timedelta(days=2))),
        ]
    )

    assert [c["template_id"] for c in my_coupons(client, customer_token, "unused")] == [live]
    assert [c["template_id"] for c in my_coupons(client, customer_token, "expired")] == [short]
    assert my_coupons(client, customer_token, "used") == []
    assert len(my_coupons(client, customer_token)) == 2
    status, body, _ = client.call("GET", "/me/coupons?status=lost", token=customer_token)
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


# -- orders: offers, lock, release, use -----------------------------------------------------------------------------


@pytest.fixture
def held(client: ShopClient, admin_token: str, customer_token: str) -> tuple[str, str]:
    template_id = create_template(client, admin_token, scope="category", scope_ids=["c_phone"])["template_id"]
    coupon_id = claim(client, customer_token, template_id)[1]["coupon_id"]
    return user_id_of(customer_token), coupon_id


def test_usable_offers_are_the_unused_unlocked_coupons_in_their_window(held: tuple[str, str]) -> None:
    user_id, coupon_id = held
    repo = DynamoCouponsRepository()

    [offer] = service.usable_offers(repo, user_id, utcnow())

    assert (offer.coupon_id, offer.type, offer.amount_off_fen, offer.threshold_fen) == (
        coupon_id,
        "amount_off",
        3000,
        30000,
    )
    assert (offer.scope, offer.scope_ids) == ("category", ("c_phone",))
    service.lock_coupon(repo, user_id, coupon_id, "o_1")
    assert service.usable_offers(repo, user_id, utcnow()) == []


def test_locking_is_idempotent_per_order_and_refused_to_another_order(
    client: ShopClient, customer_token: str, held: tuple[str, str]
) -> None:
    user_id, coupon_id = held
    repo = DynamoCouponsRepository()

    service.lock_coupon(repo, user_id, coupon_id, "o_1")
    service.lock_coupon(repo, user_id, coupon_id, "o_1")
    with pytest.raises(Conflict) as another:
        service.lock_coupon(repo, user_id, coupon_id, "o_2")

    assert another.value.code == "CONFLICT"
    [coupon] = my_coupons(client, customer_token, "used")
    assert (coupon["status"], coupon["order_id"]) == ("locked", "o_1")
    assert my_coupons(client, customer_token, "unused") == []


def test_release_is_only_by_the_locking_order_and_twice_is_a_no_op(
    client: ShopClient, customer_token: str, held: tuple[str, str]
) -> None:
    user_id, coupon_id = held
    repo = DynamoCouponsRepository()
    service.lock_coupon(repo, user_id, coupon_id, "o_1")

    with pytest.raises(Conflict):
        service.release_coupon(repo, user_id, coupon_id, "o_2")
    service.release_coupon(repo, user_id, coupon_id, "o_1")
    service.release_coupon(repo, user_id, coupon_id, "o_1")

    [coupon] = my_coupons(client, customer_token, "unused")
    assert coupon["order_id"] is None
    service.lock_coupon(repo, user_id, coupon_id, "o_2")  # free again for another order


def test_a_paid_orders_coupon_is_used_and_stays_used(
    client: ShopClient, customer_token: str, held: tuple[str, str]
) -> None:
    user_id, coupon_id = held
    repo = DynamoCouponsRepository()
    service.lock_coupon(repo, user_id, coupon_id, "o_1")

    service.mark_used(repo, user_id, coupon_id, "o_1")
    service.mark_used(repo, user_id, coupon_id, "o_1")

    with pytest.raises(InvalidState):
        service.release_coupon(repo, user_id, coupon_id, "o_1")
    with pytest.raises(InvalidState):
        service.lock_coupon(repo, user_id, coupon_id, "o_2")
    [coupon] = my_coupons(client, customer_token, "used")
    assert (coupon["status"], coupon["order_id"]) == ("used", "o_1") and coupon["used_at"]


def test_another_users_coupon_cannot_be_locked(client: ShopClient, held: tuple[str, str]) -> None:
    _, coupon_id = held
    intruder = user_id_of(register_and_login(client, "intruder"))

    with pytest.raises(NotFound):
        service.lock_coupon(DynamoCouponsRepository(), intruder, coupon_id, "o_1")


def test_an_orders_transaction_locks_the_coupon_once(held: tuple[str, str]) -> None:
    user_id, coupon_id = held
    with TransactWrite(connection=connection()) as transaction:
        add_lock(transaction, user_id, coupon_id, "o_1")

    with pytest.raises(TransactWriteError), TransactWrite(connection=connection()) as transaction:
        add_lock(transaction, user_id, coupon_id, "o_2")
    coupon = DynamoCouponsRepository().user_coupon(user_id, coupon_id)
    assert coupon is not None and coupon["locked_by"] == "o_1"


def test_another_users_coupons_never_show_in_my_list(client: ShopClient, admin_token: str) -> None:
    template_id = create_template(client, admin_token)["template_id"]
    victim = register_and_login(client, "victim")
    intruder = register_and_login(client, "intruder")
    claim(client, victim, template_id)

    assert my_coupons(client, intruder) == []
    assert len(my_coupons(client, victim)) == 1
