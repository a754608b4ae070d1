/** Per-stage settings: `config.js` (served beside index.html, rewritten per stage on deploy) sets window.SHOP_CONFIG. */
export interface ShopConfig {
  /** Base URL of the API; empty when the client is served by the API's own origin (`make run`). */
  apiBase: string
}

declare global {
  interface Window {
    SHOP_CONFIG?: Partial<ShopConfig>
  }
}

export function shopConfig(): ShopConfig {
  const given = (typeof window !== 'undefined' && window.SHOP_CONFIG) || {}
  return { apiBase: (given.apiBase ?? '').replace(/\/$/, '') }
}
