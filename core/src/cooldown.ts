import type { KeyConfig } from './config.js'

/**
 * Per-process memory of provider keys that just failed for a reason tied to the key itself
 * (429 rate limit, 401/402/403 credential or billing), so that key selection skips them while
 * another allowed key can serve. State shared across gateway instances comes with Redis.
 *
 * Durations:
 * - 429: the upstream's `retry-after` when it sent one (at most {@link MAX_RETRY_AFTER_MS}),
 *   else 1 s doubling with each consecutive failure of the key, at most 60 s;
 * - 401, 402, 403: 30 s doubling with each consecutive failure, at most 10 min (a bad
 *   credential does not heal by waiting; the key is tried again now and then in case it was
 *   rotated back). `retry-after` is ignored for these.
 *
 * A success from a key clears its record, so the next failure starts from the short duration.
 */

/** First cooldown after a 429 without `retry-after` (ms). */
export const RATE_LIMIT_COOLDOWN_MS = 1_000
/** Longest cooldown after repeated 429s without `retry-after` (ms). */
export const RATE_LIMIT_COOLDOWN_MAX_MS = 60_000
/** First cooldown after a 401/402/403 (ms). */
export const AUTH_COOLDOWN_MS = 30_000
/** Longest cooldown after repeated 401/402/403 (ms). */
export const AUTH_COOLDOWN_MAX_MS = 600_000
/** Upper bound for a cooldown taken from `retry-after` (ms). */
export const MAX_RETRY_AFTER_MS = 3_600_000

/** True for the statuses that say "this key" rather than "this request" or "this server". */
export function isKeyFailure(status: number): boolean {
  return status === 429 || status === 401 || status === 402 || status === 403
}

interface Entry {
  /** `Date.now()` at which the key may serve again. */
  until: number
  /** Consecutive key failures. */
  strikes: number
}

/** The cooling keys of one provider. Keys are the configured `KeyConfig` objects themselves. */
export class KeyCooldowns {
  private readonly entries = new Map<KeyConfig, Entry>()

  /** Number of keys with a record (cooling or recently cooled); 0 means nothing to check. */
  get size(): number {
    return this.entries.size
  }

  /** True while `key` is cooling at `now`. */
  isCooling(key: KeyConfig, now: number): boolean {
    const entry = this.entries.get(key)
    return entry !== undefined && entry.until > now
  }

  /** When `key` may serve again (`0` when it is not cooling). */
  until(key: KeyConfig): number {
    return this.entries.get(key)?.until ?? 0
  }

  /**
   * Cools `key` after a key failure with `status`; `retryAfterMs` is the upstream's
   * `retry-after`, if any. Returns the cooldown in ms.
   */
  cool(key: KeyConfig, status: number, retryAfterMs: number | undefined, now: number): number {
    const entry = this.entries.get(key) ?? { until: 0, strikes: 0 }
    entry.strikes++
    const factor = 2 ** Math.min(entry.strikes - 1, 20)
    const duration =
      status === 429
        ? retryAfterMs !== undefined
          ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)
          : Math.min(RATE_LIMIT_COOLDOWN_MS * factor, RATE_LIMIT_COOLDOWN_MAX_MS)
        : Math.min(AUTH_COOLDOWN_MS * factor, AUTH_COOLDOWN_MAX_MS)
    entry.until = Math.max(entry.until, now + duration)
    this.entries.set(key, entry)
    return duration
  }

  /** Forgets `key` after it answered successfully. */
  clear(key: KeyConfig): void {
    this.entries.delete(key)
  }

  /** Keys cooling at `now` (for `stats()`). */
  count(now: number): number {
    let cooling = 0
    for (const entry of this.entries.values()) if (entry.until > now) cooling++
    return cooling
  }
}
