"""HTTP routes of themes: admin management and the public themed collections."""

from __future__ import annotations

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.routes import Json, Routes
from chalicelib.themes import service
from chalicelib.themes.repository import ThemeRepository
from chalicelib.themes.schemas import Theme, ThemeList, ThemeQuery, ThemeWithItems, ThemeWrite

themes_api = Routes(__name__, tags=("themes",), admin_tags=("admin",))


@themes_api.get("/themes")
def list_active_themes(themes: ThemeRepository) -> Json[ThemeList]:
    """Themes (主题活动) running now"""
    return service.list_themes(themes, active_only=True)


@themes_api.get("/themes/{theme_id}", errors=(404,))
def get_theme(
    theme_id: str, query: ThemeQuery, themes: ThemeRepository, catalog: CatalogRepository
) -> Json[ThemeWithItems]:
    """One theme with its products"""
    return service.get_theme(themes, catalog, theme_id, query.items_limit)


@themes_api.get("/admin/themes", roles=("operator",))
def list_all_themes(themes: ThemeRepository) -> Json[ThemeList]:
    """All themes, past and future"""
    return service.list_themes(themes, active_only=False)


@themes_api.post("/admin/themes", status=201, roles=("operator",))
def create_theme(body: ThemeWrite, themes: ThemeRepository, catalog: CatalogRepository) -> Json[Theme]:
    """Create a theme"""
    return service.save_theme(themes, catalog, body)


@themes_api.put("/admin/themes/{theme_id}", errors=(404,), roles=("operator",))
def update_theme(theme_id: str, body: ThemeWrite, themes: ThemeRepository, catalog: CatalogRepository) -> Json[Theme]:
    """Replace a theme"""
    return service.save_theme(themes, catalog, body, theme_id)
