import { createMemoryAtomicStore, silentLogger, type AtomicStore } from '@switchyard/core'
import { createStorage } from 'unstorage'
import { afterEach, describe, expect, it } from 'vitest'
import { createJobId, type JobRecord } from './job.js'
import { resolveOptions, type AsyncInferenceOptions } from './options.js'
import { createJobStore, type JobStore } from './store.js'
import { createJobWorker, type JobWorker } from './worker.js'

/**
 * The worker against the in-memory storage and atomic store, with a scripted `dispatch` standing in
 * for the gateway's app. Several workers sharing one storage and one atomic store are several
 * gateway instances sharing Redis.
 */

const workers: JobWorker[] = []
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.close()
})

/** A `dispatch` that answers `/ready`, counts runs per job marker, and holds runs while `hold` is set. */
function scriptedDispatch() {
  const runs: string[] = []
  const signals: AbortSignal[] = []
  let active = 0
  let peak = 0
  let gate: Promise<void> | undefined
  let release = () => {}
  const dispatch = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname === '/ready') return Response.json({ status: 'ready' })
    const body = await request.text()
    runs.push(JSON.parse(body).marker)
    signals.push(request.signal)
    active++
    peak = Math.max(peak, active)
    try {
      if (gate) {
        await Promise.race([gate, new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true }))])
      }
      return Response.json({ echoed: JSON.parse(body).marker, headers: Object.fromEntries(request.headers) }, { headers: { 'x-bf-provider': 'scripted', 'x-request-id': `req-${runs.length}`, 'x-secret-upstream': 'dropped' } })
    } finally {
      active--
    }
  }
  return {
    dispatch,
    runs,
    signals,
    peak: () => peak,
    hold() {
      gate = new Promise<void>((resolve) => (release = resolve))
    },
    open() {
      gate = undefined
      release()
    },
  }
}

function jobOf(marker: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return { v: 1, id: createJobId(), createdAt: Date.now(), owner: { vk: null, credential: null }, surface: 'openai', operation: 'chat', model: 'gpt', path: '/openai/v1/chat/completions', ttlSeconds: 60, headers: [['content-type', 'application/json'], ['x-bf-vk', 'vk-1']], body: JSON.stringify({ marker }), ...overrides }
}

function startWorker(store: JobStore, atomic: AtomicStore, dispatch: (request: Request) => Promise<Response>, options: AsyncInferenceOptions = {}, now?: () => number) {
  const worker = createJobWorker({ store, atomic, dispatch, log: silentLogger, options: resolveOptions({ lease_ms: 300, scan_interval_ms: 50, ...options }), now })
  workers.push(worker)
  worker.start()
  return worker
}

async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const allFinished = (store: JobStore, ids: string[]) => async () => (await Promise.all(ids.map((id) => store.result(id, Date.now())))).every(Boolean)

describe('several instances sharing storage and atomic store', () => {
  it('run every announced job exactly once, and record its answer with the headers that matter', async () => {
    const storage = createStorage()
    const atomic = createMemoryAtomicStore()
    const store = createJobStore(storage, 'async-inference')
    const scripted = scriptedDispatch()
    const instances = [0, 1, 2].map(() => startWorker(store, atomic, scripted.dispatch, { concurrency: 4 }))
    const ids: string[] = []
    for (let index = 0; index < 60; index++) {
      const job = jobOf(`m${index}`)
      await store.create(job)
      // Submits arrive at different instances; every instance hears every announcement.
      await instances[index % 3]!.announce(job.id)
      ids.push(job.id)
    }
    await eventually(allFinished(store, ids), 'every job finished')
    expect([...scripted.runs].sort()).toEqual(Array.from({ length: 60 }, (_, index) => `m${index}`).sort())
    const result = (await store.result(ids[0]!, Date.now()))!
    expect(result).toMatchObject({ status: 'completed', attempts: 1, response: { status: 200, headers: { 'content-type': 'application/json', 'x-bf-provider': 'scripted', 'x-bf-async-request-id': expect.stringMatching(/^req-/) } } })
    expect(result.response!.headers['x-secret-upstream']).toBeUndefined()
    // The run carried the stored headers.
    expect(JSON.parse(result.response!.body).headers['x-bf-vk']).toBe('vk-1')
    expect(await store.openIds()).toEqual([])
  })

  it('concurrency bounds the runs per instance', async () => {
    const store = createJobStore(createStorage(), 'p')
    const scripted = scriptedDispatch()
    scripted.hold()
    const worker = startWorker(store, createMemoryAtomicStore(), scripted.dispatch, { concurrency: 2, key_prefix: 'p' })
    const ids: string[] = []
    for (let index = 0; index < 6; index++) {
      const job = jobOf(`c${index}`)
      await store.create(job)
      await worker.announce(job.id)
      ids.push(job.id)
    }
    await eventually(() => scripted.runs.length === 2, 'two runs started')
    const states = await Promise.all(ids.map((id) => store.state(id)))
    expect(states.filter((state) => state?.status === 'in_progress')).toHaveLength(2)
    scripted.open()
    await eventually(allFinished(store, ids), 'every job finished')
    expect(scripted.peak()).toBe(2)
  })
})

describe('recovery', () => {
  it('a job whose worker died is taken over once its lease expired, and counts as a second attempt', async () => {
    let clock = Date.now()
    const now = () => clock
    const atomic = createMemoryAtomicStore({ now })
    const store = createJobStore(createStorage(), 'async-inference')
    const job = jobOf('orphan')
    await store.create(job)
    // A worker that died mid-run: its lease and heartbeat are still fresh.
    await atomic.claim(`async-inference:lock:${job.id}`, 'dead-instance:0', 300)
    await store.setState(job.id, { status: 'in_progress', attempts: 1, startedAt: clock, heartbeatAt: clock, runner: 'dead-instance:0' })
    const scripted = scriptedDispatch()
    startWorker(store, atomic, scripted.dispatch, {}, now)
    // The scan sees it, but cannot take it while the lease lasts.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(scripted.runs).toEqual([])
    clock += 301
    await eventually(allFinished(store, [job.id]), 'the orphan finished')
    expect(scripted.runs).toEqual(['orphan'])
    expect(await store.result(job.id, clock)).toMatchObject({ status: 'completed', attempts: 2 })
  })

  it('a job interrupted max_attempts times fails with a 500 instead of running again', async () => {
    const store = createJobStore(createStorage(), 'async-inference')
    const job = jobOf('poison')
    await store.create(job)
    await store.setState(job.id, { status: 'in_progress', attempts: 3, startedAt: 0, heartbeatAt: 0, runner: 'gone:0' })
    const scripted = scriptedDispatch()
    startWorker(store, createMemoryAtomicStore(), scripted.dispatch, { max_attempts: 3 })
    await eventually(allFinished(store, [job.id]), 'the job was given up')
    expect(scripted.runs).toEqual([])
    expect(await store.result(job.id, Date.now())).toMatchObject({ status: 'failed', attempts: 3, failure: { status: 500, code: 'job_interrupted' } })
  })

  it('with retry_interrupted off, an interrupted job fails instead of running again; a queued one still runs', async () => {
    const store = createJobStore(createStorage(), 'async-inference')
    const interrupted = jobOf('interrupted')
    const queued = jobOf('queued')
    await store.create(interrupted)
    await store.create(queued)
    await store.setState(interrupted.id, { status: 'in_progress', attempts: 1, startedAt: 0, heartbeatAt: 0, runner: 'gone:0' })
    const scripted = scriptedDispatch()
    startWorker(store, createMemoryAtomicStore(), scripted.dispatch, { retry_interrupted: false })
    await eventually(allFinished(store, [interrupted.id, queued.id]), 'both finished')
    expect(scripted.runs).toEqual(['queued'])
    expect(await store.result(interrupted.id, Date.now())).toMatchObject({ status: 'failed', failure: { code: 'job_interrupted' } })
  })

  it('a job running in a process that does not share the atomic store (fresh heartbeat) is left alone', async () => {
    const store = createJobStore(createStorage(), 'async-inference')
    const job = jobOf('elsewhere')
    await store.create(job)
    await store.setState(job.id, { status: 'in_progress', attempts: 1, startedAt: Date.now(), heartbeatAt: Date.now() + 60_000, runner: 'other-process:0' })
    const scripted = scriptedDispatch()
    startWorker(store, createMemoryAtomicStore(), scripted.dispatch)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(scripted.runs).toEqual([])
    expect(await store.result(job.id, Date.now())).toBeUndefined()
  })

  it('a worker that lost its lease stops its run and records nothing', async () => {
    let clock = Date.now()
    const now = () => clock
    const atomic = createMemoryAtomicStore({ now })
    const store = createJobStore(createStorage(), 'async-inference')
    const scripted = scriptedDispatch()
    scripted.hold()
    const worker = startWorker(store, atomic, scripted.dispatch, {}, now)
    const job = jobOf('stolen')
    await store.create(job)
    await worker.announce(job.id)
    await eventually(() => scripted.runs.length === 1, 'the run started')
    // The lease ran out (the process stalled) and another instance took the job.
    clock += 301
    expect(await atomic.claim(`async-inference:lock:${job.id}`, 'thief:0', 60_000)).toBe(true)
    await eventually(() => scripted.signals[0]!.aborted, 'the run was stopped')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await store.result(job.id, clock)).toBeUndefined()
  })

  it('closing interrupts a running job after the grace period and leaves it queued for the next run', async () => {
    const atomic = createMemoryAtomicStore()
    const store = createJobStore(createStorage(), 'async-inference')
    const scripted = scriptedDispatch()
    scripted.hold()
    const worker = startWorker(store, atomic, scripted.dispatch)
    const job = jobOf('shutdown')
    await store.create(job)
    await worker.announce(job.id)
    await eventually(() => scripted.runs.length === 1, 'the run started')
    await worker.close()
    expect(scripted.signals[0]!.aborted).toBe(true)
    expect(await store.result(job.id, Date.now())).toBeUndefined()
    expect(await store.state(job.id)).toEqual({ status: 'queued', attempts: 0 })
    expect(await store.openIds()).toEqual([job.id])
    // The lease was given back: another instance may take the job at once.
    expect(await atomic.claim(`async-inference:lock:${job.id}`, 'next:0', 1_000)).toBe(true)
  })
})

describe('cancel', () => {
  it('a queued job ends as cancelled at once and never runs', async () => {
    const store = createJobStore(createStorage(), 'async-inference')
    const scripted = scriptedDispatch()
    scripted.hold()
    const worker = startWorker(store, createMemoryAtomicStore(), scripted.dispatch, { concurrency: 1 })
    const first = jobOf('first')
    const second = jobOf('second')
    await store.create(first)
    await worker.announce(first.id)
    await eventually(() => scripted.runs.length === 1, 'the first run started')
    await store.create(second)
    await worker.announce(second.id)
    await worker.cancel(second.id, 1_000)
    expect(await store.result(second.id, Date.now())).toMatchObject({ status: 'cancelled', failure: { status: 409, code: 'job_cancelled' } })
    scripted.open()
    await eventually(allFinished(store, [first.id]), 'the first finished')
    expect(scripted.runs).toEqual(['first'])
  })
})
