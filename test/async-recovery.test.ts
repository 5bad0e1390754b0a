import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY } from './support/gateway.js'
import { startHeldUpstream, type HeldUpstream } from './support/held-upstream.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { startCli, testRuntime, type CliProcess } from './support/runtime-process.js'
import { ASYNC_PLUGIN, warmUpOpenAIValidators, eventually, mockProviders, pollNative, POLL_INTERVAL_MS, sleep } from './support/async.js'

/**
 * Crash recovery with the default file store: a real gateway process (the CLI, under
 * `$SWITCHYARD_TEST_RUNTIME`) is killed with SIGKILL while some jobs are running (their upstream
 * calls held open) and others wait in its queue. Restarted on the same data directory, it finishes
 * every job, and each job has exactly one result. The guarantee for a job whose upstream call was
 * in flight at the crash is at-least-once upstream: that call never completed (the process died
 * with it), so the job runs again, and exactly one upstream call reaches the provider per job.
 */

const JOBS = 8
const CONCURRENCY = 2
const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
const markerOf = (index: number) => `job-marker-${index}`

let mock: MockOpenAI
let held: HeldUpstream
let dir: string
let args: string[]
const processes: CliProcess[] = []

async function start(): Promise<CliProcess> {
  const child = await startCli(testRuntime(), args)
  processes.push(child)
  return child
}

beforeAll(async () => {
  mock = await startMockOpenAI()
  held = await startHeldUpstream(mock.url, { closed: true })
  dir = await mkdtemp(join(tmpdir(), 'switchyard-async-recovery-'))
  const config = {
    providers: mockProviders(held.url),
    // A short lease, so the restarted process takes over the interrupted jobs soon; a quick scan.
    plugins: [{ name: ASYNC_PLUGIN, config: { concurrency: CONCURRENCY, lease_ms: 1_500, scan_interval_ms: 200 } }],
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  args = ['--config', join(dir, 'config.json'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data')]
})

afterAll(async () => {
  held?.open()
  for (const child of processes) await child.stop(5_000)
  await held?.stop()
  await mock?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a gateway killed with jobs queued and running', () => {
  it('finishes every job exactly once after a restart on the same data directory', { timeout: 180_000 }, async () => {
    const first = await start()
    const before = new OpenAI({ baseURL: `${first.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const ids: string[] = []
    for (let index = 0; index < JOBS; index++) {
      const initial = await before.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: markerOf(index) }] }, { headers: { 'x-bf-async': 'true' } })
      expect(initial.choices).toEqual([])
      ids.push(initial.id)
    }
    // Two jobs are running (their upstream calls held open), the rest wait in the queue.
    await held.arrived(CONCURRENCY)
    const statuses = await Promise.all(ids.map(async (id) => (await (await fetch(`${first.url}/v1/async/${id}`, { headers: { authorization: `Bearer ${CALLER_KEY}` } })).json()).status))
    expect(statuses.filter((status) => status === 'in_progress')).toHaveLength(CONCURRENCY)
    expect(statuses.filter((status) => status === 'queued')).toHaveLength(JOBS - CONCURRENCY)
    expect(held.requests).toHaveLength(CONCURRENCY)
    const inFlight = held.requests.map((request) => request.json.messages[0].content as string)

    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    // The crash cut the calls in flight: none of them reached the provider.
    await eventually(() => held.requests.every((request) => request.outcome === 'abandoned'), 'the held calls were dropped')
    expect(mock.requests).toHaveLength(0)

    held.open()
    const second = await start()
    const after = new OpenAI({ baseURL: `${second.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    // Every job completes: polled as the reference example does, on the new process.
    const answers: OpenAI.Chat.ChatCompletion[] = []
    for (const id of ids) {
      for (;;) {
        const poll = await after.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'poll' }] }, { headers: { 'x-bf-async-id': id } })
        if (poll.choices?.length > 0) {
          answers.push(poll)
          break
        }
        await sleep(POLL_INTERVAL_MS)
      }
    }
    expect(answers).toEqual(ids.map(() => recordedChat))

    // Exactly one upstream call per job reached the provider ...
    const reached = mock.requests.map((request) => request.json.messages[0].content as string).sort()
    expect(reached).toEqual(Array.from({ length: JOBS }, (_, index) => markerOf(index)).sort())
    // ... the jobs that waited in the queue were sent once in all, and the interrupted ones once more after the restart.
    for (let index = 0; index < JOBS; index++) {
      const sent = held.requests.filter((request) => request.json.messages[0].content === markerOf(index))
      expect(sent.map((request) => request.outcome)).toEqual(inFlight.includes(markerOf(index)) ? ['abandoned', 'forwarded'] : ['forwarded'])
    }

    // Each job has one result: its view shows the runs it took, and polling again gives the same answer.
    for (const [index, id] of ids.entries()) {
      const view = await pollNative(second.url, id)
      expect(view).toMatchObject({ status: 'completed', attempts: inFlight.includes(markerOf(index)) ? 2 : 1, result: { status_code: 200, body: recordedChat } })
      const again = await pollNative(second.url, id)
      expect(again.result.headers['x-bf-async-request-id']).toBe(view.result.headers['x-bf-async-request-id'])
    }
    // Nothing is left to run: no open job remains in the store.
    await eventually(async () => (await readdir(join(dir, 'data', 'async-inference', 'open')).catch(() => [])).length === 0, 'no open job is left')
    expect(mock.requests).toHaveLength(JOBS)
    expect((await second.stop(15_000)).code).toBe(0)
  })
})
