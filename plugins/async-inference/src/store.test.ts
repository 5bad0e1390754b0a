import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobId, type JobRecord, type JobResult } from './job.js'
import { createJobStore } from './store.js'

/** The job store on the memory driver and on the file store the CLI uses by default. */

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-async-store-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

function jobOf(overrides: Partial<JobRecord> = {}): JobRecord {
  return { v: 1, id: createJobId(), createdAt: 1_000, owner: { vk: 'vk-1', credential: null }, surface: 'openai', operation: 'chat', model: 'gpt', path: '/openai/v1/chat/completions', ttlSeconds: 60, headers: [['authorization', 'Bearer k']], body: '{"model":"gpt"}', ...overrides }
}

function resultOf(job: JobRecord, finishedAt: number): JobResult {
  const { headers: _headers, body: _body, v: _v, ...summary } = job
  return { v: 1, ...summary, status: 'completed', attempts: 1, startedAt: finishedAt - 10, finishedAt, expiresAt: finishedAt + job.ttlSeconds * 1000, response: { status: 200, headers: {}, body: '{}' } }
}

const drivers: Array<[string, () => Storage]> = [
  ['memory', () => createStorage()],
  ['file store', () => createStorage({ driver: fsDriver({ base: join(dir, `fs-${Math.random().toString(36).slice(2)}`) }) })],
]

describe.each(drivers)('on the %s', (_name, makeStorage) => {
  it('a job is open from creation until its result is stored; then only the result remains', async () => {
    const storage = makeStorage()
    const store = createJobStore(storage, 'async-inference')
    const job = jobOf()
    await store.create(job)
    expect(await store.job(job.id)).toEqual(job)
    expect(await store.state(job.id)).toEqual({ status: 'queued', attempts: 0 })
    expect(await store.openIds()).toEqual([job.id])
    await store.setState(job.id, { status: 'in_progress', attempts: 1, startedAt: 5, heartbeatAt: 5, runner: 'r' })
    expect(await store.state(job.id)).toMatchObject({ status: 'in_progress', attempts: 1 })

    const result = resultOf(job, 2_000)
    await store.finish(result)
    expect(await store.result(job.id, 2_000)).toEqual(result)
    expect(await store.job(job.id)).toBeUndefined()
    expect(await store.state(job.id)).toBeUndefined()
    expect(await store.openIds()).toEqual([])
    // The stored request (with the caller's credentials) is gone; the result keeps no headers of the caller.
    expect(JSON.stringify(await storage.getKeys())).not.toContain(':job:')
  })

  it('a result is gone once it expired: on read, and by the sweep', async () => {
    const store = createJobStore(makeStorage(), 'p')
    const first = jobOf()
    const second = jobOf({ ttlSeconds: 3600 })
    for (const job of [first, second]) {
      await store.create(job)
      await store.finish(resultOf(job, 2_000))
    }
    const expiry = 2_000 + 60_000
    expect(await store.result(first.id, expiry - 1)).toBeDefined()
    expect(await store.result(first.id, expiry)).toBeUndefined()
    expect(await store.result(first.id, 0)).toBeUndefined()
    expect(await store.sweep(expiry)).toBe(0)
    expect(await store.sweep(2_000 + 3_600_000)).toBe(1)
    expect(await store.result(second.id, 0)).toBeUndefined()
  })

  it('cancel requests are remembered until the job finishes', async () => {
    const store = createJobStore(makeStorage(), 'p')
    const job = jobOf()
    await store.create(job)
    expect(await store.cancelRequested(job.id)).toBe(false)
    await store.requestCancel(job.id)
    expect(await store.cancelRequested(job.id)).toBe(true)
    await store.finish({ ...resultOf(job, 3_000), status: 'cancelled' })
    expect(await store.cancelRequested(job.id)).toBe(false)
  })
})

describe('torn writes on the file store (a process killed mid-write)', () => {
  it('a truncated or empty record reads as missing, never as a wrong job', async () => {
    const base = join(dir, 'torn')
    const storage = createStorage({ driver: fsDriver({ base }) })
    const store = createJobStore(storage, 'async-inference')
    const job = jobOf()
    await store.create(job)
    const full = JSON.stringify(job)
    await writeFile(join(base, 'async-inference', 'job', job.id), full.slice(0, full.length / 2))
    expect(await store.job(job.id)).toBeUndefined()
    await writeFile(join(base, 'async-inference', 'state', job.id), '')
    expect(await store.state(job.id)).toBeUndefined()
    await mkdir(join(base, 'async-inference', 'result'), { recursive: true })
    await writeFile(join(base, 'async-inference', 'result', job.id), '{"v":1,"id":')
    expect(await store.result(job.id, 0)).toBeUndefined()
  })

  it('the sweep falls back on the result when an expiry marker is torn', async () => {
    const base = join(dir, 'torn-expiry')
    const store = createJobStore(createStorage({ driver: fsDriver({ base }) }), 'async-inference')
    const job = jobOf()
    await store.create(job)
    await store.finish(resultOf(job, 2_000))
    await writeFile(join(base, 'async-inference', 'expires', job.id), 'garbage{')
    expect(await store.sweep(2_000)).toBe(0)
    expect(await store.result(job.id, 2_000)).toBeDefined()
    expect(await store.sweep(2_000 + 60_000)).toBe(1)
  })
})
