/** The API's error body, `{code, message, request_id, errors?: [{field, message}]}`, as one exception. */
export interface FieldError {
  field: string
  message: string
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string
  readonly fieldErrors: FieldError[]

  constructor(status: number, body: unknown) {
    const data = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
    super(typeof data.message === 'string' ? data.message : `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.code = typeof data.code === 'string' ? data.code : status === 0 ? 'NETWORK_ERROR' : 'HTTP_ERROR'
    this.requestId = typeof data.request_id === 'string' ? data.request_id : ''
    this.fieldErrors = Array.isArray(data.errors)
      ? data.errors
          .filter((e): e is FieldError => !!e && typeof e === 'object' && typeof (e as FieldError).field === 'string')
          .map((e) => ({ field: e.field, message: String(e.message ?? '') }))
      : []
  }

  /** Field errors keyed by the field's name (its first path part, e.g. `items.0.quantity` also under `items`). */
  byField(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const { field, message } of this.fieldErrors) {
      const parts = field.split('.')
      for (let i = parts.length; i >= 1; i--) {
        const key = parts.slice(0, i).join('.')
        if (!(key in out)) out[key] = message
      }
    }
    return out
  }
}

/** The message to show a person for any failure (API error, network error, bug). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return '网络异常，请稍后重试'
    if (error.status === 429) return '操作太频繁，请稍后再试'
    if (error.status >= 500) return `服务暂时不可用（${error.requestId || error.status}）`
    return error.message
  }
  return error instanceof Error ? error.message : String(error)
}
