import type { SharedState, SharedStateOptions } from '@switchyard/core'
import { createRedisAtomicStore } from './atomic.js'
import { createRedisStorage } from './storage.js'

export { createRedisAtomicStore, failFastOptions, closeConnection, type RedisAtomicOptions } from './atomic.js'
export { createRedisStorage, type RedisStorageOptions } from './storage.js'

/**
 * Storage and exact counters on one Redis, for several gateway instances sharing state. The
 * runtime calls this when the config says `"storage": { "type": "redis", "url": "..." }` (or
 * `--redis URL`); it loads this package by name, so the core never imports a Redis client.
 *
 * Everything lives under `prefix`: storage under `<prefix>s:`, counters under `<prefix>c:`,
 * leases under `<prefix>l:`, channels under `<prefix>ch:`.
 */
export function createSharedState(options: SharedStateOptions): SharedState {
  return {
    storage: createRedisStorage({ url: options.url, prefix: options.prefix, log: options.log }),
    atomic: createRedisAtomicStore({ url: options.url, prefix: options.prefix, log: options.log }),
  }
}
