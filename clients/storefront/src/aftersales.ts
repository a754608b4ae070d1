import type { Schemas } from '@shop/shared'

export type Case = Schemas['Refund']
export type CaseType = Case['type']
type Order = Schemas['Order']
type Line = Order['items'][number]

/** Cases that still hold their units (a line's units in them cannot be asked for again). */
export const OPEN_CASE: readonly string[] = ['PENDING', 'APPROVED', 'RETURN_SHIPPED', 'RETURN_RECEIVED']

/** The types an order's status allows (the return window is the API's to check: it answers 409 after it). */
export function typesFor(status: string): CaseType[] {
  if (status === 'PAID') return ['refund_only']
  if (status === 'SHIPPED' || status === 'RECEIVED') return ['return_refund', 'exchange', 'repair']
  if (status === 'COMPLETED') return ['repair']
  return []
}

/** A line's units left for a new case: bought, less refunded, less held by open cases (a whole-order case holds all). */
export function unitsLeft(line: Line, cases: readonly Case[]): number {
  const open = cases.filter((c) => OPEN_CASE.includes(c.status))
  if (open.some((c) => !c.items.length)) return 0
  const held = open.flatMap((c) => c.items).filter((i) => i.sku_id === line.sku_id).reduce((n, i) => n + i.quantity, 0)
  return Math.max(0, line.quantity - (line.refunded_quantity ?? 0) - held)
}
