"""Third-party sign-in rules with in-memory fakes: states are single use, bound to provider, purpose and account."""

from __future__ import annotations

import pytest

from chalicelib.accounts import service as accounts_service
from chalicelib.accounts.oauth import service
from chalicelib.accounts.oauth.config import OAuthSettings, ProviderConfig
from chalicelib.accounts.oauth.providers import OAuthProvider, ProviderDirectory, ProviderIdentity, ProviderTransport
from chalicelib.accounts.oauth.repository import OAuthState, OAuthStateRepository
from chalicelib.errors import Conflict, NotFound, Unauthorized, ValidationError
from tests.unit.fakes import FakeAccountsRepository

REDIRECT = "http://localhost:3000/cb"


class FakeOAuthStateRepository(OAuthStateRepository):
    def __init__(self) -> None:
        self.items: dict[str, OAuthState] = {}

    def save_state(self, state: OAuthState) -> None:
        self.items[state.state] = state

    def take_state(self, state: str, key_hash: str | None = None) -> OAuthState | None:
        issued = self.items.get(state)
        if issued is None or (key_hash is not None and issued.key_hash != key_hash):
            return None
        return self.items.pop(state)

    def state_exists(self, state: str) -> bool:
        return state in self.items


class FakeProvider(OAuthProvider):
    """Every code 'login:<who>' is that person; anything else the provider calls invalid."""

    name, display_name = "weibo", "Weibo"

    def authorize_url(self, state: str, redirect_uri: str, client: str) -> str:
        return f"https://provider.example/authorize?state={state}&client={client}"

    def identity(self, code: str, redirect_uri: str, client: str) -> ProviderIdentity:
        assert redirect_uri == REDIRECT  # the exchange names the redirect URI the code was issued for
        who = code.removeprefix("login:")
        if who == code:
            raise ValidationError("invalid code")
        return ProviderIdentity("weibo", f"uid-{who}", nickname=who)


class FakeDirectory(ProviderDirectory):
    def get(self, name: str) -> OAuthProvider:
        if name not in ("weibo", "qq"):
            raise NotFound()
        config = ProviderConfig(name, "id", "secret", "https://a", "https://b", "id", "secret")
        return FakeProvider(config, self.transport)


SETTINGS = OAuthSettings.from_env({"SHOP_STAGE": "local"})


@pytest.fixture
def world() -> tuple[FakeAccountsRepository, FakeOAuthStateRepository, FakeDirectory]:
    return FakeAccountsRepository(), FakeOAuthStateRepository(), FakeDirectory(SETTINGS, ProviderTransport())


def begin(world, provider: str = "weibo", purpose: str = "login", user_id: str | None = None) -> tuple[str, str]:
    """(state, state_key): what /authorize hands the client that starts the flow."""
    _, states, directory = world
    started = service.begin_authorization(states, SETTINGS, directory, provider, REDIRECT, "pc", purpose, user_id)
    return started["state"], started["state_key"]


def start(world, provider: str = "weibo", purpose: str = "login", user_id: str | None = None) -> str:
    return begin(world, provider, purpose, user_id)[0]


def sign_in(world, code: str, started: tuple[str, str], provider: str = "weibo") -> dict:
    repo, states, directory = world
    state, state_key = started
    return service.sign_in_with_provider(repo, states, directory, provider, code, state, state_key)


def test_the_first_sign_in_creates_an_account_and_the_next_finds_it(world) -> None:
    repo, _, _ = world

    first = sign_in(world, "login:zhang", begin(world))
    again = sign_in(world, "login:zhang", begin(world))

    assert (first["is_new_user"], again["is_new_user"]) == (True, False)
    assert first["user"]["user_id"] == again["user"]["user_id"]
    assert repo.find_user_id("weibo", "uid-zhang") == first["user"]["user_id"]


def test_a_state_is_used_up_even_when_the_code_is_refused(world) -> None:
    started = begin(world)

    with pytest.raises(ValidationError):
        sign_in(world, "bad-code", started)
    with pytest.raises(ValidationError, match="already used"):
        sign_in(world, "login:zhang", started)


def test_an_expired_state_is_refused(world) -> None:
    _, states, _ = world
    started = begin(world)
    issued = states.items[started[0]]
    states.items[started[0]] = OAuthState(
        **{**issued.__dict__, "expires_at": issued.expires_at - SETTINGS.state_ttl_seconds}
    )

    with pytest.raises(ValidationError, match="expired"):
        sign_in(world, "login:zhang", started)


def test_a_state_of_another_provider_is_refused(world) -> None:
    with pytest.raises(ValidationError, match="issued for qq"):
        sign_in(world, "login:zhang", begin(world, "qq"))


def test_an_unknown_provider_is_not_found_before_any_state_is_touched(world) -> None:
    _, states, _ = world
    started = begin(world)

    with pytest.raises(NotFound):
        sign_in(world, "login:zhang", started, provider="github")
    assert started[0] in states.items


def test_a_bind_state_needs_a_signed_in_user_and_binds_only_for_that_user(world) -> None:
    repo, states, directory = world
    owner = service_user(repo, "alice")

    with pytest.raises(Unauthorized):
        start(world, purpose="bind")
    with pytest.raises(ValidationError, match="another account"):
        service.bind_provider(
            repo, states, directory, "u-other", "weibo", "login:a", start(world, purpose="bind", user_id=owner)
        )
    bindings = service.bind_provider(
        repo, states, directory, owner, "weibo", "login:a", start(world, purpose="bind", user_id=owner)
    )
    assert bindings["providers"]["weibo"]["bound"] is True


def test_binding_an_identity_that_another_account_signs_in_with_is_a_conflict(world) -> None:
    repo, states, directory = world
    sign_in(world, "login:shared", begin(world))
    owner = service_user(repo, "bob")

    with pytest.raises(Conflict):
        service.bind_provider(
            repo, states, directory, owner, "weibo", "login:shared", start(world, purpose="bind", user_id=owner)
        )


def test_a_redirect_uri_off_the_allow_list_gets_no_state(world) -> None:
    _, states, directory = world

    with pytest.raises(ValidationError, match="allow-list"):
        service.begin_authorization(states, SETTINGS, directory, "weibo", "https://evil.example/cb")
    assert states.items == {}


def service_user(repo: FakeAccountsRepository, username: str) -> str:
    return accounts_service.register(repo, username, "correct horse 1").user_id


def test_a_state_works_only_with_the_key_of_the_client_that_started_the_flow(world) -> None:
    """GIVEN a sign-in started by a victim's browser WHEN an attacker brings the victim's state (with a code of the
    attacker's own, or a leaked one) without the state_key, or with the key of a flow the attacker started THEN 401,
    and the victim's state still works with its own key."""
    _, states, _ = world
    victims, attackers = begin(world), begin(world)

    with pytest.raises(Unauthorized, match="missing"):
        sign_in(world, "login:mallory", (victims[0], ""))
    with pytest.raises(Unauthorized, match="another client"):
        sign_in(world, "login:mallory", (victims[0], attackers[1]))

    assert victims[0] in states.items
    assert sign_in(world, "login:victim", victims)["user"]["username"].startswith("weibo_")


def test_the_server_keeps_only_a_hash_of_the_state_key(world) -> None:
    _, states, _ = world

    state, state_key = begin(world)

    assert len(state_key) >= 43  # 32 random bytes, URL-safe base64: 256 bits
    assert states.items[state].key_hash == service.state_key_hash(state_key) != state_key
