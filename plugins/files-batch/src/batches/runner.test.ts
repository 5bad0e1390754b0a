import { afterEach, describe, expect, it } from 'vitest'
import { createStorage, type Storage } from 'unstorage'
import { createMemoryAtomicStore, silentLogger, type AtomicStore } from '@switchyard/core'
import { resolveBatchOptions } from './options.js'
import { createRunStore, type RunMeta, type RunStore } from './run-store.js'
import { createGatewayRunner, type GatewayRunner, type RunOutcome } from './runner.js'

const ID = 'batch_sy_aaaaaaaaaaaaaaaaaaaaaaaaaa'
const options = resolveBatchOptions({ concurrency: 4, lease_ms: 300, scan_interval_ms: 50 })

/** What the dispatch of one runner saw, and how to hold its calls. */
interface Upstream {
  calls: string[]
  /** While set, calls wait on it. */
  gate: Promise<void> | undefined
  /** Calls after this many wait for good (until stopped). */
  pass?: number
  /** The first this many calls are answered 429 with `retry-after: 1`. */
  limited?: number
}

function dispatchTo(upstream: Upstream) {
  return async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === '/ready') return new Response('{}', { status: 200 })
    const body = (await request.json()) as { messages: Array<{ content: string }> }
    const marker = body.messages[0]!.content
    upstream.calls.push(marker)
    if (upstream.pass !== undefined && upstream.calls.length > upstream.pass) upstream.gate = new Promise<void>(() => {})
    if (upstream.limited !== undefined && upstream.calls.length <= upstream.limited) return Response.json({ error: { message: 'rate limited' } }, { status: 429, headers: { 'retry-after': '1' } })
    if (upstream.gate) await Promise.race([upstream.gate, new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new Error('aborted'))))])
    return Response.json({ id: marker }, { headers: { 'x-request-id': `req_${marker}` } })
  }
}

const runners: GatewayRunner[] = []
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.close()
})

async function createBatch(storage: Storage, total: number): Promise<RunStore> {
  const store = createRunStore(storage)
  const meta: RunMeta = { v: 1, id: ID, total, chunkSize: 16, path: '/openai/v1/chat/completions', headers: [['content-type', 'application/json']], expiresAt: Date.now() + 3_600_000 }
  await store.create(meta, Array.from({ length: total }, (_, index) => ({ custom_id: `c${index}`, body: JSON.stringify({ model: 'mock/x', messages: [{ role: 'user', content: `line-${index}` }] }) })))
  await store.markOpen(ID)
  return store
}

function startRunner(storage: Storage, atomic: AtomicStore, upstream: Upstream, finished: RunOutcome[]): GatewayRunner {
  const store = createRunStore(storage)
  const runner = createGatewayRunner({
    store,
    atomic,
    dispatch: dispatchTo(upstream),
    log: silentLogger,
    options,
    cancelRequested: async () => false,
    async finish(id, meta, outcome) {
      // Every request has its one answer on record, and a rate limit is never one.
      for (let index = 0; index < meta.total; index++) expect((await store.result(id, index))?.status).toBe(200)
      finished.push(outcome)
      await store.clear(id, meta)
      return true
    },
    forget: (id) => store.clear(id, undefined),
  })
  runner.start()
  runners.push(runner)
  return runner
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let round = 0; round < 2_000; round++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`never: ${what}`)
}

describe('the gateway-run batch runner', () => {
  it('runs each request once with two instances sharing an atomic store', async () => {
    const storage = createStorage()
    const atomic = createMemoryAtomicStore()
    await createBatch(storage, 100)
    const first: Upstream = { calls: [], gate: undefined }
    const second: Upstream = { calls: [], gate: undefined }
    const finished: RunOutcome[] = []
    startRunner(storage, atomic, first, finished)
    startRunner(storage, atomic, second, finished)
    await until(() => finished.length > 0, 'the batch finished')
    const all = [...first.calls, ...second.calls]
    expect(all).toHaveLength(100)
    expect(new Set(all).size).toBe(100)
    expect(finished).toEqual(['completed'])
    expect(await storage.getKeys('files-batch:run')).toEqual([])
  })

  it('leaves a batch to an instance whose atomic store it cannot see (one file store, separate processes)', async () => {
    const storage = createStorage()
    await createBatch(storage, 40)
    const first: Upstream = { calls: [], gate: undefined }
    let release!: () => void
    first.gate = new Promise<void>((resolve) => (release = resolve))
    const second: Upstream = { calls: [], gate: undefined }
    const finished: RunOutcome[] = []
    startRunner(storage, createMemoryAtomicStore(), first, finished)
    await until(() => first.calls.length === options.concurrency, 'the first instance is at work')
    startRunner(storage, createMemoryAtomicStore(), second, finished)
    // Several scans of the second instance go by while the first works (its note stays fresh).
    await new Promise((resolve) => setTimeout(resolve, 6 * options.scanIntervalMs))
    expect(second.calls).toEqual([])
    release()
    first.gate = undefined
    await until(() => finished.length > 0, 'the batch finished')
    expect(first.calls).toHaveLength(40)
    expect(second.calls).toEqual([])
  })

  it('takes over after an instance stops mid-run: answered requests are not sent again', async () => {
    const storage = createStorage()
    const atomic = createMemoryAtomicStore()
    const store = await createBatch(storage, 30)
    // Ten requests are answered, then every further call hangs.
    const first: Upstream = { calls: [], gate: undefined, pass: 10 }
    const finished: RunOutcome[] = []
    const dying = startRunner(storage, atomic, first, finished)
    await until(async () => first.calls.length === 10 + options.concurrency && (await store.doneIndices(ID)).size === 10, 'ten answered, the others in flight')
    const answered = 10
    // Stopped: its running requests are given up unanswered (they run again elsewhere).
    runners.splice(runners.indexOf(dying), 1)
    await dying.close()
    const second: Upstream = { calls: [], gate: undefined }
    startRunner(storage, atomic, second, finished)
    await until(() => finished.length > 0, 'the batch finished')
    expect(second.calls.length).toBe(30 - answered)
    expect(new Set([...first.calls.slice(0, answered), ...second.calls]).size).toBe(30)
  })

  it('runs a request answered 429 again after the pause, instead of recording the rate limit', async () => {
    const storage = createStorage()
    await createBatch(storage, 12)
    const upstream: Upstream = { calls: [], gate: undefined, limited: 3 }
    const finished: RunOutcome[] = []
    startRunner(storage, createMemoryAtomicStore(), upstream, finished)
    await until(() => finished.length > 0, 'the batch finished')
    expect(finished).toEqual(['completed'])
    // Every request got through once; the three rate-limited calls were sent again.
    expect(upstream.calls).toHaveLength(15)
    expect(new Set(upstream.calls).size).toBe(12)
  })
})
