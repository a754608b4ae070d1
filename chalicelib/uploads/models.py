"""pynamodb model of an upload: the accounts table, under its owner."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

UPLOAD_PREFIX = "UPLOAD#"


class UploadModel(Model):
    """accounts table, pk=USER#<user_id>, sk=UPLOAD#<upload_id>: what the owner declared when asking to upload."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    upload_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    key = UnicodeAttribute()
    created_at = UnicodeAttribute()
