import { describe, expect, it } from 'vitest'
import type { KeyConfig } from './config.js'
import { AUTH_COOLDOWN_MAX_MS, AUTH_COOLDOWN_MS, isKeyFailure, KeyCooldowns, MAX_RETRY_AFTER_MS, RATE_LIMIT_COOLDOWN_MAX_MS, RATE_LIMIT_COOLDOWN_MS } from './cooldown.js'

const key = (value: string): KeyConfig => ({ value, models: [], weight: 1 })

describe('KeyCooldowns', () => {
  it('a 429 cools the key for retry-after when given', () => {
    const cooldowns = new KeyCooldowns()
    const a = key('a')
    expect(cooldowns.cool(a, 429, 7_000, 1_000)).toBe(7_000)
    expect(cooldowns.isCooling(a, 7_999)).toBe(true)
    expect(cooldowns.isCooling(a, 8_000)).toBe(false)
    expect(cooldowns.until(a)).toBe(8_000)
  })

  it('a 429 without retry-after backs off exponentially per consecutive failure, capped', () => {
    const cooldowns = new KeyCooldowns()
    const a = key('a')
    const durations = Array.from({ length: 10 }, () => cooldowns.cool(a, 429, undefined, 0))
    expect(durations.slice(0, 4)).toEqual([RATE_LIMIT_COOLDOWN_MS, RATE_LIMIT_COOLDOWN_MS * 2, RATE_LIMIT_COOLDOWN_MS * 4, RATE_LIMIT_COOLDOWN_MS * 8])
    expect(durations.at(-1)).toBe(RATE_LIMIT_COOLDOWN_MAX_MS)
  })

  it('retry-after is capped', () => {
    expect(new KeyCooldowns().cool(key('a'), 429, 10 * MAX_RETRY_AFTER_MS, 0)).toBe(MAX_RETRY_AFTER_MS)
  })

  it('401/402/403 cool longer and ignore retry-after', () => {
    const cooldowns = new KeyCooldowns()
    const a = key('a')
    expect(cooldowns.cool(a, 401, 1_000, 0)).toBe(AUTH_COOLDOWN_MS)
    expect(cooldowns.cool(a, 403, undefined, 0)).toBe(AUTH_COOLDOWN_MS * 2)
    for (let i = 0; i < 10; i++) cooldowns.cool(a, 402, undefined, 0)
    expect(cooldowns.cool(a, 401, undefined, 0)).toBe(AUTH_COOLDOWN_MAX_MS)
  })

  it('a success clears the record, so the next failure starts short again', () => {
    const cooldowns = new KeyCooldowns()
    const a = key('a')
    cooldowns.cool(a, 429, undefined, 0)
    cooldowns.cool(a, 429, undefined, 0)
    cooldowns.clear(a)
    expect(cooldowns.size).toBe(0)
    expect(cooldowns.cool(a, 429, undefined, 0)).toBe(RATE_LIMIT_COOLDOWN_MS)
  })

  it('counts the keys cooling now', () => {
    const cooldowns = new KeyCooldowns()
    cooldowns.cool(key('a'), 429, 1_000, 0)
    cooldowns.cool(key('b'), 429, 5_000, 0)
    expect(cooldowns.count(500)).toBe(2)
    expect(cooldowns.count(2_000)).toBe(1)
    expect(cooldowns.count(6_000)).toBe(0)
  })

  it('only 429, 401, 402 and 403 are key failures', () => {
    expect([400, 401, 402, 403, 404, 408, 429, 500, 503].filter(isKeyFailure)).toEqual([401, 402, 403, 429])
  })
})
