"""Promotions: time-limited SKU prices (限时折扣) and threshold discounts (满减), with schedules."""
