"""pynamodb models of the accounts table (pk/sk single table: users and the handles that find them)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ACCOUNTS_TABLE = get_settings().accounts_table


class UserModel(Model):
    """pk=USER#<user_id>, sk=PROFILE."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PROFILE")
    user_id = UnicodeAttribute()
    username = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    nickname = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    roles = UnicodeSetAttribute(default=lambda: {"customer"})
    points_balance = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    bindings: MapAttribute[str, object] = MapAttribute(default=dict)  # provider -> {subject, nickname, bound_at}
    version = NumberAttribute(default=1)  # every change of sign-in methods is conditional on it
    refresh_epoch = NumberAttribute(default=0)  # raised on a password change: older refresh families die
    status = UnicodeAttribute(null=True)  # DELETED (the customer deleted it), DISABLED (staff did); absent: ACTIVE
    deleted_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)  # why staff disabled it (status DISABLED)
    occupation = UnicodeAttribute(null=True)
    interests = ListAttribute(of=UnicodeAttribute, null=True)  # category ids, the first the most wanted

    @staticmethod
    def key(user_id: str) -> str:
        return f"USER#{user_id}"


class HandleModel(Model):
    """pk=HANDLE#<kind>#<value>, sk=HANDLE: one way to find a user (username, phone; later OAuth identities).

    Its conditional put is what keeps usernames and phones unique.
    """

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="HANDLE")
    user_id = UnicodeAttribute()

    @staticmethod
    def key(kind: str, value: str) -> str:
        return f"HANDLE#{kind}#{value}"


class RefreshTokenModel(Model):
    """pk=REFRESH#<sha256 of the token>, sk=TOKEN: only the digest is stored; expires through TTL."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="TOKEN")
    user_id = UnicodeAttribute()
    family_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()
    used_at = UnicodeAttribute(null=True)  # set once, when it is exchanged: a second use is theft

    @staticmethod
    def key(digest: str) -> str:
        return f"REFRESH#{digest}"


class RefreshFamilyModel(Model):
    """pk=FAMILY#<family_id>, sk=FAMILY: one sign-in's chain of rotated refresh tokens; revoked as a whole."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="FAMILY")
    user_id = UnicodeAttribute()
    refresh_epoch = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    expires_at = NumberAttribute()

    @staticmethod
    def key(family_id: str) -> str:
        return f"FAMILY#{family_id}"


class SmsCodeModel(Model):
    """pk=SMS#<purpose>#<phone>, sk=CODE: the one live code (an HMAC of it), replaced by a resend."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CODE")
    code_digest = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    expires_at = NumberAttribute()

    @staticmethod
    def key(purpose: str, phone: str) -> str:
        return f"SMS#{purpose}#{phone}"


class GuardModel(Model):
    """pk=GUARD#<what>#<subject>, sk=GUARD: a rate-limit counter, a cooldown or a login back-off; expires by TTL."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="GUARD")
    hits = NumberAttribute(default=0)
    until = NumberAttribute(default=0)
    expires_at = NumberAttribute()

    @staticmethod
    def key(what: str, subject: str) -> str:
        return f"GUARD#{what}#{subject}"


class OutboxModel(Model):
    """pk=OUTBOX#<phone>, sk=<sent_at>#<id>: what was texted, kept a day on local and dev stages only."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    to = UnicodeAttribute()
    text = UnicodeAttribute()
    sent_at = UnicodeAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(phone: str) -> str:
        return f"OUTBOX#{phone}"


# Customers are listed by username over NAME_SHARDS partitions (the shard from the user id): a registration never
# writes to one constant partition, and a prefix search queries the shards and merges.
NAME_SHARDS = 8


class NameEntryModel(Model):
    """pk=NAMES#<shard>, sk=<lowercased username>#<user_id>: the customer directory staff search by username prefix.

    Written with the account; kept when the customer deletes it (staff still find it, as DELETED)."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()

    @staticmethod
    def key(shard: int) -> str:
        return f"NAMES#{shard}"


class StaffEntryModel(Model):
    """pk=STAFF, sk=<user_id>: the staff directory (a few dozen accounts, written only by an admin creating one)."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True, default="STAFF")
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
