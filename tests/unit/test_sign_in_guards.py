"""Refresh-token rotation and theft detection, SMS codes and their limits, password-login back-off."""

from __future__ import annotations

import pytest

from chalicelib.accounts import guards, service
from chalicelib.clock import epoch_seconds
from chalicelib.errors import RateLimited, Unauthorized
from tests.unit.fakes import FakeAccountsRepository, FakeSecurityRepository, RecordingSmsSender

PHONE = "13800138000"


@pytest.fixture
def repo() -> FakeAccountsRepository:
    return FakeAccountsRepository()


@pytest.fixture
def security() -> FakeSecurityRepository:
    return FakeSecurityRepository()


def signed_in(repo: FakeAccountsRepository, security: FakeSecurityRepository) -> service.Session:
    service.register(repo, "alice", "correct horse 1")
    return service.login(repo, security, "correct horse 1", username="alice")


def test_a_refresh_token_works_once_and_its_successor_works_next(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    first = signed_in(repo, security)

    second = service.refresh(repo, first.refresh_token)
    third = service.refresh(repo, second.refresh_token)

    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert third.user.username == "alice"


def test_reusing_a_rotated_refresh_token_signs_out_the_whole_family(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    stolen = signed_in(repo, security)
    rightful = service.refresh(repo, stolen.refresh_token)
    other_device = service.login(repo, security, "correct horse 1", username="alice")

    with pytest.raises(Unauthorized, match="already used"):
        service.refresh(repo, stolen.refresh_token)
    with pytest.raises(Unauthorized):
        service.refresh(repo, rightful.refresh_token)
    assert service.refresh(repo, other_device.refresh_token).access_token  # another sign-in is another family


def test_logout_and_a_password_change_end_refresh_tokens(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    session = signed_in(repo, security)
    other = service.login(repo, security, "correct horse 1", username="alice")

    service.logout(repo, session.refresh_token)
    with pytest.raises(Unauthorized):
        service.refresh(repo, session.refresh_token)
    service.change_password(repo, other.user.user_id, "correct horse 1", "a new password 2")
    with pytest.raises(Unauthorized):
        service.refresh(repo, other.refresh_token)
    after = service.login(repo, security, "a new password 2", username="alice")
    assert service.refresh(repo, after.refresh_token).access_token


def test_changing_the_password_needs_the_current_one(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    session = signed_in(repo, security)

    with pytest.raises(Unauthorized):
        service.change_password(repo, session.user.user_id, "wrong", "a new password 2")


def test_an_sms_code_signs_in_once_and_creates_the_account_the_first_time(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, "+86" + PHONE, "login", "10.0.0.1")
    code = sender.last_code(PHONE)

    session, is_new = service.sms_login(repo, security, PHONE, code)

    assert is_new is True
    assert session.user.phone == PHONE
    with pytest.raises(Unauthorized):
        service.sms_login(repo, security, PHONE, code)  # single use
    security.guards.clear()
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    again, is_new_again = service.sms_login(repo, security, PHONE, sender.last_code(PHONE))
    assert (is_new_again, again.user.user_id) == (False, session.user.user_id)


def test_five_wrong_codes_kill_the_code(repo: FakeAccountsRepository, security: FakeSecurityRepository) -> None:
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    code = sender.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for _ in range(5):
        with pytest.raises(Unauthorized, match="Wrong code"):
            service.sms_login(repo, security, PHONE, wrong)

    with pytest.raises(Unauthorized, match="Too many wrong codes"):
        service.sms_login(repo, security, PHONE, code)


def test_a_resend_replaces_the_code_and_expired_codes_fail(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    old = sender.last_code(PHONE)
    security.guards.clear()  # as if a minute had passed
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    new = sender.last_code(PHONE)

    if old != new:
        with pytest.raises(Unauthorized):
            service.sms_login(repo, security, PHONE, old)
    security.codes[("login", PHONE)]["expires_at"] = epoch_seconds() - 1
    with pytest.raises(Unauthorized, match="No valid code"):
        service.sms_login(repo, security, PHONE, new)


def test_sms_sending_is_limited_per_minute_per_day_and_per_network(security: FakeSecurityRepository) -> None:
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    with pytest.raises(RateLimited, match="less than a minute"):
        service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")

    for _ in range(guards.SMS_PER_PHONE_PER_DAY - 1):
        security.guards.pop(("sms-resend", PHONE))
        service.send_sms_code(security, sender, PHONE, "login", f"10.0.1.{_}")
    security.guards.pop(("sms-resend", PHONE))
    with pytest.raises(RateLimited, match="today"):
        service.send_sms_code(security, sender, PHONE, "login", "10.0.2.1")

    for n in range(guards.SMS_PER_IP_PER_HOUR):
        service.send_sms_code(security, sender, f"139{n:08d}", "login", "10.9.9.9")
    with pytest.raises(RateLimited, match="network"):
        service.send_sms_code(security, sender, "13799999999", "login", "10.9.9.9")
    assert len(sender.texts) == guards.SMS_PER_PHONE_PER_DAY + guards.SMS_PER_IP_PER_HOUR


def test_repeated_password_failures_back_off_briefly_and_a_success_resets(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    alice = service.register(repo, "alice", "correct horse 1")
    for _ in range(guards.LOGIN_FREE_FAILURES + 1):
        with pytest.raises(Unauthorized):
            service.login(repo, security, "wrong password", username="alice", source_ip="10.0.0.1")

    with pytest.raises(RateLimited) as backing_off:
        service.login(repo, security, "correct horse 1", username="alice", source_ip="10.0.0.2")
    assert 0 < backing_off.value.details["retry_after_seconds"] <= guards.LOGIN_BACKOFF_BASE_SECONDS

    security.guards[("login", f"user#{alice.user_id}")]["until"] = 0  # the back-off has passed
    assert service.login(repo, security, "correct horse 1", username="alice").user.username == "alice"
    assert security.hits("login", f"user#{alice.user_id}", epoch_seconds()) == (0, 0)


def test_the_back_off_never_exceeds_five_minutes(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    for _ in range(30):
        guards.record_login_failure(security, "username#victim", "10.6.6.6")

    _hits, until = security.hits("login", "username#victim", epoch_seconds())
    assert until - epoch_seconds() <= guards.LOGIN_BACKOFF_MAX_SECONDS


def test_a_shared_address_takes_hundreds_of_failures_before_it_waits_and_then_waits_seconds_not_hours(
    security: FakeSecurityRepository,
) -> None:
    """GIVEN a campus NAT: thousands of people, one address WHEN they mistype passwords, many accounts each a few
    times THEN the address is never held while under its (high) free failures, and past them it waits a second,
    doubling to at most a minute; other addresses are not affected."""
    for n in range(guards.LOGIN_IP_FREE_FAILURES):
        guards.record_login_failure(security, f"username#student{n}", "10.6.6.6")
    guards.check_login_allowed(security, "username#someone_else", "10.6.6.6")  # still free

    guards.record_login_failure(security, "username#one_more", "10.6.6.6")

    with pytest.raises(RateLimited, match="network") as held:
        guards.check_login_allowed(security, "username#someone_else", "10.6.6.6")
    assert 0 < held.value.details["retry_after_seconds"] <= 1
    for _ in range(20):
        guards.record_login_failure(security, "username#scripted", "10.6.6.6")
    with pytest.raises(RateLimited) as longest:
        guards.check_login_allowed(security, "username#someone_else", "10.6.6.6")
    assert longest.value.details["retry_after_seconds"] <= guards.LOGIN_IP_BACKOFF_MAX_SECONDS
    guards.check_login_allowed(security, "username#someone_else", "10.7.7.7")


def test_password_failures_count_per_account_whichever_login_name_was_typed(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    """GIVEN an account with a username and a phone WHEN a guesser alternates between them THEN both names share one
    count: the account backs off after the same number of guesses as through one name."""
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, PHONE, "register", "10.0.0.1")
    service.register(repo, "alice", "correct horse 1", PHONE, security=security, sms_code=sender.last_code(PHONE))
    names = [{"username": "alice"}, {"phone": PHONE}, {"username": "ALICE"}, {"phone": "+86" + PHONE}]

    for n in range(guards.LOGIN_FREE_FAILURES + 1):
        with pytest.raises(Unauthorized):
            service.login(repo, security, "wrong password", source_ip=f"10.0.0.{n}", **names[n % len(names)])

    for name in names:
        with pytest.raises(RateLimited):
            service.login(repo, security, "correct horse 1", source_ip="10.9.9.9", **name)


def test_an_account_backing_off_from_password_guesses_still_signs_in_by_texted_code(
    repo: FakeAccountsRepository, security: FakeSecurityRepository
) -> None:
    sender = RecordingSmsSender()
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.1")
    owner, _ = service.sms_login(repo, security, PHONE, sender.last_code(PHONE))
    for _ in range(guards.LOGIN_FREE_FAILURES + 1):
        with pytest.raises(Unauthorized):
            service.login(repo, security, "a guess 123", phone=PHONE, source_ip="10.6.6.6")
    with pytest.raises(RateLimited):
        service.login(repo, security, "another guess 1", phone=PHONE, source_ip="10.6.6.6")

    security.guards.pop(("sms-resend", PHONE))  # a minute later
    service.send_sms_code(security, sender, PHONE, "login", "10.0.0.2")
    session, is_new = service.sms_login(repo, security, PHONE, sender.last_code(PHONE))

    assert (session.user.user_id, is_new) == (owner.user.user_id, False)
