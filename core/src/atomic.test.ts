import { describe, expect, it } from 'vitest'
import { createMemoryAtomicStore } from './atomic.js'
import { runAtomicStoreContract } from './testing/atomic-contract.js'

runAtomicStoreContract({ name: 'memory', create: () => createMemoryAtomicStore() })

describe('memory atomic store', () => {
  it('reserves all charges or none', async () => {
    const store = createMemoryAtomicStore()
    expect(await store.reserve([{ key: 'a', amount: 3, limit: 5 }, { key: 'b', amount: 1, limit: 1 }])).toEqual({ ok: true, values: [3, 1] })
    const refused = await store.reserve([{ key: 'a', amount: 1, limit: 5 }, { key: 'b', amount: 1, limit: 1 }])
    expect(refused).toMatchObject({ ok: false, index: 1, value: 1 })
    expect((await store.get(['a', 'b'])).map((counter) => counter.value)).toEqual([3, 1])
  })

  it('checks repeated keys in one reservation against their running sum', async () => {
    const store = createMemoryAtomicStore()
    expect(await store.reserve([{ key: 'a', amount: 3, limit: 5 }, { key: 'a', amount: 3, limit: 5 }])).toMatchObject({ ok: false, index: 1 })
    expect(await store.get(['a'])).toEqual([{ value: 0, resetInMs: 0 }])
  })

  it('starts a new window when the old one expired', async () => {
    let now = 1_000
    const store = createMemoryAtomicStore({ now: () => now })
    await store.reserve([{ key: 'w', amount: 2, limit: 2, windowMs: 100 }])
    expect(await store.reserve([{ key: 'w', amount: 1, limit: 2, windowMs: 100 }])).toMatchObject({ ok: false, resetInMs: 100 })
    now += 100
    expect(await store.reserve([{ key: 'w', amount: 1, limit: 2, windowMs: 100 }])).toEqual({ ok: true, values: [1] })
    await store.add([{ key: 'w', amount: -1 }])
    expect(await store.get(['w'])).toEqual([{ value: 0, resetInMs: 100 }])
  })

  it('hands a lease to one owner until it expires or is released', async () => {
    let now = 0
    const store = createMemoryAtomicStore({ now: () => now })
    expect(await store.claim('job', 'a', 50)).toBe(true)
    expect(await store.claim('job', 'b', 50)).toBe(false)
    expect(await store.claim('job', 'a', 50)).toBe(true)
    now = 50
    expect(await store.claim('job', 'b', 50)).toBe(true)
    expect(await store.release('job', 'a')).toBe(false)
    expect(await store.release('job', 'b')).toBe(true)
  })

  it('delivers published messages to every subscriber of the channel', async () => {
    const store = createMemoryAtomicStore()
    const seen: string[] = []
    const off = store.subscribe('c', (message) => seen.push(message))
    store.subscribe('other', () => seen.push('wrong'))
    await store.publish('c', 'one')
    off()
    await store.publish('c', 'two')
    expect(seen).toEqual(['one'])
  })
})
