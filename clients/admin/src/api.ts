import { createApi } from '@shop/shared'

const expiredHandlers: (() => void)[] = []
export function onSessionExpired(handler: () => void): void {
  expiredHandlers.push(handler)
}

// Staff keep a session of their own: a customer signed in to the storefront in the same browser stays signed in.
export const api = createApi({
  storageKey: 'shop.console.session',
  onSessionExpired: () => expiredHandlers.forEach((handler) => handler()),
})
export const { client, call, session } = api
