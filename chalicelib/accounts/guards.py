"""Abuse guards on sign-in: SMS code rules and limits, password-login back-off per account and per source IP.

The password back-off counts per account (every username and phone that reaches it share one count), so more login
names never mean more guesses; names that reach no account count per name, so the answers look alike. The per-IP
count has room for the thousands of people behind one campus or carrier NAT: a high threshold per 15 minutes, then
a short back-off (never an hour's lock). An account under attack stays reachable by SMS code, which no back-off of
passwords blocks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol

from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.clock import epoch_seconds, iso, utcnow
from chalicelib.errors import RateLimited, Unauthorized
from chalicelib.keys import jwt_secret

SMS_CODE_TTL_SECONDS = 300
SMS_MAX_ATTEMPTS = 5
SMS_RESEND_SECONDS = 60
SMS_PER_PHONE_PER_DAY = 10
SMS_PER_IP_PER_HOUR = 30
LOGIN_FREE_FAILURES = 4  # the 5th failure in a row starts the back-off
LOGIN_BACKOFF_BASE_SECONDS = 30
LOGIN_BACKOFF_MAX_SECONDS = 300  # an attacker can hold a victim's account for at most 5 minutes at a time
LOGIN_FAILURE_WINDOW_SECONDS = 900
LOGIN_IP_WINDOW_SECONDS = 900
LOGIN_IP_FREE_FAILURES = 200  # per source IP and 15 minutes: room for everyone behind one NAT mistyping
LOGIN_IP_BACKOFF_MAX_SECONDS = 60  # past that, the address waits 1 s, 2 s, 4 s ... at most a minute per failure


class SmsSender(Protocol):
    """Where a text message goes (SNS, Aliyun SMS or Tencent Cloud SMS in the app; a list in tests)."""

    def send(self, phone: str, text: str) -> None:
        """A notice: the whole text (a template provider puts it in its notice template's one variable)."""

    def send_code(self, phone: str, code: str) -> None:
        """A verification code (a template provider sends it through its approved code template)."""


def _code_digest(purpose: str, phone: str, code: str) -> str:
    key = hmac.new(jwt_secret().encode(), b"sms-code", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def send_sms_code(security: SecurityRepository, sender: SmsSender, phone: str, purpose: str, source_ip: str) -> None:
    """A fresh 6-digit code replaces any earlier one; 429 within 60 s of the last, past 10 a day or the IP's cap."""
    now = epoch_seconds()
    if not security.take_cooldown("sms-resend", phone, now, SMS_RESEND_SECONDS):
        raise RateLimited("A code was sent to this phone less than a minute ago", retry_after_seconds=60)
    day, hour = iso(utcnow())[:10], iso(utcnow())[:13]
    if not security.count_hit("sms-day", f"{phone}#{day}", SMS_PER_PHONE_PER_DAY, now + 2 * 86400):
        raise RateLimited("Too many codes for this phone today")
    if not security.count_hit("sms-ip", f"{source_ip}#{hour}", SMS_PER_IP_PER_HOUR, now + 2 * 3600):
        raise RateLimited("Too many codes requested from this network")
    code = f"{secrets.randbelow(10**6):06d}"
    security.put_code(purpose, phone, _code_digest(purpose, phone, code), now + SMS_CODE_TTL_SECONDS)
    sender.send_code(phone, code)


def verify_sms_code(security: SecurityRepository, phone: str, purpose: str, code: str) -> None:
    """Accept the live code once; a wrong code spends one of 5 tries, after which the code is dead."""
    digest = check_sms_code(security, phone, purpose, code)
    if not consume_sms_code(security, phone, purpose, digest):
        raise Unauthorized("This code was just used: request a new one")


def check_sms_code(security: SecurityRepository, phone: str, purpose: str, code: str) -> str:
    """The live code's digest if `code` is it, without using it up (consume_sms_code does, once the action that
    needs it succeeded); 401 otherwise, and a wrong code spends one of 5 tries, after which the code is dead."""
    found = security.get_code(purpose, phone)
    if found is None or found[2] <= epoch_seconds():
        raise Unauthorized("No valid code for this phone: request a new one")
    digest, attempts, _expires_at = found
    if attempts >= SMS_MAX_ATTEMPTS:
        raise Unauthorized("Too many wrong codes: request a new one")
    if hmac.compare_digest(_code_digest(purpose, phone, code), digest):
        return digest
    security.spend_attempt(purpose, phone, SMS_MAX_ATTEMPTS)
    raise Unauthorized("Wrong code")


def consume_sms_code(security: SecurityRepository, phone: str, purpose: str, digest: str) -> bool:
    """Use the checked code up; True for exactly one caller."""
    return security.consume_code(purpose, phone, digest, SMS_MAX_ATTEMPTS)


def login_account_key(user_id: str | None, handle: tuple[str, str]) -> str:
    """What password failures count against: the account, whichever of its names was typed; else the name typed."""
    return f"user#{user_id}" if user_id else "#".join(handle)


def _ip_window(source_ip: str, now: int) -> str:
    return f"{source_ip}#{now // LOGIN_IP_WINDOW_SECONDS}"


def check_login_allowed(security: SecurityRepository, account: str, source_ip: str) -> None:
    """429 while the account, or the source IP, is backing off."""
    now = epoch_seconds()
    _hits, until = security.hits("login", account, now)
    if until > now:
        raise RateLimited("Too many failed sign-ins: try again later, or sign in with a texted code",
                          retry_after_seconds=until - now)  # fmt: skip
    _ip_hits, ip_until = security.hits("login-ip", _ip_window(source_ip, now), now)
    if ip_until > now:
        raise RateLimited("Too many failed sign-ins from this network: try again in a moment",
                          retry_after_seconds=ip_until - now)  # fmt: skip


def record_login_failure(security: SecurityRepository, account: str, source_ip: str) -> None:
    """Count the failure; from the 5th in a row the account waits 30 s, doubling up to 5 minutes; past its free
    failures in 15 minutes the source IP waits 1 s, doubling up to a minute."""
    now = epoch_seconds()
    failures = security.bump("login", account, now, LOGIN_FAILURE_WINDOW_SECONDS)
    if failures > LOGIN_FREE_FAILURES:
        backoff = min(LOGIN_BACKOFF_BASE_SECONDS * 2 ** (failures - LOGIN_FREE_FAILURES - 1), LOGIN_BACKOFF_MAX_SECONDS)
        security.hold_until("login", account, now + backoff)
    window = _ip_window(source_ip, now)
    ip_failures = security.bump("login-ip", window, now, LOGIN_IP_WINDOW_SECONDS)
    if ip_failures > LOGIN_IP_FREE_FAILURES:
        over = min(ip_failures - LOGIN_IP_FREE_FAILURES - 1, 6)
        security.hold_until("login-ip", window, now + min(2**over, LOGIN_IP_BACKOFF_MAX_SECONDS))


def record_login_success(security: SecurityRepository, account: str) -> None:
    security.clear_guard("login", account)
