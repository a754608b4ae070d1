"""pynamodb model of a promotion: pk=PROMOTION, sk=<promotion_id> in the marketing table, so one Query lists all."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

MARKETING_TABLE = get_settings().marketing_table
PROMOTION_PK = "PROMOTION"


class PromotionModel(Model):
    """One promotion; sku_prices maps SKU id -> promotional price, tiers lists {threshold_fen, off_fen}."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=PROMOTION_PK)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    sku_prices: MapAttribute[str, int] = MapAttribute(default=dict)
    tiers = ListAttribute(of=MapAttribute, default=list)
    scope = UnicodeAttribute(default="all")
    scope_ids = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    expires_at = NumberAttribute(null=True)  # TTL: a while after the end, an ended promotion goes
