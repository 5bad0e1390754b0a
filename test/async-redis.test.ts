import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY } from './support/gateway.js'
import { startHeldUpstream, type HeldUpstream } from './support/held-upstream.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { REDIS_URL, dropRedisKeys, redisReachable } from './support/redis.js'
import { inCI, startCli, testRuntime, type CliProcess } from './support/runtime-process.js'
import { ASYNC_PLUGIN, warmUpOpenAIValidators, eventually, mockProviders, pollNative, POLL_INTERVAL_MS, sleep } from './support/async.js'

/**
 * Several gateway processes sharing one Redis (`"storage": { "type": "redis" }`): 300 jobs
 * submitted across 3 instances run exactly once in all (counted at the upstream, by a marker in
 * each job), and every job can be polled from every instance; an instance killed mid-run loses no
 * job: the others take its jobs over once their leases expire.
 *
 * Needs Redis at $SWITCHYARD_TEST_REDIS_URL (default redis://127.0.0.1:6379/0): skipped when it is
 * not reachable, and failed instead under CI=true.
 */

const INSTANCES = 3
const JOBS = 300
const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
const markerOf = (index: number) => `redis-job-${index}`

const reachable = await redisReachable()
if (!reachable && inCI) throw new Error(`Redis is not reachable at ${REDIS_URL}: the multi-instance async test needs it under CI`)

describe.skipIf(!reachable)('async inference on 3 instances sharing Redis', () => {
  const prefix = `switchyard-test-async-${process.pid}-${Date.now().toString(36)}:`
  let mock: MockOpenAI
  let dir: string
  const instances: CliProcess[] = []

  beforeAll(async () => {
    warmUpOpenAIValidators()
    mock = await startMockOpenAI()
    dir = await mkdtemp(join(tmpdir(), 'switchyard-async-redis-'))
    const config = {
      providers: mockProviders(mock.url),
      storage: { type: 'redis', url: REDIS_URL, prefix },
      plugins: [{ name: ASYNC_PLUGIN, config: { concurrency: 8, scan_interval_ms: 500 } }],
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(config))
    for (let index = 0; index < INSTANCES; index++) {
      instances.push(await startCli(testRuntime(), ['--config', join(dir, 'config.json'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, `data-${index}`)]))
    }
  }, 120_000)

  afterAll(async () => {
    for (const instance of instances) await instance.stop(15_000)
    await mock?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
    await dropRedisKeys(prefix)
  })

  it('300 jobs submitted across the instances each run exactly once and can be polled from any instance', { timeout: 300_000 }, async () => {
    const clients = instances.map((instance) => new OpenAI({ baseURL: `${instance.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 }))
    const ids: string[] = new Array(JOBS)
    // Submitted round-robin, 30 at a time.
    for (let start = 0; start < JOBS; start += 30) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, offset) => {
          const index = start + offset
          const initial = await clients[index % INSTANCES]!.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: markerOf(index) }] }, { headers: { 'x-bf-async': 'true' } })
          expect(initial.choices).toEqual([])
          ids[index] = initial.id
        }),
      )
    }

    // Each job is polled (reference loop) on an instance other than the one it was submitted to.
    await Promise.all(
      ids.map(async (id, index) => {
        const client = clients[(index + 1) % INSTANCES]!
        for (;;) {
          const poll = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'poll' }] }, { headers: { 'x-bf-async-id': id } })
          if (poll.choices?.length > 0) {
            expect(poll).toEqual(recordedChat)
            return
          }
          await sleep(POLL_INTERVAL_MS * 4)
        }
      }),
    )

    // Exactly once in all: one upstream call per job marker.
    const markers = mock.requests.map((request) => request.json.messages[0].content as string)
    expect(markers).toHaveLength(JOBS)
    expect(new Set(markers).size).toBe(JOBS)

    // Every instance answers every job with the same result.
    for (const [index, id] of ids.entries()) {
      if (index % 10 !== 0) continue
      const views = await Promise.all(instances.map(async (instance) => (await fetch(`${instance.url}/v1/async/${id}`, { headers: { authorization: `Bearer ${CALLER_KEY}` } })).json()))
      for (const view of views) expect(view).toMatchObject({ id, status: 'completed', attempts: 1, result: { status_code: 200, body: recordedChat } })
      expect(new Set(views.map((view) => view.result.headers['x-bf-async-request-id'])).size).toBe(1)
    }
  })
})

describe.skipIf(!reachable)('an instance killed mid-run, with others sharing Redis', () => {
  const prefix = `switchyard-test-async-kill-${process.pid}-${Date.now().toString(36)}:`
  let mock: MockOpenAI
  let held: HeldUpstream
  let dir: string
  let args: string[]
  const processes: CliProcess[] = []
  const start = async () => {
    const child = await startCli(testRuntime(), [...args, '--data-dir', join(dir, `data-${processes.length}`)])
    processes.push(child)
    return child
  }

  beforeAll(async () => {
    warmUpOpenAIValidators()
    mock = await startMockOpenAI()
    held = await startHeldUpstream(mock.url, { closed: true })
    dir = await mkdtemp(join(tmpdir(), 'switchyard-async-redis-kill-'))
    const config = {
      providers: mockProviders(held.url),
      storage: { type: 'redis', url: REDIS_URL, prefix },
      plugins: [{ name: ASYNC_PLUGIN, config: { concurrency: 2, lease_ms: 1_500, scan_interval_ms: 200 } }],
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(config))
    args = ['--config', join(dir, 'config.json'), '--port', '0', '--host', '127.0.0.1']
  })

  afterAll(async () => {
    held?.open()
    for (const child of processes) await child.stop(15_000)
    await held?.stop()
    await mock?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
    await dropRedisKeys(prefix)
  })

  it('the jobs it was running are taken over by the others once its leases expire; each job still reaches the upstream once', { timeout: 180_000 }, async () => {
    const doomed = await start()
    const client = new OpenAI({ baseURL: `${doomed.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const ids: string[] = []
    for (let index = 0; index < 6; index++) {
      const initial = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: markerOf(index) }] }, { headers: { 'x-bf-async': 'true' } })
      ids.push(initial.id)
    }
    // The first instance runs two jobs (held upstream); the others start and take the four it had queued.
    await held.arrived(2)
    const survivors = [await start(), await start()]
    await held.arrived(6)
    expect(held.requests).toHaveLength(6)
    const runningOnDoomed = held.requests.slice(0, 2).map((request) => request.json.messages[0].content as string)

    doomed.child.kill('SIGKILL')
    await doomed.exited
    await eventually(() => held.requests.slice(0, 2).every((request) => request.outcome === 'abandoned'), 'the killed instance calls were dropped')
    held.open()

    for (const [index, id] of ids.entries()) {
      const view = await pollNative(survivors[index % 2]!.url, id)
      expect(view).toMatchObject({ status: 'completed', attempts: runningOnDoomed.includes(markerOf(index)) ? 2 : 1, result: { status_code: 200 } })
    }
    const reached = mock.requests.map((request) => request.json.messages[0].content as string).sort()
    expect(reached).toEqual(Array.from({ length: 6 }, (_, index) => markerOf(index)).sort())
  })
})
