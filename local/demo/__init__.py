"""The demo shop `make run` seeds: the catalog (category tree, brands, products from data/*.toml), coupons,
promotions, themes and shopping behaviour, written through the app's own services (seed.py)."""
