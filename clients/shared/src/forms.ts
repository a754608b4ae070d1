import { reactive } from 'vue'
import { ApiError, errorMessage } from './errors'

/**
 * A form's field errors from the API's 400 (`errors[].field` / `message`), shown next to each field.
 * `run(fn)` clears them, runs the call, and on a field error fills them and returns undefined; any other error is
 * handed to `onOther` (a toast) and also returns undefined.
 */
export function useFieldErrors(onOther: (message: string) => void) {
  const errors = reactive<Record<string, string>>({})
  function clear() {
    for (const key of Object.keys(errors)) delete errors[key]
  }
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    clear()
    try {
      return await fn()
    } catch (error) {
      if (error instanceof ApiError && error.fieldErrors.length) {
        Object.assign(errors, error.byField())
        const unplaced = error.fieldErrors.filter((e) => e.field === '(body)' || e.field === '')
        onOther(unplaced.length ? unplaced[0].message : error.message)
      } else {
        onOther(errorMessage(error))
      }
      return undefined
    }
  }
  return { errors, clear, run }
}
