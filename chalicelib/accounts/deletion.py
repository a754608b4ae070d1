"""Account deletion (注销账号): proven by the password or a texted code, refused while an order or after-sales case is
open; personal data erased across the contexts, the account closed (its handles free, its tokens dead), orders
kept for the books without name, phone or address (docs/accounts.md says what is kept, how long and why)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.accounts import guards, passwords
from chalicelib.accounts.domain import normalize_phone
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.clock import now_iso
from chalicelib.errors import Conflict, InvalidState, Unauthorized, ValidationError
from chalicelib.observability import logger

SMS_PURPOSE = "delete_account"
ATTEMPTS = 3


class OrdersInProgress(Conflict):
    """The customer has an order that is not final yet, or an open after-sales case."""

    code = "ORDERS_IN_PROGRESS"
    default_message = (
        "An order of yours is not finished yet (unpaid, paid, shipped, received within its return window, or being "
        "refunded): pay or cancel it, or wait until it is completed or refunded, then delete the account"
    )


class AccountData(Protocol):
    """What the other contexts keep of an account, as its deletion needs it (accounts.deletion_wiring)."""

    def in_progress(self, user_id: str) -> bool:
        """Whether the user has an order not yet final (COMPLETED, CANCELLED, REFUNDED) or an open after-sales
        case."""

    def erase(self, user_id: str) -> None:
        """Erase the user's personal data: addresses, favorites, footprints, search history, cart, reservations;
        orders kept without name, phone, address or remark; reviews shown as the deleted user's. Idempotent."""


def send_code(
    repo: AccountsRepository,
    security: SecurityRepository,
    sender: guards.SmsSender,
    user_id: str | None,
    phone: str | None,
    source_ip: str,
) -> None:
    """POST /auth/sms/send {"purpose": "delete_account"} with the caller's token: the code goes to the account's own
    phone (401 without a token, 409 INVALID_STATE without a phone: delete with the password; 400 for another phone
    named)."""
    user = repo.get_user(user_id) if user_id else None
    if user is None:
        raise Unauthorized("Sign in first: this code goes to your account's own phone")
    if not user.phone:
        raise InvalidState("This account has no phone to text a code to: delete it with its password")
    if phone is not None and normalize_phone(phone) != user.phone:
        raise ValidationError(
            "This code goes to your account's own phone: leave phone out",
            errors=[{"field": "phone", "message": "Leave it out: the code goes to the account's own phone."}],
        )
    guards.send_sms_code(security, sender, user.phone, SMS_PURPOSE, source_ip)


def delete_account(
    repo: AccountsRepository,
    security: SecurityRepository,
    data: AccountData,
    user_id: str,
    password: str | None = None,
    sms_code: str | None = None,
) -> None:
    """DELETE /me: 400 without a password or code, 401 for a wrong one, 409 ORDERS_IN_PROGRESS while an order or
    after-sales case is open. Personal data is erased first (a failure leaves a live account the customer can delete
    again), then the account is closed in one transaction, then what was written meanwhile is erased too."""
    if (password is None) == (sms_code is None):
        raise ValidationError(
            "Confirm the deletion with your password or a texted code (purpose delete_account)",
            errors=[{"field": "(body)", "message": "Give either password or sms_code."}],
        )
    user = repo.get_user(user_id)
    if user is None:
        raise Unauthorized()
    if password is not None and not passwords.verify_password(user.password_hash, password):
        raise Unauthorized("The password is wrong")
    if sms_code is not None:
        if not user.phone:
            raise Unauthorized("No code was texted to this account: it has no phone, use the password")
        guards.verify_sms_code(security, user.phone, SMS_PURPOSE, sms_code)
    if data.in_progress(user_id):
        raise OrdersInProgress()
    data.erase(user_id)
    for attempt in range(ATTEMPTS):
        current = repo.get_user(user_id)
        if current is None:
            return  # closed by a concurrent deletion of the same account
        try:
            repo.close_account(current, now_iso())
            break
        except InvalidState:
            if attempt == ATTEMPTS - 1:
                raise
    try:
        data.erase(user_id)  # what a request or queue consumer of the account wrote while it was being closed
    except Exception:  # the account is closed; a leftover is erased by nobody's request, so log it for a person
        logger.exception("personal data written during an account deletion was not erased", extra={"user_id": user_id})
