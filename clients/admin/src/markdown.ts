import MarkdownIt from 'markdown-it'

/**
 * Markdown an operator wrote (the points rules' explanation) as HTML safe to bind with v-html: raw HTML in the text is
 * escaped (`html: false`), and links keep markdown-it's default validation (no `javascript:`, `vbscript:`, `file:` or
 * non-image `data:` URLs). Imported by the pages that show it only, so the parser stays out of the first load.
 */
const parser = new MarkdownIt({ html: false, linkify: false, typographer: false })

export function renderMarkdown(text: string): string {
  return parser.render(text)
}
