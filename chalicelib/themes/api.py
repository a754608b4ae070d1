"""HTTP routes of themes: admin management and the public themed collections."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.http import endpoint
from chalicelib.themes import service
from chalicelib.themes.repository import DynamoThemeRepository
from chalicelib.themes.schemas import Theme, ThemeList, ThemeQuery, ThemeWithItems, ThemeWrite

themes_api = Blueprint(__name__)
repo = DynamoThemeRepository()
catalog_repo = DynamoCatalogRepository()


@endpoint(themes_api, "/themes", summary="Themes (主题活动) running now", tags=("themes",), response=ThemeList)
def list_active_themes() -> dict[str, Any]:
    return service.list_themes(repo, active_only=True)


@endpoint(themes_api, "/themes/{theme_id}", summary="One theme with its products", tags=("themes",),
          query=ThemeQuery, response=ThemeWithItems, errors=(404,))  # fmt: skip
def get_theme(theme_id: str, query: ThemeQuery) -> dict[str, Any]:
    return service.get_theme(repo, catalog_repo, theme_id, query.items_limit)


@endpoint(themes_api, "/admin/themes", summary="All themes, past and future", tags=("admin",), auth="admin",
          response=ThemeList)  # fmt: skip
def list_all_themes() -> dict[str, Any]:
    return service.list_themes(repo, active_only=False)


@endpoint(themes_api, "/admin/themes", "POST", summary="Create a theme", tags=("admin",), auth="admin",
          body=ThemeWrite, response=Theme, status=201)  # fmt: skip
def create_theme(body: ThemeWrite) -> dict[str, Any]:
    return service.save_theme(repo, catalog_repo, body)


@endpoint(themes_api, "/admin/themes/{theme_id}", "PUT", summary="Replace a theme", tags=("admin",), auth="admin",
          body=ThemeWrite, response=Theme, errors=(404,))  # fmt: skip
def update_theme(theme_id: str, body: ThemeWrite) -> dict[str, Any]:
    return service.save_theme(repo, catalog_repo, body, theme_id)
