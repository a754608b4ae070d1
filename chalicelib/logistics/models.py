"""pynamodb models of logistics in the marketing table: parcels and their tracking events (pk=PARCEL#<tracking_no>,
one partition per parcel number), freight templates (pk=FREIGHT, sk=<template_id>: a handful, written by staff)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

FREIGHT_PK = "FREIGHT"
HEAD_PREFIX = "HEAD#"  # sk of a parcel: HEAD#<carrier code>
EVENT_PREFIX = "EVENT#"  # sk of one of its events: EVENT#<carrier code>#<at>#<digest of its text>


def parcel_pk(tracking_no: str) -> str:
    return f"PARCEL#{tracking_no}"


class ParcelModel(Model):
    """A shipped parcel kuaidi100 reports on: the orders it carries (one, or several shipped together) and its
    latest state."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    order_ids = UnicodeSetAttribute(default=set)
    carrier_code = UnicodeAttribute()
    tracking_no = UnicodeAttribute()
    state = UnicodeAttribute(null=True)
    is_signed = BooleanAttribute(default=False)
    signed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=0)


class ParcelEventModel(Model):
    """One tracking event of a parcel, written once (its sort key says when and what)."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    context = UnicodeAttribute()
    location = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="")
    seq = NumberAttribute(default=0)  # its place, oldest first, in the push that brought it (orders equal times)


class FreightTemplateModel(Model):
    """A freight template (运费模板): fees by weight and province, a free-over threshold, excluded provinces; how
    many products use it (a product write counts itself in or out, in its own transaction)."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True, default=FREIGHT_PK)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    rules = JSONAttribute()  # {"default", "regions", "free_over_fen", "excluded_provinces"}
    products_using = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
