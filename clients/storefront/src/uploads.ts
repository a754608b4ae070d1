import { errorMessage, type Schemas } from '@shop/shared'
import { showToast, type UploaderFileListItem } from 'vant'
import { reactive } from 'vue'

import { call, client } from './api'

type Purpose = Schemas['UploadRequest']['purpose']
type ImageType = Schemas['UploadRequest']['content_type']

export const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp']
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024

/**
 * Upload one image as the API's upload flow asks: `POST /uploads` declares its type and size, the bytes go straight to
 * the presigned `upload_url` with the ticket's headers, and the answer is the `public_url` a review, feedback or after-sales
 * request may then name in its `images`. A type or size the API refuses fails with its 400 (an ApiError), a failed PUT with an Error.
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

/** A picked photo as the uploader lists it, with the `public_url` it got once uploaded. */
export type Photo = UploaderFileListItem & { publicUrl?: string }

/**
 * The uploader's hooks for photos sent along with a form: `beforeRead` refuses other types than the API takes,
 * `afterRead` uploads each chosen file at once (so submitting only names the stored photos), showing its state on it.
 */
export function photoUploads(purpose: Purpose) {
  async function afterRead(picked: UploaderFileListItem | UploaderFileListItem[]) {
    for (const item of Array.isArray(picked) ? picked : [picked]) {
      if (!item.file) continue
      const photo: Photo = reactive(item) // Vant hands over the plain item: change it through its proxy so the list re-renders
      photo.status = 'uploading'
      photo.message = '上传中'
      try {
        photo.publicUrl = await uploadImage(item.file, purpose)
        photo.status = 'done'
        photo.message = ''
      } catch (error) {
        photo.status = 'failed'
        photo.message = '上传失败'
        showToast(errorMessage(error))
      }
    }
  }

  function beforeRead(file: File | File[]): boolean {
    const files = Array.isArray(file) ? file : [file]
    if (files.some((f) => !IMAGE_TYPES.includes(f.type))) {
      showToast('请选择 JPG、PNG 或 WebP 图片')
      return false
    }
    return true
  }

  return { afterRead, beforeRead }
}
