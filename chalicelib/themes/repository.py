"""The only module that touches the theme model."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import PutError

from chalicelib.errors import Conflict, NotFound
from chalicelib.themes.models import ThemeModel

FIELDS = ("title", "subtitle", "banner_url", "product_ids", "starts_at", "ends_at", "sort_order", "updated_at")


class ThemeRepository(Protocol):
    def themes(self) -> list[dict[str, Any]]: ...
    def save_theme(self, theme: dict[str, Any], create: bool) -> None: ...


def _as_dict(item: ThemeModel) -> dict[str, Any]:
    theme = {"theme_id": item.sk, **{name: getattr(item, name) for name in FIELDS}}
    theme["product_ids"] = list(item.product_ids or [])
    theme["sort_order"] = int(item.sort_order or 0)
    rule = item.rule.as_dict() if isinstance(item.rule, MapAttribute) else item.rule
    theme["rule"] = dict(rule) if rule else None
    return theme


class DynamoThemeRepository:
    def themes(self) -> list[dict[str, Any]]:
        return [_as_dict(item) for item in ThemeModel.query("THEME")]

    def save_theme(self, theme: dict[str, Any], create: bool) -> None:
        item = ThemeModel(
            "THEME", theme["theme_id"], **{name: theme[name] for name in FIELDS}, rule=theme["rule"] or {}
        )
        try:
            item.save(condition=ThemeModel.sk.does_not_exist() if create else ThemeModel.sk.exists())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise (Conflict("This theme exists already") if create else NotFound("No such theme")) from error
            raise
