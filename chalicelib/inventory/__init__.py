"""Inventory: stock-change events, restock reservations and notifications, low-stock alerts."""
