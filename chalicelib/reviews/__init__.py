"""Reviews and ratings: a buyer's review of each received order line, and each product's rating summary."""
