/**
 * Reset windows of budgets and rate limits (`reset_duration`: `30s`, `5m`, `1h`, `1d`, `1w`,
 * `1M`, `1Q`, `1Y`, any whole count of a unit).
 *
 * A window is fixed, not sliding, and every instance computes the same one from the clock, so a
 * counter's key can carry its window (`...:<start>`) and a settlement always lands in the window
 * its reservation was made in:
 * - rolling (the default): windows of `count x unit` laid end to end from an anchor (the budget's
 *   `last_reset`, else 1970-01-01T00:00Z). A month is 30 days, a quarter 90, a year 365.
 * - calendar-aligned (`calendar_aligned: true`, units `d` and longer): windows start at UTC
 *   calendar boundaries: midnight, Monday 00:00, the 1st of the month, of the quarter
 *   (January, April, July, October), January 1st. Shorter units have no calendar boundary and
 *   stay rolling.
 */

const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Length of one unit in a rolling window. */
const UNIT_MS: Record<DurationUnit, number> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY, M: 30 * DAY, Q: 90 * DAY, Y: 365 * DAY }

export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'M' | 'Q' | 'Y'

export interface Duration {
  count: number
  unit: DurationUnit
  /** Length of a rolling window in ms. */
  ms: number
}

const PATTERN = /^([1-9][0-9]{0,5})([smhdwMQY])$/

/** `"5m"` -> `{ count: 5, unit: 'm', ms: 300000 }`; undefined when the text is not a duration. */
export function parseDuration(text: string): Duration | undefined {
  const match = PATTERN.exec(text)
  if (!match) return undefined
  const count = Number(match[1])
  const unit = match[2] as DurationUnit
  return { count, unit, ms: count * UNIT_MS[unit] }
}

/** One window: `[start, end)` in epoch ms. */
export interface Window {
  start: number
  end: number
}

/** 1970-01-05 was the first Monday after the epoch. */
const FIRST_MONDAY = 4 * DAY

/** Months since January 1970 of `at` (UTC). */
const monthIndex = (at: number) => {
  const date = new Date(at)
  return date.getUTCFullYear() * 12 + date.getUTCMonth() - 1970 * 12
}
const monthStart = (index: number) => Date.UTC(1970 + Math.floor(index / 12), ((index % 12) + 12) % 12, 1)

/** The window of `duration` that holds `now`. */
export function windowAt(duration: Duration, now: number, options: { calendarAligned?: boolean; anchor?: number } = {}): Window {
  if (options.calendarAligned) {
    const { count, unit } = duration
    if (unit === 'd' || unit === 'w') {
      const length = duration.ms
      const origin = unit === 'w' ? FIRST_MONDAY : 0
      const start = origin + Math.floor((now - origin) / length) * length
      return { start, end: start + length }
    }
    if (unit === 'M' || unit === 'Q' || unit === 'Y') {
      const months = count * (unit === 'M' ? 1 : unit === 'Q' ? 3 : 12)
      const first = Math.floor(monthIndex(now) / months) * months
      return { start: monthStart(first), end: monthStart(first + months) }
    }
    // s, m, h: no calendar boundary; epoch-anchored windows are on the clock's own ticks.
    const start = Math.floor(now / duration.ms) * duration.ms
    return { start, end: start + duration.ms }
  }
  const anchor = options.anchor ?? 0
  const start = anchor + Math.floor((now - anchor) / duration.ms) * duration.ms
  return { start, end: start + duration.ms }
}

/** `retry-after` seconds for a window ending in `ms` (at least 1). */
export function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1_000))
}
