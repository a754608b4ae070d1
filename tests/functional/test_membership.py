"""Members club: levels by growth, the daily check-in (points and growth, once per Asia/Shanghai day), staff edits of
the level table re-level everyone."""

from __future__ import annotations

from chalicelib.membership.repository import DynamoMembershipRepository
from chalicelib.membership.service import add_growth
from tests.functional.conftest import ShopClient
from tests.functional.test_reviews import user_id_of

LEVELS = [
    {"level": 1, "name": "青铜", "min_growth": 0, "discount_percent": 100, "benefits": []},
    {"level": 2, "name": "白银", "min_growth": 5, "discount_percent": 95, "benefits": ["95 折"]},
]


def test_a_new_member_is_level_one_with_the_way_to_the_next_level(client: ShopClient, customer_token: str) -> None:
    table = client.call("GET", "/membership/levels")[1]
    mine = client.call("GET", "/me/membership", token=customer_token)[1]

    assert [level["level"] for level in table["items"]] == [1, 2, 3, 4] and table["items"][0]["min_growth"] == 0
    assert set(table["rules"]) == {"growth_per_yuan", "growth_per_review", "checkin_points", "checkin_growth"}
    assert (mine["level"], mine["growth"], mine["next_level"]["level"]) == (1, 0, 2)
    assert mine["growth_to_next"] == table["items"][1]["min_growth"]
    assert client.call("GET", "/me/membership")[0] == 401


def test_a_check_in_gives_points_and_growth_once_a_day(client: ShopClient, customer_token: str) -> None:
    rules = client.call("GET", "/membership/levels")[1]["rules"]

    before = client.call("GET", "/me/membership", token=customer_token)[1]
    status, checked, _ = client.call("POST", "/me/checkins", token=customer_token)
    after = client.call("GET", "/me/membership", token=customer_token)[1]
    again, refused, _ = client.call("POST", "/me/checkins", token=customer_token)

    assert status == 201 and (checked["points"], checked["growth"], checked["streak"]) == (
        rules["checkin_points"], rules["checkin_growth"], 1,
    )  # fmt: skip
    assert len(checked["date"]) == 10
    assert (again, refused["code"]) == (409, "ALREADY_CHECKED_IN")
    # the membership tells whether today's check-in is done (a client can show it before the tap)
    assert (before["checked_in_today"], before["checkin_streak"]) == (False, 0)
    assert (after["checked_in_today"], after["checkin_streak"]) == (True, 1)
    points = client.call("GET", "/me/points", token=customer_token)[1]
    assert points["balance"] == rules["checkin_points"]
    assert [entry["reason"] for entry in points["items"]] == ["checkin"]
    growth = client.call("GET", "/me/membership/growth", token=customer_token)[1]["items"]
    assert [(entry["delta"], entry["reason"]) for entry in growth] == [(rules["checkin_growth"], "checkin")]
    assert client.call("GET", "/me/membership", token=customer_token)[1]["growth"] == rules["checkin_growth"]


def test_staff_edits_of_the_levels_re_level_everyone_and_bad_tables_are_refused(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    repo = DynamoMembershipRepository()
    user_id = user_id_of(client, customer_token)
    assert add_growth(repo, user_id, 6, "review", "rv_1")
    assert not add_growth(repo, user_id, 6, "review", "rv_1")  # each source counted once
    assert add_growth(repo, user_id, -100, "refund", "rf_1")  # never below 0
    assert client.call("GET", "/me/membership", token=customer_token)[1]["growth"] == 0
    assert add_growth(repo, user_id, 6, "review", "rv_2")

    status, table, _ = client.call("PUT", "/admin/membership/levels", {"items": LEVELS}, token=admin_token)

    assert (status, [level["name"] for level in table["items"]]) == (200, ["青铜", "白银"])
    mine = client.call("GET", "/me/membership", token=customer_token)[1]
    assert (mine["level"], mine["name"], mine["discount_percent"], mine["next_level"]) == (2, "白银", 95, None)
    for items in (
        [{**LEVELS[0], "min_growth": 1}],
        [LEVELS[1], LEVELS[0]],
        [LEVELS[0], {**LEVELS[1], "min_growth": 0}],
    ):
        status, answer, _ = client.call("PUT", "/admin/membership/levels", {"items": items}, token=admin_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR")


def test_a_published_review_earns_growth_once_and_a_held_one_when_approved(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    from tests.functional.catalog_data import create_catalog, create_product
    from tests.functional.conftest import hand_over
    from tests.functional.test_reviews import FakeReceivedLines

    create_catalog(client, admin_token)
    product_id = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    per_review = client.call("GET", "/membership/levels")[1]["rules"]["growth_per_review"]
    lines = FakeReceivedLines()
    user_id = user_id_of(client, customer_token)
    lines.add(user_id, "o_1", f"{product_id}-01")
    lines.add(user_id, "o_1", f"{product_id}-02")
    restore = hand_over("received_lines", lines)
    try:
        body = {"items": [
            {"sku_id": f"{product_id}-01", "rating": 5, "content": "很好"},
            {"sku_id": f"{product_id}-02", "rating": 1, "content": "楼凤"},
        ]}  # fmt: skip
        created = client.call("POST", "/orders/o_1/reviews", body, token=customer_token)[1]["items"]
    finally:
        restore()
    assert client.call("GET", "/me/membership", token=customer_token)[1]["growth"] == per_review

    client.call("POST", f"/admin/reviews/{created[1]['review_id']}/approve", token=admin_token)

    growth = client.call("GET", "/me/membership/growth", token=customer_token)[1]["items"]
    assert sorted((entry["reason"], entry["ref"]) for entry in growth) == sorted(
        [("review", created[0]["review_id"]), ("review", created[1]["review_id"])]
    )
    assert client.call("GET", "/me/membership", token=customer_token)[1]["growth"] == 2 * per_review
