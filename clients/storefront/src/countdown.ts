import { onBeforeUnmount, onMounted, ref, watch, type Ref } from 'vue'

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

/**
 * Call `reload` when a shown sale starts or ends (its countdown reaches zero), so its status and button follow;
 * at most once every few seconds, in case the server's clock is a moment behind the browser's.
 */
export function reloadAtBoundaries(now: Ref<number>, sessions: () => Session[], reload: () => unknown): void {
  let last = 0
  watch(now, (at) => {
    const crossed = sessions().some(
      (s) => (s.status === 'UPCOMING' && Date.parse(s.starts_at) <= at) || (s.status === 'ACTIVE' && Date.parse(s.ends_at) <= at),
    )
    if (crossed && at - last > 5000) {
      last = at
      void reload()
    }
  })
}
