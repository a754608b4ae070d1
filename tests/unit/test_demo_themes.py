"""The demo themes are valid admin input and name real demo products."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.themes.schemas import ThemeWrite
from local.demo import catalog as demo_catalog
from local.demo import themes as demo_themes


def test_every_demo_theme_is_valid_and_its_curated_products_exist() -> None:
    known = {p["product_id"] for p in demo_catalog.products()}
    themes = [ThemeWrite.model_validate(body) for body in demo_themes.themes(datetime(2026, 11, 24, tzinfo=UTC))]

    assert len(themes) >= 3
    assert all(set(t.product_ids) <= known for t in themes)
    assert any(t.rule for t in themes)
    assert all(t.starts_at < datetime(2026, 11, 24, tzinfo=UTC) < t.ends_at for t in themes)
