import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AtomicStore } from '../atomic.js'

/** How the contract gets stores of the implementation under test. */
export interface AtomicStoreContractOptions {
  /** Shown in the suite name (`memory`, `redis` ...). */
  name: string
  /**
   * A fresh, empty store. Called once per test; every store it returns is closed by the contract.
   * Counters must not leak between two calls (use a new key prefix each time).
   */
  create(): AtomicStore | Promise<AtomicStore>
  /**
   * A second connection to the state of `store` (another gateway instance on the same backend).
   * Without it the checks across instances are skipped (a single-process store has no peers).
   */
  connectPeer?(store: AtomicStore): AtomicStore | Promise<AtomicStore>
  /** Runs before the suite (start a server ...). */
  setup?(): void | Promise<void>
  /** Runs after the suite. */
  teardown?(): void | Promise<void>
}

const waitFor = async (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 3_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * The behaviour every `AtomicStore` must have, run against an implementation: all-or-nothing
 * reservations (also under concurrency and across instances), exact arithmetic, windows that
 * end, leases with one owner, and messages that reach every subscriber.
 *
 * ```ts
 * runAtomicStoreContract({ name: 'memory', create: () => createMemoryAtomicStore() })
 * ```
 */
export function runAtomicStoreContract(options: AtomicStoreContractOptions): void {
  describe(`AtomicStore contract: ${options.name}`, () => {
    const opened: AtomicStore[] = []
    const open = async () => {
      const store = await options.create()
      opened.push(store)
      return store
    }
    const peerOf = async (store: AtomicStore) => {
      const peer = await options.connectPeer!(store)
      opened.push(peer)
      return peer
    }
    beforeAll(async () => {
      await options.setup?.()
    })
    afterAll(async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => undefined)
      await options.teardown?.()
    })

    it('reserves every charge or none, and reports the first that did not fit', async () => {
      const store = await open()
      expect(await store.reserve([{ key: 'a', amount: 3, limit: 5 }, { key: 'b', amount: 1, limit: 1 }])).toEqual({ ok: true, values: [3, 1] })
      const refused = await store.reserve([{ key: 'a', amount: 1, limit: 5 }, { key: 'b', amount: 1, limit: 1 }])
      expect(refused).toMatchObject({ ok: false, index: 1, value: 1 })
      expect((await store.get(['a', 'b'])).map((counter) => counter.value)).toEqual([3, 1])
    })

    it('checks a key charged twice in one reservation against the running sum', async () => {
      const store = await open()
      expect(await store.reserve([{ key: 'k', amount: 3, limit: 5 }, { key: 'k', amount: 3, limit: 5 }])).toMatchObject({ ok: false, index: 1, value: 0 })
      expect(await store.get(['k'])).toEqual([{ value: 0, resetInMs: 0 }])
      expect(await store.reserve([{ key: 'k', amount: 2, limit: 5 }, { key: 'k', amount: 3, limit: 5 }])).toEqual({ ok: true, values: [5, 5] })
    })

    it('lets a limit of Infinity through and allows a charge that lands exactly on the limit', async () => {
      const store = await open()
      expect(await store.reserve([{ key: 'free', amount: 1e12, limit: Infinity }])).toEqual({ ok: true, values: [1e12] })
      expect(await store.reserve([{ key: 'edge', amount: 7, limit: 7 }])).toEqual({ ok: true, values: [7] })
      expect(await store.reserve([{ key: 'edge', amount: 1, limit: 7 }])).toMatchObject({ ok: false, index: 0, value: 7 })
    })

    it('keeps fractional amounts exactly as JavaScript numbers add them', async () => {
      const store = await open()
      await store.add([{ key: 'f', amount: 0.1 }])
      await store.add([{ key: 'f', amount: 0.2 }])
      expect((await store.get(['f']))[0]!.value).toBe(0.1 + 0.2)
      await store.add([{ key: 'f', amount: -(0.1 + 0.2) }])
      expect((await store.get(['f']))[0]!.value).toBe(0)
    })

    it('adds negative amounts (a settled reservation gives back what it did not use)', async () => {
      const store = await open()
      await store.reserve([{ key: 'n', amount: 10, limit: 10 }])
      await store.add([{ key: 'n', amount: -4 }])
      expect(await store.reserve([{ key: 'n', amount: 4, limit: 10 }])).toEqual({ ok: true, values: [10] })
    })

    it('admits exactly `limit` of many concurrent reservations', async () => {
      const store = await open()
      const results = await Promise.all(Array.from({ length: 120 }, () => store.reserve([{ key: 'burst', amount: 1, limit: 37 }, { key: 'total', amount: 2, limit: Infinity }])))
      expect(results.filter((result) => result.ok)).toHaveLength(37)
      expect((await store.get(['burst', 'total'])).map((counter) => counter.value)).toEqual([37, 74])
    })

    it('reads a missing counter as 0 with no window, and deletes counters', async () => {
      const store = await open()
      expect(await store.get(['missing'])).toEqual([{ value: 0, resetInMs: 0 }])
      await store.add([{ key: 'gone', amount: 5 }])
      await store.delete(['gone', 'missing'])
      expect(await store.get(['gone'])).toEqual([{ value: 0, resetInMs: 0 }])
    })

    it('ends a window at expireAt: the time left is reported, and an ended window starts again at 0', async () => {
      const store = await open()
      const expireAt = Date.now() + 60_000
      await store.reserve([{ key: 'w', amount: 2, limit: 2, expireAt }])
      const [counter] = await store.get(['w'])
      expect(counter!.value).toBe(2)
      expect(counter!.resetInMs).toBeGreaterThan(0)
      expect(counter!.resetInMs).toBeLessThanOrEqual(60_000)
      const refused = await store.reserve([{ key: 'w', amount: 1, limit: 2, expireAt }])
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.resetInMs).toBeGreaterThan(0)
      // A charge into a window that already ended leaves nothing behind.
      await store.add([{ key: 'past', amount: 9, expireAt: Date.now() - 1_000 }])
      expect(await store.get(['past'])).toEqual([{ value: 0, resetInMs: 0 }])
    })

    it('keeps the window of an existing counter when more is added (the first charge sets it)', async () => {
      const store = await open()
      await store.add([{ key: 'keep', amount: 1, expireAt: Date.now() + 60_000 }])
      await store.add([{ key: 'keep', amount: 1, expireAt: Date.now() + 3_600_000 }])
      const [counter] = await store.get(['keep'])
      expect(counter!.value).toBe(2)
      expect(counter!.resetInMs).toBeLessThanOrEqual(60_000)
    })

    it('starts a relative window (windowMs) at the first charge', async () => {
      const store = await open()
      await store.add([{ key: 'rel', amount: 1, windowMs: 30_000 }])
      const [counter] = await store.get(['rel'])
      expect(counter!.resetInMs).toBeGreaterThan(0)
      expect(counter!.resetInMs).toBeLessThanOrEqual(30_000)
    })

    it('hands a lease to one owner until released; the owner renews it', async () => {
      const store = await open()
      expect(await store.claim('job', 'a', 60_000)).toBe(true)
      expect(await store.claim('job', 'b', 60_000)).toBe(false)
      expect(await store.claim('job', 'a', 60_000)).toBe(true)
      expect(await store.release('job', 'b')).toBe(false)
      expect(await store.release('job', 'a')).toBe(true)
      expect(await store.claim('job', 'b', 60_000)).toBe(true)
    })

    it('frees a lease whose time ran out', async () => {
      const store = await open()
      expect(await store.claim('short', 'a', 30)).toBe(true)
      await waitFor(() => store.claim('short', 'b', 60_000), 'the lease to expire')
      expect(await store.release('short', 'a')).toBe(false)
    })

    it('delivers a message to every subscriber of its channel, and none after unsubscribing', async () => {
      const store = await open()
      const first: string[] = []
      const second: string[] = []
      const other: string[] = []
      const off = store.subscribe('c', (message) => first.push(message))
      store.subscribe('c', (message) => second.push(message))
      store.subscribe('other', (message) => other.push(message))
      // A subscription may take a moment to reach the backend: publish until both have one.
      let sent = 0
      await waitFor(async () => {
        if (first.length === 0 || second.length === 0) await store.publish('c', `before-${++sent}`)
        return first.length > 0 && second.length > 0
      }, 'both subscribers')
      off()
      const seenByFirst = first.length
      await waitFor(async () => {
        if (!second.includes('after')) await store.publish('c', 'after')
        return second.includes('after')
      }, 'the remaining subscriber')
      expect(first).toHaveLength(seenByFirst)
      expect(first.every((message) => message.startsWith('before-'))).toBe(true)
      expect(other).toEqual([])
    })

    it('answers ping while reachable', async () => {
      const store = await open()
      expect(await store.ping()).toBe(true)
    })

    describe.skipIf(!options.connectPeer)('across instances', () => {
      it('shares counters: concurrent reservations through two instances admit exactly the limit', async () => {
        const store = await open()
        const peer = await peerOf(store)
        const charge = [{ key: 'shared', amount: 1, limit: 25 }]
        const results = await Promise.all(Array.from({ length: 80 }, (_, index) => (index % 2 ? store : peer).reserve(charge)))
        expect(results.filter((result) => result.ok)).toHaveLength(25)
        expect(await peer.get(['shared'])).toEqual([expect.objectContaining({ value: 25 })])
      })

      it('shares leases', async () => {
        const store = await open()
        const peer = await peerOf(store)
        expect(await store.claim('lease', 'a', 60_000)).toBe(true)
        expect(await peer.claim('lease', 'b', 60_000)).toBe(false)
        expect(await peer.release('lease', 'a')).toBe(true)
        expect(await peer.claim('lease', 'b', 60_000)).toBe(true)
      })

      it('delivers a message published on one instance to the subscribers of the other', async () => {
        const store = await open()
        const peer = await peerOf(store)
        const seen: string[] = []
        peer.subscribe('news', (message) => seen.push(message))
        store.subscribe('news', (message) => seen.push(`self:${message}`))
        // Each subscription may take a moment to reach the backend: publish until both have it
        // (the two connections become ready independently, so one may see an earlier message alone).
        await waitFor(async () => {
          const both = seen.includes('hello') && seen.includes('self:hello')
          if (!both) await store.publish('news', 'hello')
          return both
        }, 'the message on both instances')
      })
    })
  })
}
