import type { Schemas } from '@shop/shared'
import { call, client } from './api'

export interface CategoryNode {
  category_id: string
  name: string
  children: CategoryNode[]
}

let tree: Promise<CategoryNode[]> | null = null

/**
 * The category tree. Built here from the flat `GET /categories` list for now; when the API serves
 * `GET /categories/tree` this one function switches to it (same shape: category_id, name, children).
 */
export function categoryTree(): Promise<CategoryNode[]> {
  tree ??= call(client.GET('/categories'))
    .then((list) => buildTree(list.items))
    .catch((error) => {
      tree = null
      throw error
    })
  return tree
}

export function buildTree(items: Schemas['Category'][]): CategoryNode[] {
  const nodes = new Map<string, CategoryNode & { order: number }>()
  for (const c of items) nodes.set(c.category_id, { category_id: c.category_id, name: c.name, children: [], order: c.sort_order ?? 0 })
  const roots: (CategoryNode & { order: number })[] = []
  for (const c of items) {
    const node = nodes.get(c.category_id)!
    const parent = c.parent_id ? nodes.get(c.parent_id) : undefined
    if (parent) parent.children.push(node)
    else roots.push(node)
  }
  const sort = (list: CategoryNode[]) => {
    list.sort((a, b) => (a as CategoryNode & { order: number }).order - (b as CategoryNode & { order: number }).order)
    list.forEach((n) => sort(n.children))
  }
  sort(roots)
  return roots
}
