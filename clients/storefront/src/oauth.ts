/** Third-party sign-in (WeChat, Weibo, QQ): where the provider sends the browser back, and what to keep meanwhile. */
export const PROVIDERS = [
  { id: 'wechat', name: '微信', color: '#07c160', icon: 'wechat' },
  { id: 'weibo', name: '微博', color: '#e6162d', icon: 'weibo' },
  { id: 'qq', name: 'QQ', color: '#12b7f5', icon: 'qq' },
] as const
export type Provider = (typeof PROVIDERS)[number]['id']

const KEY = 'shop.storefront.oauth'

export interface PendingOAuth {
  provider: Provider
  state: string
  stateKey?: string // the authorize answer's state_key, sent back as X-OAuth-State-Key where the API asks for it
  redirect: string // the page to return to once signed in
}

export function callbackUrl(provider: Provider): string {
  return `${location.origin}${import.meta.env.BASE_URL}login/oauth/${provider}`
}

export function rememberPending(pending: PendingOAuth): void {
  sessionStorage.setItem(KEY, JSON.stringify(pending))
}

export function takePending(): PendingOAuth | null {
  const raw = sessionStorage.getItem(KEY)
  sessionStorage.removeItem(KEY)
  try {
    return raw ? (JSON.parse(raw) as PendingOAuth) : null
  } catch {
    return null
  }
}
