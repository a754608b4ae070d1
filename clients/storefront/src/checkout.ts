import type { Schemas } from '@shop/shared'
import { call, client } from './api'

export interface CheckoutLine {
  sku_id: string
  product_id: string
  title: string
  attributes: Record<string, unknown>
  image_url: string | null
  price_fen: number
  quantity: number
}

export interface CouponChoice {
  coupon_id: string
  name: string
  discount_fen: number
}

export interface Quote {
  lines: CheckoutLine[]
  goods_fen: number
  promotion_discount_fen: number
  shipping_fen: number
  coupons: CouponChoice[]
  best_coupon_id: string | null
  points_balance: number
  /** Points as a share of the payable amount: rules from GET /points/rules. */
  rules: Schemas['Rules']
}

export interface CheckoutRequest {
  fromCart: boolean
  product?: string
  sku?: string
  quantity?: number
}

/**
 * What the checkout page shows before the order is placed, from today's cart, product and coupon routes.
 * When the API serves `POST /orders/preview` this one function switches to it: the order's own pricing.
 */
export async function quote(request: CheckoutRequest): Promise<Quote> {
  const [points, rules] = await Promise.all([call(client.GET('/me/points', { params: { query: { page_size: 1 } } })), call(client.GET('/points/rules'))])
  if (request.fromCart) {
    const cart = await call(client.GET('/cart'))
    const lines = cart.items
      .filter((l) => l.selected && l.available)
      .map((l) => ({ sku_id: l.sku_id, product_id: l.product_id, title: l.title, attributes: l.attributes, image_url: l.image_url, price_fen: l.price_fen ?? 0, quantity: l.quantity }))
    return {
      lines,
      goods_fen: cart.summary.subtotal_fen,
      promotion_discount_fen: cart.summary.promotion_discount_fen,
      shipping_fen: cart.summary.shipping_fen,
      coupons: cart.coupons.applicable.map((c) => ({ coupon_id: c.coupon_id, name: c.name, discount_fen: c.discount_fen })),
      best_coupon_id: cart.coupons.best?.coupon_id ?? null,
      points_balance: points.balance,
      rules,
    }
  }
  const product = await call(client.GET('/products/{product_id}', { params: { path: { product_id: request.product ?? '' } } }))
  const sku = product.skus.find((s) => s.sku_id === request.sku)
  if (!sku) throw new Error('该规格已下架')
  const quantity = request.quantity ?? 1
  const goods = sku.price_fen * quantity // after the running promotion (the coupon threshold applies to it)
  const mine = await call(client.GET('/me/coupons', { params: { query: { status: 'unused', page_size: 100 } } }))
  const coupons = mine.items
    .filter((c) => c.threshold_fen <= goods && (c.scope === 'all' || c.scope_ids.includes(product.product_id) || c.scope_ids.includes(product.category_id)))
    .map((c) => ({
      coupon_id: c.coupon_id,
      name: c.name,
      discount_fen: Math.min(goods, c.type === 'amount_off' ? (c.amount_off_fen ?? 0) : Math.min(Math.floor((goods * (c.percent_off ?? 0)) / 100), c.max_discount_fen ?? Infinity)),
    }))
    .sort((a, b) => b.discount_fen - a.discount_fen)
  return {
    lines: [{ sku_id: sku.sku_id, product_id: product.product_id, title: product.title, attributes: sku.attributes, image_url: product.images[0] ?? null, price_fen: sku.price_fen, quantity }],
    goods_fen: sku.list_price_fen * quantity,
    promotion_discount_fen: (sku.list_price_fen - sku.price_fen) * quantity,
    shipping_fen: goods >= 9900 ? 0 : 1000,
    coupons,
    best_coupon_id: coupons[0]?.coupon_id ?? null,
    points_balance: points.balance,
    rules,
  }
}

/** The most points usable on `payable_fen` under the rules (whole steps, at most the given share). */
export function maxPoints(payable_fen: number, balance: number, rules: Schemas['Rules']): number {
  if (payable_fen <= 0) return 0
  const maxFen = Math.floor((payable_fen * rules.max_deduction_share_percent) / 100)
  const byShare = Math.floor(maxFen / 100) * rules.points_per_yuan_deduction
  const step = rules.deduction_step_points || 1
  return Math.floor(Math.min(byShare, balance) / step) * step
}
