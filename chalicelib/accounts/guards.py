"""Abuse guards on sign-in: SMS code rules and limits, password-login back-off per account and per source IP."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol

from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.clock import epoch_seconds, iso, utcnow
from chalicelib.config import jwt_secret
from chalicelib.errors import RateLimited, Unauthorized

SMS_CODE_TTL_SECONDS = 300
SMS_MAX_ATTEMPTS = 5
SMS_RESEND_SECONDS = 60
SMS_PER_PHONE_PER_DAY = 10
SMS_PER_IP_PER_HOUR = 30
LOGIN_FREE_FAILURES = 4  # the 5th failure in a row starts the back-off
LOGIN_BACKOFF_BASE_SECONDS = 30
LOGIN_BACKOFF_MAX_SECONDS = 300  # an attacker can hold a victim's account for at most 5 minutes at a time
LOGIN_FAILURE_WINDOW_SECONDS = 900
LOGIN_FAILURES_PER_IP_PER_HOUR = 100


class SmsSender(Protocol):
    """Where a text message goes (SNS in the app; a list in tests)."""

    def send(self, phone: str, text: str) -> None: ...


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
    sender.send(phone, f"【Shop】您的验证码是{code}，5分钟内有效。如非本人操作，请忽略本短信。")


def verify_sms_code(security: SecurityRepository, phone: str, purpose: str, code: str) -> None:
    """Accept the live code once; a wrong code spends one of 5 tries, after which the code is dead."""
    found = security.get_code(purpose, phone)
    if found is None or found[2] <= epoch_seconds():
        raise Unauthorized("No valid code for this phone: request a new one")
    digest, attempts, _expires_at = found
    if attempts >= SMS_MAX_ATTEMPTS:
        raise Unauthorized("Too many wrong codes: request a new one")
    given = _code_digest(purpose, phone, code)
    if hmac.compare_digest(given, digest) and security.consume_code(purpose, phone, digest, SMS_MAX_ATTEMPTS):
        return
    security.spend_attempt(purpose, phone, SMS_MAX_ATTEMPTS)
    raise Unauthorized("Wrong code")


def check_login_allowed(security: SecurityRepository, account: str, source_ip: str) -> None:
    """429 while the account is backing off or the source IP failed too often this hour."""
    now = epoch_seconds()
    _hits, until = security.hits("login", account, now)
    if until > now:
        raise RateLimited("Too many failed sign-ins: try again later", retry_after_seconds=until - now)
    ip_failures, _ = security.hits("login-ip", f"{source_ip}#{iso(utcnow())[:13]}", now)
    if ip_failures >= LOGIN_FAILURES_PER_IP_PER_HOUR:
        raise RateLimited("Too many failed sign-ins from this network: try again later")


def record_login_failure(security: SecurityRepository, account: str, source_ip: str) -> None:
    """Count the failure; from the 5th in a row the account waits 30 s, doubling up to 5 minutes."""
    now = epoch_seconds()
    failures = security.bump("login", account, now, LOGIN_FAILURE_WINDOW_SECONDS)
    if failures > LOGIN_FREE_FAILURES:
        backoff = min(LOGIN_BACKOFF_BASE_SECONDS * 2 ** (failures - LOGIN_FREE_FAILURES - 1), LOGIN_BACKOFF_MAX_SECONDS)
        security.hold_until("login", account, now + backoff)
    security.bump("login-ip", f"{source_ip}#{iso(utcnow())[:13]}", now, 3600)


def record_login_success(security: SecurityRepository, account: str) -> None:
    security.clear_guard("login", account)
