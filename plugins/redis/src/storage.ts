import type { Logger } from '@switchyard/core'
import type { Redis } from 'ioredis'
import { createStorage, type Storage } from 'unstorage'
import redisDriver from 'unstorage/drivers/redis'
import { failFastOptions } from './atomic.js'

/** Options of {@link createRedisStorage}. */
export interface RedisStorageOptions {
  /** `redis://host:6379/0`. */
  url: string
  /** Key prefix; the storage lives under `<prefix>s:`. Default `switchyard:`. */
  prefix?: string
  /** Longest a storage command may take (ms). Default 2000. */
  commandTimeoutMs?: number
  log?: Logger
}

/**
 * Shared storage (unstorage's Redis driver) for the state every instance must see: virtual
 * keys, teams, jobs ... Reads and writes fail instead of waiting while Redis is unreachable,
 * so `GET /ready` reports the outage.
 */
export function createRedisStorage(options: RedisStorageOptions): Storage {
  const prefix = options.prefix ?? 'switchyard:'
  const driver = redisDriver({ url: options.url, base: `${prefix}s`, ...failFastOptions(options.commandTimeoutMs ?? 2_000) })
  // The driver's connection reports an outage once, not once per reconnection attempt.
  const client = driver.getInstance!() as Redis
  let down = false
  client.on('error', (error: Error) => {
    if (down) return
    down = true
    options.log?.error('redis connection failed', { role: 'storage', error: error.message })
  })
  client.on('ready', () => {
    if (down) options.log?.info('redis connection restored', { role: 'storage' })
    down = false
  })
  return createStorage({ driver })
}
