"""Account rules and tokens on an in-memory repository."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib.accounts import service, tokens
from chalicelib.accounts.domain import User
from chalicelib.errors import AccountDisabled, Conflict, InvalidState, Unauthorized
from chalicelib.keys import jwt_secret
from tests.unit.fakes import FakeAccountsRepository, FakeSecurityRepository, RecordingSmsSender


@pytest.fixture
def repo() -> FakeAccountsRepository:
    return FakeAccountsRepository()


def register_with_phone(repo: FakeAccountsRepository, username: str, phone: str) -> User:
    """Register as a client does: a code texted for `register` to the phone first."""
    security, sender = FakeSecurityRepository(), RecordingSmsSender()
    service.send_sms_code(security, sender, phone, "register", "10.0.0.1")
    code = sender.last_code(phone.removeprefix("+86"))
    return service.register(repo, username, "correct horse 1", phone, security=security, sms_code=code)


def test_registering_stores_an_argon2id_hash_never_the_password(repo: FakeAccountsRepository) -> None:
    user = register_with_phone(repo, "Alice_01", "+8613800138000")

    stored = repo.users[user.user_id]
    assert stored.password_hash and stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "correct horse 1" not in stored.password_hash
    assert stored.phone == "13800138000" and stored.roles == {"customer"}


def test_usernames_are_unique_regardless_of_case_and_phones_are_unique(repo: FakeAccountsRepository) -> None:
    register_with_phone(repo, "alice", "13800138000")

    with pytest.raises(Conflict):
        service.register(repo, "ALICE", "correct horse 1")
    with pytest.raises(Conflict):
        register_with_phone(repo, "bob", "+8613800138000")


def test_signing_in_by_username_or_phone_gives_a_token_for_that_user(repo: FakeAccountsRepository) -> None:
    user = register_with_phone(repo, "alice", "13800138000")

    by_name = service.login(repo, FakeSecurityRepository(), "correct horse 1", username="Alice")
    by_phone = service.login(repo, FakeSecurityRepository(), "correct horse 1", phone="+8613800138000")

    for session in (by_name, by_phone):
        claims = tokens.verify_access_token(session.access_token)
        assert claims is not None and claims.user_id == user.user_id and claims.roles == {"customer"}
        assert session.refresh_token and session.expires_in > 0
    assert len(repo.refresh_tokens) == 2
    assert by_name.refresh_token not in repo.refresh_tokens  # only digests are stored


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password"), ("nobody", "correct horse 1")])
def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    repo: FakeAccountsRepository, username: str, password: str
) -> None:
    service.register(repo, "alice", "correct horse 1")

    with pytest.raises(Unauthorized, match="Wrong username, phone or password"):
        service.login(repo, FakeSecurityRepository(), password, username=username)


def test_ensuring_the_admin_twice_resets_its_password_and_keeps_one_account(repo: FakeAccountsRepository) -> None:
    first = service.ensure_admin(repo, "admin", "first password")
    second = service.ensure_admin(repo, "admin", "second password")

    assert first == second and repo.users[first].roles == {"customer", "admin"}
    assert service.login(repo, FakeSecurityRepository(), "second password", username="admin").user.user_id == first


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)])


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "u_1", "username": "mallory", "roles": ["customer", "admin"], "iss": tokens.ISSUER,
        "aud": tokens.AUDIENCE, "iat": now, "exp": now + timedelta(minutes=5), "typ": "access",
    }  # fmt: skip
    claims.update(overrides)
    return claims


def test_tokens_with_alg_none_a_wrong_key_expired_or_tampered_claims_are_rejected() -> None:
    good = jwt.encode(_claims(), jwt_secret(), algorithm="HS256")
    assert tokens.verify_access_token(good) is not None

    header, payload, signature = good.split(".")
    tampered_claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered_claims["sub"] = "u_2"
    tampered = ".".join([header, _forge({}, tampered_claims).split(".")[1], signature])
    unix = int(datetime.now(UTC).timestamp())
    rejected = [
        _forge({"alg": "none", "typ": "JWT"}, {**_claims(), "iat": unix, "exp": unix + 300}),
        jwt.encode(_claims(), "another-key-of-enough-length-0123456789", algorithm="HS256"),
        jwt.encode(_claims(exp=datetime.now(UTC) - timedelta(seconds=1)), jwt_secret(), algorithm="HS256"),
        jwt.encode(_claims(aud="someone-else"), jwt_secret(), algorithm="HS256"),
        jwt.encode(_claims(typ="refresh"), jwt_secret(), algorithm="HS256"),
        jwt.encode(_claims(), jwt_secret(), algorithm="HS512"),
        tampered,
        "not a token",
    ]
    assert [tokens.verify_access_token(token) for token in rejected] == [None] * len(rejected)


def test_a_first_sign_in_with_an_identity_creates_the_account_and_the_next_finds_it(
    repo: FakeAccountsRepository,
) -> None:
    first, is_new = service.sign_in_with_identity(repo, "wechat", "unionid-1", nickname="小王")
    again, is_new_again = service.sign_in_with_identity(repo, "wechat", "unionid-1")

    assert (is_new, is_new_again) == (True, False)
    assert first.user.user_id == again.user.user_id
    assert service.list_bindings(repo, first.user.user_id)["providers"]["wechat"]["nickname"] == "小王"


def test_an_identity_held_by_another_account_cannot_be_bound(repo: FakeAccountsRepository) -> None:
    alice = service.register(repo, "alice", "correct horse 1")
    service.sign_in_with_identity(repo, "weibo", "uid-9")

    with pytest.raises(Conflict):
        service.bind_identity(repo, alice.user_id, "weibo", "uid-9")
    bound = service.bind_identity(repo, alice.user_id, "qq", "openid-3", nickname="alice qq")
    assert bound["providers"]["qq"]["bound"] is True
    assert service.bind_identity(repo, alice.user_id, "qq", "openid-3") == bound


def test_the_last_way_to_sign_in_cannot_be_unbound(repo: FakeAccountsRepository) -> None:
    session, _ = service.sign_in_with_identity(repo, "qq", "openid-1")
    user_id = session.user.user_id

    with pytest.raises(InvalidState):
        service.unbind(repo, user_id, "qq")
    service.bind_phone(repo, user_id, "+8613800138000")
    after = service.unbind(repo, user_id, "qq")

    assert after["providers"]["qq"]["bound"] is False
    assert after["phone"] == "138****8000"
    assert repo.find_user_id("qq", "openid-1") is None


def test_a_disabled_account_is_refused_by_every_sign_in_method_once_its_credentials_are_good(
    repo: FakeAccountsRepository,
) -> None:
    # GIVEN an account with a phone and a WeChat identity, then disabled by staff
    user = register_with_phone(repo, "erin", "13700137000")
    service.sign_in_with_identity(repo, "wechat", "unionid-erin")
    wechat_user = repo.handles[("wechat", "unionid-erin")]
    for user_id in (user.user_id, wechat_user):
        repo.users[user_id].status = "DISABLED"
    security, sender = FakeSecurityRepository(), RecordingSmsSender()

    # THEN the password, an SMS code and the identity each get 403 ACCOUNT_DISABLED; a wrong password stays 401
    with pytest.raises(AccountDisabled):
        service.login(repo, security, "correct horse 1", username="erin")
    with pytest.raises(Unauthorized):
        service.login(repo, security, "wrong horse 1", username="erin")
    service.send_sms_code(security, sender, "13700137000", "login", "10.0.0.2")
    with pytest.raises(AccountDisabled):
        service.sms_login(repo, security, "13700137000", sender.last_code("13700137000"))
    with pytest.raises(AccountDisabled):
        service.sign_in_with_identity(repo, "wechat", "unionid-erin")
