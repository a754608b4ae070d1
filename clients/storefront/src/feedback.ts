import type { Schemas } from '@shop/shared'

export type FeedbackType = Schemas['FeedbackWrite']['type']

export const FEEDBACK_TYPES: { value: FeedbackType; label: string }[] = [
  { value: 'suggestion', label: '建议' },
  { value: 'complaint', label: '投诉' },
  { value: 'bug', label: '故障' },
  { value: 'other', label: '其他' },
]

export const FEEDBACK_TYPE: Record<string, string> = Object.fromEntries(FEEDBACK_TYPES.map((t) => [t.value, t.label]))

export const FEEDBACK_STATUS: Record<Schemas['Feedback']['status'], { text: string; tag: 'warning' | 'success' | 'default' }> = {
  OPEN: { text: '待处理', tag: 'warning' },
  REPLIED: { text: '已回复', tag: 'success' },
  CLOSED: { text: '已关闭', tag: 'default' },
}
