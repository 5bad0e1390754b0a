import { describe, expect, it } from 'vitest'
import { parseDuration, secondsUntil, windowAt } from './window.js'

const at = (iso: string) => Date.parse(iso)
const iso = (window: { start: number; end: number }) => [new Date(window.start).toISOString(), new Date(window.end).toISOString()]

describe('parseDuration', () => {
  it('reads a count and a unit', () => {
    expect(parseDuration('30s')).toEqual({ count: 30, unit: 's', ms: 30_000 })
    expect(parseDuration('5m')!.ms).toBe(300_000)
    expect(parseDuration('1M')).toEqual({ count: 1, unit: 'M', ms: 30 * 86_400_000 })
    expect(parseDuration('1Y')!.ms).toBe(365 * 86_400_000)
  })

  it.each(['', '0s', '1', 'm', '1.5h', '1 h', '-1d', '1mo', '10000000s'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })
})

describe('windowAt', () => {
  it('rolling windows run end to end from the anchor (default: the epoch)', () => {
    expect(iso(windowAt(parseDuration('1h')!, at('2025-03-10T10:20:00Z')))).toEqual(['2025-03-10T10:00:00.000Z', '2025-03-10T11:00:00.000Z'])
    const anchor = at('2025-03-01T12:00:00Z')
    expect(iso(windowAt(parseDuration('1d')!, at('2025-03-03T11:59:59Z'), { anchor }))).toEqual(['2025-03-02T12:00:00.000Z', '2025-03-03T12:00:00.000Z'])
    expect(iso(windowAt(parseDuration('1M')!, at('2025-04-05T00:00:00Z'), { anchor }))).toEqual(['2025-03-31T12:00:00.000Z', '2025-04-30T12:00:00.000Z'])
  })

  it('calendar-aligned windows start at UTC midnight, Monday, the 1st, the quarter, January 1st', () => {
    const now = at('2025-05-15T13:45:00Z') // a Thursday
    const aligned = (text: string) => iso(windowAt(parseDuration(text)!, now, { calendarAligned: true, anchor: at('2025-05-02T07:00:00Z') }))
    expect(aligned('1d')).toEqual(['2025-05-15T00:00:00.000Z', '2025-05-16T00:00:00.000Z'])
    expect(aligned('1w')).toEqual(['2025-05-12T00:00:00.000Z', '2025-05-19T00:00:00.000Z'])
    expect(aligned('1M')).toEqual(['2025-05-01T00:00:00.000Z', '2025-06-01T00:00:00.000Z'])
    expect(aligned('1Q')).toEqual(['2025-04-01T00:00:00.000Z', '2025-07-01T00:00:00.000Z'])
    expect(aligned('1Y')).toEqual(['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'])
    // Sub-day windows have no calendar boundary: the clock's own ticks.
    expect(aligned('5m')).toEqual(['2025-05-15T13:45:00.000Z', '2025-05-15T13:50:00.000Z'])
  })

  it('a month window crosses the year end correctly', () => {
    expect(iso(windowAt(parseDuration('1M')!, at('2024-12-31T23:59:59Z'), { calendarAligned: true }))).toEqual(['2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'])
    expect(iso(windowAt(parseDuration('1M')!, at('2025-01-01T00:00:00Z'), { calendarAligned: true }))).toEqual(['2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'])
  })

  it('every instant belongs to exactly one window', () => {
    const duration = parseDuration('1w')!
    for (const text of ['2025-05-11T23:59:59.999Z', '2025-05-12T00:00:00.000Z']) {
      const window = windowAt(duration, at(text), { calendarAligned: true })
      expect(window.start).toBeLessThanOrEqual(at(text))
      expect(window.end).toBeGreaterThan(at(text))
    }
  })

  it('rounds retry-after up to whole seconds, at least 1', () => {
    expect(secondsUntil(0)).toBe(1)
    expect(secondsUntil(1_001)).toBe(2)
  })
})
