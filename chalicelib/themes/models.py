"""pynamodb model of themes in the marketing table: pk=THEME, sk=<theme_id>, so all themes are one Query."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta


class ThemeModel(Model):
    """A themed collection (主题活动): curated product ids, or a rule over the catalog."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True, default="THEME")
    sk = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute()
    subtitle = UnicodeAttribute(default="")
    banner_url = UnicodeAttribute(null=True)
    product_ids = ListAttribute(of=UnicodeAttribute, default=list)
    rule: MapAttribute[str, object] = MapAttribute(default=dict)
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    sort_order = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()
