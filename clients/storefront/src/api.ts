import { createApi } from '@shop/shared'
import { reactive } from 'vue'

const expiredHandlers: (() => void)[] = []

/** Run `handler` when the session can no longer be refreshed (the router sends the person to sign in). */
export function onSessionExpired(handler: () => void): void {
  expiredHandlers.push(handler)
}

export const api = createApi({
  storageKey: 'shop.storefront.session',
  onSessionExpired: () => expiredHandlers.forEach((handler) => handler()),
})
export const { client, call, session } = api

/** What several pages show: the cart's line count (the tab bar's badge). */
export const shop = reactive({ cartCount: 0 })

export async function refreshCartCount(): Promise<void> {
  if (!session.signedIn) {
    shop.cartCount = 0
    return
  }
  try {
    const cart = await call(client.GET('/cart'))
    shop.cartCount = cart.items.reduce((n, line) => n + line.quantity, 0)
  } catch {
    /* the badge is a hint */
  }
}
