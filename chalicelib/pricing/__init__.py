"""Pricing: the one place where list prices, promotions, coupons, points and shipping become what a customer pays."""
