import { Redis } from 'ioredis'

/**
 * The Redis the multi-instance tests share: `$SWITCHYARD_TEST_REDIS_URL`, default
 * redis://127.0.0.1:6379/0. A test that needs it is skipped when it is not reachable, and fails
 * instead under CI=true (`inCI` of runtime-process.ts).
 */
export const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0'

/** True when Redis answers PING within 2 seconds. */
export async function redisReachable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 })
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Deletes every key under `prefix` (what a test's gateways wrote). */
export async function dropRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL)
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
  client.disconnect()
}
