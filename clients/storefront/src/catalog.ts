import type { Schemas } from '@shop/shared'
import { call, client } from './api'

export type CategoryNode = Schemas['CategoryNode']

let tree: Promise<CategoryNode[]> | null = null

/** The category tree as the API nests it (`GET /categories/tree`), fetched once per page load. */
export function categoryTree(): Promise<CategoryNode[]> {
  tree ??= call(client.GET('/categories/tree'))
    .then((answer) => answer.items)
    .catch((error) => {
      tree = null
      throw error
    })
  return tree
}
