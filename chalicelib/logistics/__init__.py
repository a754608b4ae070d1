"""Logistics: carriers in kuaidi100's codes, parcels and their tracking events, freight templates."""
