// Per-stage settings, rewritten on deploy: apiBase is the API's URL (empty: the API serves this page itself).
window.SHOP_CONFIG = { apiBase: '' }
