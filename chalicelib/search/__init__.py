"""Search: Chinese full-text search over the catalog, suggestions, hot words."""
