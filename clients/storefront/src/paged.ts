import { errorMessage } from '@shop/shared'
import { showToast } from 'vant'
import { ref, type Ref } from 'vue'

/** One page of an API list: `{items, next_cursor}`, next_cursor null on the last page. */
export interface CursorPage<T> {
  items: T[]
  next_cursor?: string | null
}

/**
 * A cursor list read a page at a time, for Vant's List (`:loading`, `:finished`, `@load="load()"`): `load()` appends
 * the next page until `next_cursor` is null, `load(true)` starts over (a filter changed). A page that comes back
 * after a restart is dropped, so a slow answer for a former filter never lands in the new list. A failure shows its
 * message and stops the list (no endless retries on scroll).
 */
export function usePagedList<T>(fetchPage: (cursor: string | undefined) => Promise<CursorPage<T>>) {
  const items = ref([]) as Ref<T[]>
  const loading = ref(false)
  const finished = ref(false)
  let cursor: string | undefined
  let run = 0

  async function load(restart = false): Promise<void> {
    if (restart) {
      run += 1
      items.value = []
      cursor = undefined
      finished.value = false
    } else if (finished.value) {
      return
    }
    const mine = run
    loading.value = true
    try {
      const page = await fetchPage(cursor)
      if (mine !== run) return
      items.value = [...items.value, ...page.items]
      cursor = page.next_cursor ?? undefined
      finished.value = !page.next_cursor
    } catch (error) {
      if (mine !== run) return
      finished.value = true
      showToast(errorMessage(error))
    } finally {
      if (mine === run) loading.value = false
    }
  }

  return { items, loading, finished, load }
}

/**
 * Reads a cursor list page by page and keeps the items `keep` accepts, stopping once `enough(kept, page)` holds (the
 * items sought are all found, or the page shows that none can follow) or the list ends: for finding a few items in a
 * list that has no filter for them (which of my reviews are of this order).
 * Failures propagate to the caller.
 */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<CursorPage<T>>,
  keep: (item: T) => boolean,
  enough: (kept: T[], page: CursorPage<T>) => boolean,
): Promise<T[]> {
  const kept: T[] = []
  let cursor: string | undefined
  do {
    const page = await fetchPage(cursor)
    kept.push(...page.items.filter(keep))
    if (enough(kept, page)) break
    cursor = page.next_cursor ?? undefined
  } while (cursor)
  return kept
}
