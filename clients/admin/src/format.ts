import { yuan } from '@shop/shared'

export { attributesText, dateTime, ORDER_STATUS, REFUND_STATUS, toFen, yuan } from '@shop/shared'

/** A points reward's price: `1500 积分`, or with a cash part `1500 积分 + ¥19.90`. */
export function pointsPrice(points: number, cashFen?: number | null): string {
  return cashFen ? `${points} 积分 + ${yuan(cashFen)}` : `${points} 积分`
}

/** A local datetime-picker value (Date) as the API's ISO 8601 UTC text. */
export function iso(value: Date | string | null | undefined): string | null {
  if (!value) return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
