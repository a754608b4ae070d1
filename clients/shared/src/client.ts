/**
 * The typed API client both apps use: openapi-fetch over the generated `paths`, with the session's bearer token,
 * a refresh before the access token runs out (one at a time, across tabs), and one retry after a 401.
 */
import createClient from 'openapi-fetch'
import { shallowRef } from 'vue'
import type { components, paths } from './api-types'
import { shopConfig } from './config'
import { ApiError } from './errors'

export type Schemas = components['schemas']
export type UserSummary = Schemas['UserSummary']

interface StoredSession {
  accessToken: string
  refreshToken: string
  expiresAt: number // epoch ms
  user: UserSummary
}

interface TokenAnswer {
  access_token: string
  refresh_token: string
  expires_in: number
  user: UserSummary
}

const REFRESH_MARGIN_MS = 30_000

/** The signed-in session, kept in localStorage under its own key (the storefront and console keep separate ones). */
export class Session {
  readonly user = shallowRef<UserSummary | null>(null)
  private stored: StoredSession | null = null

  constructor(readonly storageKey: string) {
    this.reload()
    window.addEventListener('storage', (event) => {
      if (event.key === storageKey) this.reload()
    })
  }

  get signedIn(): boolean {
    return this.stored !== null
  }

  get accessToken(): string | null {
    return this.stored?.accessToken ?? null
  }

  get refreshToken(): string | null {
    return this.stored?.refreshToken ?? null
  }

  expiresSoon(now = Date.now()): boolean {
    return !!this.stored && this.stored.expiresAt - REFRESH_MARGIN_MS <= now
  }

  hasRole(role: string): boolean {
    return !!this.user.value?.roles.includes(role)
  }

  reload(): void {
    try {
      const raw = localStorage.getItem(this.storageKey)
      const parsed = raw ? (JSON.parse(raw) as StoredSession) : null
      this.stored = parsed && parsed.accessToken && parsed.refreshToken ? parsed : null
    } catch {
      this.stored = null
    }
    this.user.value = this.stored?.user ?? null
  }

  save(answer: TokenAnswer): void {
    this.stored = {
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token,
      expiresAt: Date.now() + answer.expires_in * 1000,
      user: answer.user,
    }
    localStorage.setItem(this.storageKey, JSON.stringify(this.stored))
    this.user.value = answer.user
  }

  clear(): void {
    this.stored = null
    localStorage.removeItem(this.storageKey)
    this.user.value = null
  }
}

export interface ApiOptions {
  storageKey: string
  /** Called when the session could not be refreshed (the person must sign in again). */
  onSessionExpired?: () => void
}

type Result<T> = { data?: T; error?: unknown; response: Response }

export function createApi(options: ApiOptions) {
  const session = new Session(options.storageKey)
  const base = shopConfig().apiBase
  let refreshing: Promise<boolean> | null = null

  /** Exchange the refresh token unless another tab or request already replaced `staleToken`. */
  async function exchangeRefreshToken(staleToken: string | null): Promise<boolean> {
    session.reload() // another tab may have refreshed already (refresh tokens rotate: only one may use it)
    if (!session.signedIn) return false
    if (session.accessToken !== staleToken && !session.expiresSoon()) return true
    try {
      const response = await fetch(`${base}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      })
      if (!response.ok) {
        if (response.status === 401 || response.status === 400) {
          session.clear()
          options.onSessionExpired?.()
        }
        return false
      }
      session.save((await response.json()) as TokenAnswer)
      return true
    } catch {
      return false // offline: keep the session, the request fails as it would have
    }
  }

  /** Refresh the access token once, whoever asks (this tab's requests, or other tabs through a Web Lock). */
  function refresh(): Promise<boolean> {
    if (refreshing) return refreshing
    const stale = session.accessToken
    const run = () => exchangeRefreshToken(stale)
    const locks = (navigator as Navigator & { locks?: LockManager }).locks
    const pending: Promise<boolean> = locks ? (locks.request(`${options.storageKey}:refresh`, run) as unknown as Promise<boolean>) : run()
    refreshing = pending.finally(() => {
      refreshing = null
    })
    return refreshing
  }

  function withToken(request: Request): Request {
    const token = session.accessToken
    if (!token) return request
    const headers = new Headers(request.headers)
    headers.set('Authorization', `Bearer ${token}`)
    return new Request(request, { headers })
  }

  async function authFetch(input: Request): Promise<Response> {
    const isAuthCall = new URL(input.url, location.href).pathname.startsWith('/auth/')
    const retry = input.clone()
    if (!isAuthCall && session.signedIn && session.expiresSoon()) await refresh()
    const first = await fetch(withToken(input))
    if (first.status !== 401 || isAuthCall || !session.signedIn) return first
    if (!(await refresh()) || !session.signedIn) return first
    return fetch(withToken(retry))
  }

  const client = createClient<paths>({ baseUrl: base, fetch: authFetch })

  /** The answer's data, or an ApiError (status 0 when the network failed). */
  async function call<T>(pending: Promise<Result<T>>): Promise<T> {
    let result: Result<T>
    try {
      result = await pending
    } catch (error) {
      throw new ApiError(0, { message: error instanceof Error ? error.message : String(error) })
    }
    if (!result.response.ok) throw new ApiError(result.response.status, result.error)
    return result.data as T
  }

  async function signIn(answer: Promise<Result<TokenAnswer>>): Promise<UserSummary> {
    const tokens = await call(answer)
    session.save(tokens)
    return tokens.user
  }

  async function signOut(): Promise<void> {
    const token = session.refreshToken
    session.clear()
    if (token) {
      try {
        await client.POST('/auth/logout', { body: { refresh_token: token } })
      } catch {
        /* the tokens are gone from this browser either way */
      }
    }
  }

  return { client, call, session, signIn, signOut, refresh }
}

export type Api = ReturnType<typeof createApi>
