import { call, client } from './api'

type Purpose = 'review' | 'feedback' | 'avatar'
type ImageType = 'image/jpeg' | 'image/png' | 'image/webp'

export const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp']
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024

/**
 * Upload one image as the API's upload flow asks: `POST /uploads` declares its type and size, the bytes go straight to
 * the presigned `upload_url` with the ticket's headers, and the answer is the `public_url` a review (or feedback) may
 * then name in its `images`. A type or size the API refuses fails with its 400 (an ApiError), a failed PUT with an Error.
 */
export async function uploadImage(file: File, purpose: Purpose): Promise<string> {
  const ticket = await call(
    client.POST('/uploads', { body: { purpose, content_type: file.type as ImageType, size_bytes: file.size } }),
  )
  // Content-Length is the browser's to set (a forbidden header for scripts); it sends the file's exact length.
  const headers = Object.fromEntries(Object.entries(ticket.headers).filter(([name]) => name.toLowerCase() !== 'content-length'))
  const put = await fetch(ticket.upload_url, { method: ticket.method, headers, body: file })
  if (!put.ok) throw new Error(`图片上传失败（${put.status}）`)
  return ticket.public_url
}
