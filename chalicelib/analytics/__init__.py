"""Analytics: behaviour and order events collected, cleaned, rolled up and reported."""
