"""pynamodb models of feedback (accounts table): the feedback itself, and its entries in the owner's list and in the
staff queue of its status."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta


def feedback_pk(feedback_id: str) -> str:
    return f"FEEDBACK#{feedback_id}"


def user_list_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def queue_pk(status: str, shard: int) -> str:
    return f"FEEDBACKQ#{status}#{shard}"


USER_LIST_PREFIX = "FEEDBACK#"


class ReplyAttribute(MapAttribute[str, str]):
    content = UnicodeAttribute()
    at = UnicodeAttribute()


class FeedbackModel(Model):
    """accounts table, pk=FEEDBACK#<feedback_id>, sk=META."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    feedback_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    type = UnicodeAttribute()
    content = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)
    images = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    replies = ListAttribute(of=ReplyAttribute, default=list)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class FeedbackEntryModel(Model):
    """accounts table: pk=USER#<user_id>, sk=FEEDBACK#<feedback_id> (the owner's list, newest first), and
    pk=FEEDBACKQ#<status>#<shard>, sk=<feedback_id> (the staff queue of a status, oldest first)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    feedback_id = UnicodeAttribute()
    type = UnicodeAttribute()
