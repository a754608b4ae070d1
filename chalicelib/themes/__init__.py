"""Themes (主题活动): admin-defined curated or rule-based product collections."""
