"""The cart: lines per user, priced with the current catalog, promotions and coupons."""
