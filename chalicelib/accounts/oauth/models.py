"""pynamodb model of the third-party sign-in states kept in the accounts table."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.accounts.models import ACCOUNTS_TABLE
from chalicelib.dynamo import table_meta


class OAuthStateModel(Model):
    """pk=OAUTH_STATE#<state>, sk=STATE: one authorization in flight; single use, gone through TTL after 10 min."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="STATE")
    provider = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    purpose = UnicodeAttribute()  # login | bind
    client = UnicodeAttribute()  # pc | h5: which app the code will come from
    user_id = UnicodeAttribute(null=True)  # the account a bind state was issued to
    key_hash = UnicodeAttribute(null=True)  # SHA-256 of the state_key handed to the client that started the flow
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # the table's TTL attribute; also checked on read (TTL deletion lags)

    @staticmethod
    def key(state: str) -> str:
        return f"OAUTH_STATE#{state}"
