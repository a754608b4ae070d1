import { errorMessage, useFieldErrors } from '@shop/shared'
import { ElMessage } from 'element-plus'
import { ref } from 'vue'

export function toastError(error: unknown): void {
  ElMessage.error(errorMessage(error))
}

/** A form's API field errors, shown by each el-form-item's `:error`. */
export function useForm() {
  return useFieldErrors((message) => ElMessage.error(message))
}

/** Cursor paging for the API's `{items, next_cursor}` lists: next / back through the cursors seen. */
export function useCursorPages<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>) {
  const items = ref<T[]>([]) as { value: T[] }
  const loading = ref(false)
  const cursors = ref<(string | undefined)[]>([undefined])
  const next = ref<string | null>(null)
  async function load(index = cursors.value.length - 1) {
    loading.value = true
    try {
      const page = await fetchPage(cursors.value[index])
      items.value = page.items
      next.value = page.next_cursor ?? null
      cursors.value = cursors.value.slice(0, index + 1)
    } catch (error) {
      toastError(error)
    } finally {
      loading.value = false
    }
  }
  const reset = () => {
    cursors.value = [undefined]
    return load(0)
  }
  const forward = () => {
    if (!next.value) return
    cursors.value.push(next.value)
    return load(cursors.value.length - 1)
  }
  const back = () => load(Math.max(0, cursors.value.length - 2))
  return { items, loading, next, cursors, load, reset, forward, back }
}
