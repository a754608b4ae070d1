"""Coupons: admin templates, claiming, the user's coupons, locking one to an order."""
