/** Money is integer fen in the API; people read yuan. */
export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '-'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** Yuan typed by a person (e.g. "12.5") as integer fen, or null when it is not an amount. */
export function toFen(text: string | number): number | null {
  const value = String(text).trim()
  if (!/^\d+(\.\d{1,2})?$/.test(value)) return null
  const [whole, frac = ''] = value.split('.')
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'))
}

/** An ISO 8601 UTC time in the browser's zone, e.g. 2026-11-24 16:00. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '-'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

export const ORDER_STATUS: Record<string, string> = {
  PENDING_PAYMENT: '待付款',
  PAID: '待发货',
  SHIPPED: '待收货',
  RECEIVED: '已收货',
  COMPLETED: '已完成',
  CANCELLED: '已取消',
  REFUNDING: '退款中',
  REFUNDED: '已退款',
}

export const REFUND_STATUS: Record<string, string> = {
  PENDING: '待审核',
  APPROVED: '已同意',
  REJECTED: '已拒绝',
  REFUNDED: '已退款',
}

export function attributesText(attributes: Record<string, unknown> | null | undefined): string {
  return Object.entries(attributes ?? {})
    .map(([k, v]) => `${k}：${String(v)}`)
    .join('；')
}
