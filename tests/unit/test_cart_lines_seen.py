"""What a container remembers of users' carts to order an add's writes: what it saw, for a while, per user."""

from __future__ import annotations

from chalicelib.cart.lines_seen import LinesSeen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_cart_read_whole_is_known_to_lack_every_sku_it_does_not_list() -> None:
    seen = LinesSeen(60, clock=Clock())
    seen.saw_cart("u_1", ["p_1-01"])

    assert seen.has_no_line("u_1", "p_2-01") and not seen.has_no_line("u_1", "p_1-01")
    assert not seen.has_no_line("u_2", "p_2-01")  # never seen: no guess


def test_writes_keep_what_was_seen_up_to_date() -> None:
    seen = LinesSeen(60, clock=Clock())
    seen.saw_cart("u_1", [])
    seen.saw("u_1", "p_1-01", True)  # a line added
    assert not seen.has_no_line("u_1", "p_1-01")

    seen.saw("u_1", "p_1-01", False)  # and removed
    assert seen.has_no_line("u_1", "p_1-01")


def test_one_write_tells_only_of_its_own_sku() -> None:
    # GIVEN a user whose cart was never read whole, one of whose lines was removed here
    seen = LinesSeen(60, clock=Clock())
    seen.saw("u_1", "p_1-01", False)

    # THEN that SKU is known to be missing, any other is not guessed at
    assert seen.has_no_line("u_1", "p_1-01") and not seen.has_no_line("u_1", "p_2-01")


def test_what_was_seen_is_forgotten_after_its_time_or_when_a_write_finds_it_wrong() -> None:
    clock = Clock()
    seen = LinesSeen(60, clock=clock)
    seen.saw_cart("u_1", [])
    seen.saw_cart("u_2", [])

    seen.forget("u_2")
    clock.now += 60

    assert not seen.has_no_line("u_1", "p_1-01") and not seen.has_no_line("u_2", "p_1-01")


def test_the_least_recently_seen_user_leaves_first_past_the_bound() -> None:
    seen = LinesSeen(60, size=2, clock=Clock())
    for user_id in ("u_1", "u_2", "u_3"):
        seen.saw_cart(user_id, [])

    assert [seen.has_no_line(user_id, "p_1-01") for user_id in ("u_1", "u_2", "u_3")] == [False, True, True]
