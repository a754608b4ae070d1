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

    def take_state(self, state: str) -> OAuthState | None:
        return self.items.pop(state, None)


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


def start(world, provider: str = "weibo", purpose: str = "login", user_id: str | None = None) -> str:
    _, states, directory = world
    return service.begin_authorization(states, SETTINGS, directory, provider, REDIRECT, "pc", purpose, user_id)["state"]


def test_the_first_sign_in_creates_an_account_and_the_next_finds_it(world) -> None:
    repo, states, directory = world

    first = service.sign_in_with_provider(repo, states, directory, "weibo", "login:zhang", start(world))
    again = service.sign_in_with_provider(repo, states, directory, "weibo", "login:zhang", start(world))

    assert (first["is_new_user"], again["is_new_user"]) == (True, False)
    assert first["user"]["user_id"] == again["user"]["user_id"]
    assert repo.find_user_id("weibo", "uid-zhang") == first["user"]["user_id"]


def test_a_state_is_used_up_even_when_the_code_is_refused(world) -> None:
    repo, states, directory = world
    state = start(world)

    with pytest.raises(ValidationError):
        service.sign_in_with_provider(repo, states, directory, "weibo", "bad-code", state)
    with pytest.raises(ValidationError, match="already used"):
        service.sign_in_with_provider(repo, states, directory, "weibo", "login:zhang", state)


def test_an_expired_state_is_refused(world) -> None:
    repo, states, directory = world
    state = start(world)
    issued = states.items[state]
    states.items[state] = OAuthState(
        **{**issued.__dict__, "expires_at": issued.expires_at - SETTINGS.state_ttl_seconds}
    )

    with pytest.raises(ValidationError, match="expired"):
        service.sign_in_with_provider(repo, states, directory, "weibo", "login:zhang", state)


def test_a_state_of_another_provider_is_refused(world) -> None:
    repo, states, directory = world

    with pytest.raises(ValidationError, match="issued for qq"):
        service.sign_in_with_provider(repo, states, directory, "weibo", "login:zhang", start(world, "qq"))


def test_an_unknown_provider_is_not_found_before_any_state_is_touched(world) -> None:
    repo, states, directory = world
    state = start(world)

    with pytest.raises(NotFound):
        service.sign_in_with_provider(repo, states, directory, "github", "login:zhang", state)
    assert state in states.items


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
    service.sign_in_with_provider(repo, states, directory, "weibo", "login:shared", start(world))
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
