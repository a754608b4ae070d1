"""Audience recommendations (根据人群定位推荐): occupation and interests on the profile, segment lists from the
refresh, where for_you and search recommendations come from, and the refresh staff run on demand."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.analytics import emitter
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_recommendations import consume_behaviour, ids, moment, run_refresh, shop, user_id_of
from tests.functional.test_search import deliver

__all__ = ["shop"]  # the fixture, shared with test_recommendations
OFFICE_WOMAN = {"gender": "female", "birthday": "1995-05-01", "occupation": "office_worker", "interests": ["c_phone"]}


def profiled(client: ShopClient, username: str, profile: dict[str, Any]) -> str:
    token = register_and_login(client, username)
    status, body, _ = client.call("PATCH", "/me", profile, token=token)
    assert status == 200, body
    return token


def test_occupation_and_interests_are_part_of_my_profile(client: ShopClient, admin_token: str) -> None:
    from tests.functional.catalog_data import create_catalog

    create_catalog(client, admin_token)
    token = register_and_login(client, "xiaohong")

    status, me, _ = client.call("PATCH", "/me", {"occupation": "student", "interests": ["c_digital"]}, token=token)

    assert status == 200, me
    assert (me["occupation"], me["interests"]) == ("student", ["c_digital"])
    cleared = client.call("PATCH", "/me", {"occupation": None, "interests": []}, token=token)[1]
    assert (cleared["occupation"], cleared["interests"]) == (None, [])


@pytest.mark.parametrize(
    "body",
    [
        {"interests": ["c_nowhere"]},
        {"interests": [f"c_{n}" for n in range(11)]},
        {"interests": ["c_phone", "c_phone"]},
        {"occupation": "astronaut"},
        {"interests": "c_phone"},
    ],
)
def test_unknown_interests_or_occupations_are_refused(client: ShopClient, admin_token: str, body: Any) -> None:
    from tests.functional.catalog_data import create_catalog

    create_catalog(client, admin_token)
    token = register_and_login(client, "xiaolan")

    status, answer, _ = client.call("PATCH", "/me", body, token=token)

    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")


def test_a_cold_shopper_gets_their_segments_picks_and_a_shopper_with_behaviour_their_own(
    client: ShopClient, shop: dict[str, str]
) -> None:
    # GIVEN three office women in their twenties who like phones, who all viewed and carted phone_b and the buds
    tokens = [profiled(client, f"ow_{n}", OFFICE_WOMAN) for n in range(3)]
    users = [user_id_of(client, token) for token in tokens]
    events = []
    for n, user in enumerate(users):
        events.append(emitter.product_viewed(shop["phone_b"], user, moment(20 - n), view_id=f"{user}-b"))
        events.append(emitter.cart_item_added(user, shop["phone_b"], f"{shop['phone_b']}-01", 1, moment(19 - n)))
        events.append(emitter.product_viewed(shop["buds"], user, moment(18 - n), view_id=f"{user}-buds"))
    # AND a crowd who made phone_a the shop's hottest
    crowd = [user_id_of(client, register_and_login(client, f"crowd_{n}")) for n in range(4)]
    for n, user in enumerate(crowd):
        events.append(emitter.cart_item_added(user, shop["phone_a"], f"{shop['phone_a']}-01", 1, moment(10 - n)))
        events.append(emitter.favorite_added(user, shop["phone_a"], moment(9 - n)))
    consume_behaviour(client, *events)
    assert run_refresh(client)["segment_lists"] >= 4

    # WHEN a new office woman with no behaviour, and a new retired man, open the home page
    newcomer = profiled(client, "ow_new", OFFICE_WOMAN)
    stranger = profiled(client, "retired", {"gender": "male", "birthday": "1950-01-01", "occupation": "retired"})
    mine = client.call("GET", "/recommendations/home", token=newcomer)[1]
    theirs = client.call("GET", "/recommendations/home", token=stranger)[1]
    veteran = client.call("GET", "/recommendations/home", token=tokens[0])[1]

    # THEN hers come from her segment, phones (her interest) first; his from the hot list; a veteran's are her own
    assert mine["for_you_source"] == "segment"
    assert ids(mine["for_you"])[0] == shop["phone_b"]
    assert ids(mine["for_you"]).index(shop["phone_b"]) < ids(mine["for_you"]).index(shop["buds"])
    assert theirs["for_you_source"] == "hot"
    assert ids(theirs["for_you"])[0] == shop["phone_a"]
    assert veteran["for_you_source"] == "behaviour"
    assert all("category_id" in card for card in mine["for_you"])


def test_search_recommendations_come_from_the_segment_and_never_repeat_the_page(
    client: ShopClient, shop: dict[str, str]
) -> None:
    users = [user_id_of(client, profiled(client, f"ow_{n}", OFFICE_WOMAN)) for n in range(3)]
    consume_behaviour(
        client, *[emitter.product_viewed(shop["buds"], user, moment(5), view_id=f"{user}-s") for user in users]
    )
    run_refresh(client)
    newcomer = profiled(client, "ow_new", OFFICE_WOMAN)
    deliver(client, "shop-local-search-reindex", "reindex_search_on_catalog_change")

    status, found, _ = client.call("GET", "/search?q=小米", token=newcomer)

    assert status == 200, found
    assert found["recommendations_source"] in ("segment", "hot")
    shown = set(ids(found["items"]))
    assert not shown & set(ids(found["recommendations"]))


def test_staff_refresh_recommendations_now_and_poll_the_run(
    client: ShopClient, admin_token: str, shop: dict[str, str]
) -> None:
    # WHEN an admin asks for a refresh
    status, run, _ = client.call("POST", "/admin/recommendations/refresh", token=admin_token)

    # THEN it is running until the queue's consumer has refreshed, then succeeded
    assert (status, run["status"]) == (202, "RUNNING")
    polled = client.call("GET", f"/admin/recommendations/refresh/{run['run_id']}", token=admin_token)[1]
    assert (polled["status"], polled["finished_at"]) == ("RUNNING", None)
    deliver(client, "shop-local-recommend-refresh", "run_recommendation_refresh")
    polled = client.call("GET", f"/admin/recommendations/refresh/{run['run_id']}", token=admin_token)[1]
    assert polled["status"] == "SUCCEEDED" and polled["finished_at"] >= polled["started_at"]
    home = client.call("GET", "/recommendations/home")[1]
    assert home["generated_at"] is not None
    assert client.call("GET", "/admin/recommendations/refresh/rr_unknown", token=admin_token)[0] == 404
