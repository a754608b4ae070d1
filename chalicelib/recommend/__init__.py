"""Recommendations: home page lists, similar items and personal picks, refreshed on a schedule."""
