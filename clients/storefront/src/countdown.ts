import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

/** The time now (ms), ticking every `everyMs` while the component is mounted; the timer stops on unmount. */
export function useNow(everyMs = 1000): Ref<number> {
  const now = ref(Date.now())
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    timer = setInterval(() => (now.value = Date.now()), everyMs)
  })
  onBeforeUnmount(() => clearInterval(timer))
  return now
}

/** What is left until `iso` as 1天 02:03:04 (or 02:03:04 within a day); 00:00:00 once passed. */
export function timeLeft(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((new Date(iso).getTime() - now) / 1000))
  const p = (n: number) => String(n).padStart(2, '0')
  const days = Math.floor(seconds / 86400)
  const clock = `${p(Math.floor((seconds % 86400) / 3600))}:${p(Math.floor((seconds % 3600) / 60))}:${p(seconds % 60)}`
  return days ? `${days}天 ${clock}` : clock
}

type Session = { status: 'UPCOMING' | 'ACTIVE' | 'ENDED'; starts_at: string; ends_at: string }

/** A flash sale's countdown: to its end while it runs, to its start before; its label says which. */
export function saleCountdown(session: Session, now: number): { label: string; left: string } {
  if (session.status === 'ACTIVE') return { label: '距结束', left: timeLeft(session.ends_at, now) }
  if (session.status === 'UPCOMING') return { label: '距开始', left: timeLeft(session.starts_at, now) }
  return { label: '已结束', left: '' }
}

/** The Chinese for the API's flash-sale refusals (409 codes, and a LOST attempt's reason). */
export const FLASH_REFUSAL: Record<string, string> = {
  NOT_STARTED: '秒杀尚未开始',
  ENDED: '秒杀已结束',
  SOLD_OUT: '已抢光',
  LIMIT_REACHED: '已达每人限购数量',
  UNDELIVERABLE: '收货地址不在配送范围内',
}
