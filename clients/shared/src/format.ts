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
  RETURN_SHIPPED: '已寄回',
  RETURN_RECEIVED: '商家已收货',
  REFUNDED: '已退款',
  RESHIPPED: '已重新发货',
  CANCELLED: '已撤销',
}

/** The four kinds of after-sales case. */
export const REFUND_TYPE: Record<string, string> = {
  refund_only: '仅退款',
  return_refund: '退货退款',
  exchange: '换货',
  repair: '维修',
}

/** Who moved an after-sales case on. */
export const CASE_ACTOR: Record<string, string> = {
  customer: '买家',
  staff: '商家',
  system: '系统',
}

export function attributesText(attributes: Record<string, unknown> | null | undefined): string {
  return Object.entries(attributes ?? {})
    .map(([k, v]) => `${k}：${String(v)}`)
    .join('；')
}
