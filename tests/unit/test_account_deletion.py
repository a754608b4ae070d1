"""Account deletion rules on in-memory fakes: the proof asked for, orders in progress, the order of erasing and
closing, and sign-ins racing the deletion."""

from __future__ import annotations

import pytest

from chalicelib.accounts import deletion, service
from chalicelib.accounts.deletion import AccountData, OrdersInProgress
from chalicelib.errors import InvalidState, Unauthorized, ValidationError
from tests.unit.fakes import FakeAccountsRepository, FakeSecurityRepository, RecordingSmsSender

PASSWORD = "correct horse 1"


class RecordingAccountData(AccountData):
    """The other contexts' data of the account: records what deletion asked, runs `meanwhile` at the first erase."""

    def __init__(self, busy: bool = False) -> None:
        self.busy = busy
        self.calls: list[str] = []
        self.meanwhile: list[object] = []

    def in_progress(self, user_id: str) -> bool:
        self.calls.append("in_progress")
        return self.busy

    def erase(self, user_id: str) -> None:
        self.calls.append("erase")
        while self.meanwhile:
            action = self.meanwhile.pop(0)
            assert callable(action)
            action()


@pytest.fixture
def repo() -> FakeAccountsRepository:
    return FakeAccountsRepository()


@pytest.fixture
def security() -> FakeSecurityRepository:
    return FakeSecurityRepository()


def register(repo: FakeAccountsRepository, username: str, phone: str | None = None) -> str:
    """An account as a client makes one: a phone comes with the code texted to it for `register`."""
    if phone is None:
        return service.register(repo, username, PASSWORD).user_id
    security, sender = FakeSecurityRepository(), RecordingSmsSender()
    service.send_sms_code(security, sender, phone, "register", "1.2.3.4")
    code = sender.last_code(phone)
    return service.register(repo, username, PASSWORD, phone, security=security, sms_code=code).user_id


def alice(repo: FakeAccountsRepository, phone: str | None = "13800138000") -> str:
    return register(repo, "alice", phone)


@pytest.mark.parametrize(("password", "sms_code"), [(None, None), (PASSWORD, "123456")], ids=["neither", "both"])
def test_deletion_needs_exactly_one_of_the_password_and_a_code(
    repo: FakeAccountsRepository, security: FakeSecurityRepository, password: str | None, sms_code: str | None
) -> None:
    user_id, data = alice(repo), RecordingAccountData()

    with pytest.raises(ValidationError):
        deletion.delete_account(repo, security, data, user_id, password, sms_code)

    assert data.calls == [] and repo.account_status(user_id) == "ACTIVE"


def test_a_wrong_password_or_code_is_unauthorized_and_changes_nothing(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, data = alice(repo), RecordingAccountData()

    with pytest.raises(Unauthorized):
        deletion.delete_account(repo, security, data, user_id, password="wrong password")
    with pytest.raises(Unauthorized):
        deletion.delete_account(repo, security, data, user_id, sms_code="123456")

    assert data.calls == [] and repo.account_status(user_id) == "ACTIVE"


def test_an_order_in_progress_refuses_the_deletion_before_anything_is_erased(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, data = alice(repo), RecordingAccountData(busy=True)

    with pytest.raises(OrdersInProgress) as refused:
        deletion.delete_account(repo, security, data, user_id, password=PASSWORD)

    assert (refused.value.status, refused.value.code) == (409, "ORDERS_IN_PROGRESS")
    assert data.calls == ["in_progress"] and repo.account_status(user_id) == "ACTIVE"


def test_deletion_erases_closes_then_erases_what_came_in_meanwhile_and_frees_every_handle(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, data = alice(repo), RecordingAccountData()
    service.bind_identity(repo, user_id, "wechat", "openid-1")

    deletion.delete_account(repo, security, data, user_id, password=PASSWORD)

    assert data.calls == ["in_progress", "erase", "erase"]
    assert repo.account_status(user_id) == "DELETED" and repo.get_user(user_id) is None
    assert repo.handles == {}
    assert register(repo, "alice", "13800138000") != user_id


def test_a_texted_code_goes_to_the_accounts_own_phone_and_confirms_the_deletion(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, sender = alice(repo), RecordingSmsSender()

    deletion.send_code(repo, security, sender, user_id, None, "1.2.3.4")
    code = sender.last_code("13800138000")
    deletion.delete_account(repo, security, RecordingAccountData(), user_id, sms_code=code)

    assert repo.account_status(user_id) == "DELETED"


def test_a_code_needs_a_signed_in_account_with_a_phone_and_no_other_phone(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, sender = alice(repo), RecordingSmsSender()
    no_phone = register(repo, "bob_1")

    with pytest.raises(Unauthorized):
        deletion.send_code(repo, security, sender, None, None, "1.2.3.4")
    with pytest.raises(InvalidState):
        deletion.send_code(repo, security, sender, no_phone, None, "1.2.3.4")
    with pytest.raises(ValidationError):
        deletion.send_code(repo, security, sender, user_id, "13900139000", "1.2.3.4")
    assert sender.texts == []


def test_a_sign_in_that_lands_while_the_account_is_being_deleted_gets_tokens_that_die_with_it(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    # GIVEN a sign-in that completes after the deletion checked the password, before the account is closed
    user_id, data = alice(repo), RecordingAccountData()
    sessions: list[service.Session] = []
    data.meanwhile.append(lambda: sessions.append(service.login(repo, security, PASSWORD, username="alice")))

    # WHEN the deletion finishes
    deletion.delete_account(repo, security, data, user_id, password=PASSWORD)

    # THEN that session's refresh token is refused, and no sign-in reaches the account any more
    assert len(sessions) == 1
    with pytest.raises(Unauthorized):
        service.refresh(repo, sessions[0].refresh_token)
    with pytest.raises(Unauthorized):
        service.login(repo, security, PASSWORD, username="alice")
    assert repo.account_status(user_id) == "DELETED"


def test_a_deletion_that_loses_a_race_with_a_binding_retries_on_the_new_version(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    user_id, data = alice(repo), RecordingAccountData()
    data.meanwhile.append(lambda: service.bind_identity(repo, user_id, "qq", "qq-openid"))

    deletion.delete_account(repo, security, data, user_id, password=PASSWORD)

    assert repo.account_status(user_id) == "DELETED" and repo.find_user_id("qq", "qq-openid") is None
