"""pynamodb model of the stored recommendations, in the marketing table under `RECO#...` partitions."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

HOME_PK = "RECO#HOME"
LIST_SK = "LIST"


class RecommendationItem(Model):
    """One stored result of the refresh: the home lists (pk RECO#HOME, `home` holds them), or one list of product
    ids (pk RECO#SIMILAR#<product_id>, RECO#HOT#<category_id>, RECO#FOR_YOU#<user_id>; `product_ids`)."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=LIST_SK)
    product_ids = ListAttribute(of=UnicodeAttribute, null=True)
    home = JSONAttribute(null=True)
    generated_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)
