"""The short cache of token checks on routes where signing in is optional (the cart's)."""

from __future__ import annotations

from chalicelib.auth import PrincipalCache
from chalicelib.principal import Principal

ALICE = Principal(user_id="u_alice", username="alice", roles=frozenset())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Accounts:
    """The token check: alice's token is valid while her account is active; counts the account reads."""

    def __init__(self) -> None:
        self.active, self.reads = True, 0

    def check(self, token: str) -> Principal | None:
        self.reads += 1
        return ALICE if token == "alice-token" and self.active else None


def test_a_disabled_account_is_refused_once_its_cache_entry_expires() -> None:
    # GIVEN alice's token checked once (cached 5 s)
    clock, accounts = Clock(), Accounts()
    cache = PrincipalCache(ttl_seconds=5.0, max_entries=10, clock=clock)
    assert cache.get("alice-token", accounts.check) == ALICE

    # WHEN her account is disabled, and the entry is still fresh
    accounts.active = False
    clock.now += 4.9
    within = cache.get("alice-token", accounts.check)

    # THEN she is answered from the cache without a read until it expires, and refused from then on
    assert (within, accounts.reads) == (ALICE, 1)
    clock.now += 0.2
    assert cache.get("alice-token", accounts.check) is None
    assert cache.get("alice-token", accounts.check) is None
    assert accounts.reads == 3  # a refused token is never cached: checked every time


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    # GIVEN a cache of two entries holding tokens a and b, a used last
    clock = Clock()
    cache = PrincipalCache(ttl_seconds=5.0, max_entries=2, clock=clock)
    checked: list[str] = []

    def check(token: str) -> Principal:
        checked.append(token)
        return Principal(user_id=token, username=token, roles=frozenset())

    cache.get("a", check)
    cache.get("b", check)
    cache.get("a", check)

    # WHEN a third token is checked
    cache.get("c", check)

    # THEN the cache holds two, b left (checked again), a still cached
    assert len(cache) == 2
    cache.get("a", check)
    cache.get("b", check)
    assert checked == ["a", "b", "c", "b"]
