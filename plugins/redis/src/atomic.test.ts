import { runAtomicStoreContract } from '@switchyard/core/testing'
import { describe, expect, it } from 'vitest'
import { createRedisAtomicStore } from './atomic.js'

/**
 * The AtomicStore contract against the machine's Redis (127.0.0.1:6379, or $REDIS_URL), each
 * test under its own key prefix. Without Redis the suite fails when CI=true and is skipped
 * otherwise.
 */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const inCI = process.env.CI === 'true' || process.env.CI === '1'

async function redisAnswers(): Promise<boolean> {
  const probe = createRedisAtomicStore({ url, commandTimeoutMs: 1_000 })
  try {
    return await probe.ping()
  } finally {
    await probe.close()
  }
}
const available = await redisAnswers()

describe.runIf(inCI && !available)('redis', () => {
  it('is reachable (CI needs a Redis at $REDIS_URL or 127.0.0.1:6379)', () => {
    expect(available).toBe(true)
  })
})

let run = 0
const prefix = `switchyard-test:${process.pid}:${Date.now().toString(36)}`
describe.runIf(available)('redis atomic store', () => {
  runAtomicStoreContract({
    name: 'redis',
    create: () => createRedisAtomicStore({ url, prefix: `${prefix}:${++run}:` }),
    connectPeer: (store) => createRedisAtomicStore({ url, prefix: `${prefix}:${run}:` }),
    async teardown() {
      const cleaner = createRedisAtomicStore({ url })
      const keys = await cleaner.client.keys(`${prefix}:*`)
      if (keys.length > 0) await cleaner.client.del(...keys)
      await cleaner.close()
    },
  })
})
