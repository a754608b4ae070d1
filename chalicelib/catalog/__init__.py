"""Catalog: categories, brands, products with spec attributes and SKUs, stock, view counts."""
