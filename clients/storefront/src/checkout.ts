import type { Schemas } from '@shop/shared'
import { call, client } from './api'

export type Preview = Schemas['OrderPreview']

/** Where the checkout's goods come from: the cart's selected lines, or one SKU bought at once. */
export interface CheckoutRequest {
  fromCart: boolean
  sku?: string
  quantity?: number
}

/** The buyer's choices on the checkout page; `couponId` undefined lets the API pick the best coupon, null uses none. */
export interface CheckoutChoices {
  addressId: string | null
  couponId?: string | null
  points: number
  remark: string
}

/** The order body `POST /orders/preview` takes (and `POST /orders`, once an address is chosen) for these choices. */
export function orderBody(request: CheckoutRequest, choices: CheckoutChoices): Schemas['OrderPreviewRequest'] {
  const body: Schemas['OrderPreviewRequest'] = {
    address_id: choices.addressId,
    points: choices.points,
    remark: choices.remark,
    ...(request.fromCart ? { from_cart: true } : { items: [{ sku_id: request.sku ?? '', quantity: request.quantity ?? 1 }] }),
  }
  if (choices.couponId !== undefined) body.coupon_id = choices.couponId
  return body
}

/** What the order would charge now, priced by the API itself (`POST /orders/preview`): nothing is written. */
export function preview(request: CheckoutRequest, choices: CheckoutChoices): Promise<Preview> {
  return call(client.POST('/orders/preview', { body: orderBody(request, choices) }))
}
