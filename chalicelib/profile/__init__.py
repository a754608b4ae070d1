"""The personal center: addresses, favorites, footprints and search history of the signed-in user."""
