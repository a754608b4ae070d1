"""The only module that touches the accounts table's guard items: SMS codes, rate limits, back-offs, the outbox."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.accounts.models import GuardModel, OutboxModel, SmsCodeModel
from chalicelib.ids import new_id


class SecurityRepository(Protocol):
    def take_cooldown(self, what: str, subject: str, now: int, seconds: int) -> bool:
        """True and start a cooldown if none is running; False while one is."""

    def count_hit(self, what: str, subject: str, limit: int, expires_at: int) -> bool:
        """Count one more hit in a window (the key names the window); False, counting nothing, at the limit."""

    def hits(self, what: str, subject: str, now: int) -> tuple[int, int]:
        """(hits, until) of a live guard item, (0, 0) if none."""

    def bump(self, what: str, subject: str, now: int, window: int) -> int:
        """Add one to a sliding-window counter (the window restarts once it lapses); the new count."""

    def hold_until(self, what: str, subject: str, until: int) -> None: ...

    def clear_guard(self, what: str, subject: str) -> None: ...

    def put_code(self, purpose: str, phone: str, code_digest: str, expires_at: int) -> None: ...

    def get_code(self, purpose: str, phone: str) -> tuple[str, int, int] | None:
        """(code_digest, attempts, expires_at) of the live code."""

    def spend_attempt(self, purpose: str, phone: str, max_attempts: int) -> None:
        """Count one wrong try, only while under max_attempts."""

    def consume_code(self, purpose: str, phone: str, code_digest: str, max_attempts: int) -> bool:
        """Delete the code if it is this one and not dead; True for exactly one caller."""

    def record_outbox(self, phone: str, text: str, sent_at: str, expires_at: int) -> None: ...

    def outbox(self, phone: str) -> list[dict[str, Any]]: ...


def _guard(what: str, subject: str) -> GuardModel:
    return GuardModel(GuardModel.key(what, subject), "GUARD")


def _failed_condition(error: UpdateError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoSecurityRepository:
    """SecurityRepository on the accounts table; every guard is one conditional write."""

    def take_cooldown(self, what: str, subject: str, now: int, seconds: int) -> bool:
        try:
            _guard(what, subject).update(
                actions=[GuardModel.until.set(now + seconds), GuardModel.expires_at.set(now + seconds)],
                condition=GuardModel.pk.does_not_exist() | (GuardModel.until <= now),
            )
        except UpdateError as error:
            if _failed_condition(error):
                return False
            raise
        return True

    def count_hit(self, what: str, subject: str, limit: int, expires_at: int) -> bool:
        try:
            _guard(what, subject).update(
                actions=[GuardModel.hits.add(1), GuardModel.expires_at.set(expires_at)],
                condition=GuardModel.pk.does_not_exist() | (GuardModel.hits < limit),
            )
        except UpdateError as error:
            if _failed_condition(error):
                return False
            raise
        return True

    def hits(self, what: str, subject: str, now: int) -> tuple[int, int]:
        try:
            item = GuardModel.get(GuardModel.key(what, subject), "GUARD")
        except DoesNotExist:
            return 0, 0
        if item.expires_at <= now:  # TTL deletes lazily (and moto never does): an expired guard is no guard
            return 0, 0
        return int(item.hits or 0), int(item.until or 0)

    def bump(self, what: str, subject: str, now: int, window: int) -> int:
        item = _guard(what, subject)
        try:
            item.update(
                actions=[GuardModel.hits.add(1), GuardModel.expires_at.set(now + window)],
                condition=GuardModel.pk.exists() & (GuardModel.expires_at > now),
            )
        except UpdateError as error:
            if not _failed_condition(error):
                raise
            GuardModel(GuardModel.key(what, subject), "GUARD", hits=1, until=0, expires_at=now + window).save()
            return 1
        return int(item.hits)

    def hold_until(self, what: str, subject: str, until: int) -> None:
        _guard(what, subject).update(actions=[GuardModel.until.set(until)])

    def clear_guard(self, what: str, subject: str) -> None:
        _guard(what, subject).delete()

    def put_code(self, purpose: str, phone: str, code_digest: str, expires_at: int) -> None:
        SmsCodeModel(
            SmsCodeModel.key(purpose, phone), "CODE", code_digest=code_digest, attempts=0, expires_at=expires_at
        ).save()

    def get_code(self, purpose: str, phone: str) -> tuple[str, int, int] | None:
        try:
            item = SmsCodeModel.get(SmsCodeModel.key(purpose, phone), "CODE", consistent_read=True)
        except DoesNotExist:
            return None
        return item.code_digest, int(item.attempts), int(item.expires_at)

    def spend_attempt(self, purpose: str, phone: str, max_attempts: int) -> None:
        try:
            SmsCodeModel(SmsCodeModel.key(purpose, phone), "CODE").update(
                actions=[SmsCodeModel.attempts.add(1)],
                condition=SmsCodeModel.pk.exists() & (SmsCodeModel.attempts < max_attempts),
            )
        except UpdateError as error:
            if not _failed_condition(error):
                raise

    def consume_code(self, purpose: str, phone: str, code_digest: str, max_attempts: int) -> bool:
        condition: Condition = (SmsCodeModel.code_digest == code_digest) & (SmsCodeModel.attempts < max_attempts)
        try:
            SmsCodeModel(SmsCodeModel.key(purpose, phone), "CODE").delete(condition=condition)
        except DeleteError as error:
            if _failed_condition(error):
                return False
            raise
        return True

    def record_outbox(self, phone: str, text: str, sent_at: str, expires_at: int) -> None:
        OutboxModel(
            OutboxModel.key(phone), f"{sent_at}#{new_id('sms')}", to=phone, text=text, sent_at=sent_at,
            expires_at=expires_at,
        ).save()  # fmt: skip

    def outbox(self, phone: str) -> list[dict[str, Any]]:
        return [
            {"to": item.to, "text": item.text, "sent_at": item.sent_at}
            for item in OutboxModel.query(OutboxModel.key(phone), scan_index_forward=False, limit=50)
        ]
