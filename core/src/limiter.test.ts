import { describe, expect, it } from 'vitest'
import { ConcurrencyLimiter } from './limiter.js'

const limiter = (concurrency: number, bufferSize = 0, dropExcess = false) => new ConcurrencyLimiter({ provider: 'p', concurrency, bufferSize, dropExcess })
const never = new AbortController().signal

describe('ConcurrencyLimiter', () => {
  it('takes a free slot synchronously (no promise on the fast path)', () => {
    const slots = limiter(2)
    expect(slots.acquire(never, 0)).toBeUndefined()
    expect(slots.acquire(never, 0)).toBeUndefined()
    expect(slots.inFlight).toBe(2)
    slots.release()
    expect(slots.inFlight).toBe(1)
  })

  it('queues callers in FIFO order and hands each released slot to the first one waiting', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    const order: number[] = []
    const waits = [1, 2, 3].map((n) => slots.acquire(never, 0)!.then(() => order.push(n)))
    expect(slots.queued).toBe(3)
    for (let i = 0; i < 3; i++) {
      slots.release()
      await Promise.resolve()
      await Promise.resolve()
    }
    await Promise.all(waits)
    expect(order).toEqual([1, 2, 3])
    expect(slots.inFlight).toBe(1)
    expect(slots.queued).toBe(0)
  })

  it('a newcomer does not jump the queue when a slot frees up', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    const first = slots.acquire(never, 0)!
    slots.release()
    // The slot went to the waiting caller, so a newcomer has to queue.
    expect(slots.acquire(never, 0)).toBeInstanceOf(Promise)
    await first
  })

  it('with dropExcess, a caller finding the queue full gets 429 with retry-after: 1 at once', async () => {
    const slots = limiter(1, 1, true)
    slots.acquire(never, 0)
    const queued = slots.acquire(never, 0)!
    await expect(slots.acquire(never, 0)).rejects.toMatchObject({ status: 429, code: 'rate_limit', headers: { 'retry-after': '1' } })
    expect(slots.queued).toBe(1)
    slots.release()
    await queued
  })

  it('with dropExcess and no buffer, every caller beyond the concurrency is refused', async () => {
    const slots = limiter(1, 0, true)
    slots.acquire(never, 0)
    await expect(slots.acquire(never, 0)).rejects.toMatchObject({ status: 429 })
  })

  it('without dropExcess, callers beyond buffer_size still wait', () => {
    const slots = limiter(1, 1, false)
    slots.acquire(never, 0)
    slots.acquire(never, 0)
    expect(slots.acquire(never, 0)).toBeInstanceOf(Promise)
    expect(slots.queued).toBe(2)
  })

  it('a wait longer than the timeout is a 504, and the caller leaves the queue', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    await expect(slots.acquire(never, 20)).rejects.toMatchObject({ status: 504, code: 'timeout' })
    expect(slots.queued).toBe(0)
    slots.release()
    expect(slots.inFlight).toBe(0)
  })

  it('a caller that goes away leaves the queue (499) and is skipped when a slot frees', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    const leaving = new AbortController()
    const gone = slots.acquire(leaving.signal, 0)!
    const next = slots.acquire(never, 0)!
    leaving.abort()
    await expect(gone).rejects.toMatchObject({ status: 499 })
    expect(slots.queued).toBe(1)
    slots.release()
    await next
    expect(slots.inFlight).toBe(1)
  })

  it('an already aborted caller is refused without queueing', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    await expect(slots.acquire(AbortSignal.abort(), 0)).rejects.toMatchObject({ status: 499 })
    expect(slots.queued).toBe(0)
  })

  it('keeps its queue array small over many waits', async () => {
    const slots = limiter(1)
    slots.acquire(never, 0)
    for (let i = 0; i < 500; i++) {
      const wait = slots.acquire(never, 0)!
      slots.release()
      await wait
    }
    expect((slots as unknown as { queue: unknown[] }).queue.length).toBeLessThanOrEqual(130)
    expect(slots.inFlight).toBe(1)
  })
})
