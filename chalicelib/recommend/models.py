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


class RefreshRunModel(Model):
    """pk=RECO#RUN#<run_id>, sk=RUN: a refresh staff asked for, its status (RUNNING, SUCCEEDED, FAILED) and times;
    kept 30 days (TTL)."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="RUN")
    run_id = UnicodeAttribute()
    status = UnicodeAttribute()
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()

    @staticmethod
    def key(run_id: str) -> str:
        return f"RECO#RUN#{run_id}"
