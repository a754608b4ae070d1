"""Audience segments: age bands, the widening of a segment, its lists and a cold shopper's picks."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.recommend.behaviour import Interaction
from chalicelib.recommend.segments import AudienceProfile, age_band, compose, segment_keys, segment_lists

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("birthday", "band"),
    [
        ("2009-12-07", "<18"), ("2008-12-06", "18-24"), ("2002-01-01", "18-24"), ("2001-12-06", "25-34"),
        ("1990-06-01", "35-44"), ("1967-01-01", "45-59"), ("1966-12-06", "60+"), (None, "unknown"), ("bad", "unknown"),
    ],
)  # fmt: skip
def test_an_age_band_counts_whole_years_on_the_shoppers_birthday(birthday: str | None, band: str) -> None:
    assert age_band(birthday, TODAY) == band


def test_a_segment_widens_by_first_interest_then_occupation_then_gender() -> None:
    profile = AudienceProfile("1995-05-01", "female", "office_worker", ("c_phone", "c_tv"))

    assert segment_keys(profile, TODAY) == [
        "25-34|female|office_worker|c_phone", "25-34|female|office_worker|*", "25-34|female|*|*", "25-34|*|*|*",
    ]  # fmt: skip
    assert segment_keys(AudienceProfile(), TODAY)[0] == "unknown|unknown|unknown|none"


def test_a_segment_gets_a_list_once_three_of_its_users_have_behaviour() -> None:
    students = {f"s{n}": AudienceProfile("2005-01-01", "male", "student", ("c_game",)) for n in range(3)}
    profiles = students | {"w1": AudienceProfile("2005-01-01", "male", "office_worker", ("c_game",))}
    behaviour = [Interaction(user, "p_console", "cart_add", 0.0) for user in ("s0", "s1", "s2")]
    behaviour += [Interaction("s0", "p_pad", "view", 0.0), Interaction("w1", "p_pad", "order", 0.0)]
    behaviour += [Interaction("s1", "p_console", "cart_add", 1.0)]  # the same user, product and kind counts once

    lists = segment_lists(behaviour, profiles, {"p_console", "p_pad"}, TODAY)

    assert lists["18-24|male|student|c_game"] == ["p_console", "p_pad"]
    assert "18-24|male|office_worker|c_game" not in lists  # one user: widened
    assert lists["18-24|male|*|*"] == ["p_console", "p_pad"]  # 4 users; the order outweighs one view


def test_a_cold_shoppers_picks_put_their_interests_first_then_best_sellers_then_hot_never_the_excluded() -> None:
    picks = compose(["p1", "p2", "p3"], {"p3"}, [["p4", "p1"]], ["p5", "p2", "p6"], exclude={"p6"})

    assert picks == ["p3", "p1", "p2", "p4", "p5"]
