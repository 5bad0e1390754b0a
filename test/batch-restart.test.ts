import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, warmUpOpenAIValidators } from './support/async.js'
import { createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { CALLER_KEY, UPSTREAM_KEY } from './support/gateway.js'
import { startHeldUpstream, type HeldUpstream } from './support/held-upstream.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { startCli, testRuntime, type CliProcess } from './support/runtime-process.js'

/**
 * A gateway-run batch of 1,000 requests through a real gateway process (the CLI under
 * `$SWITCHYARD_TEST_RUNTIME`, the default file store in a temporary directory) to an
 * OpenAI-compatible provider with no batch API (`groq`, pointed at the recorded-traffic mock). The
 * process is killed with SIGKILL while the batch runs: some requests are answered and recorded,
 * `concurrency` are in flight (held open at the upstream's gate), the rest wait. Restarted on the
 * same data directory, the gateway finishes the batch, and the upstream saw each `custom_id`
 * exactly once: recorded answers are never sent again, and the requests in flight at the kill
 * never reached the provider (the process died with their connections), so they ran once after
 * the restart.
 */

const LINES = 1_000
const CONCURRENCY = 8
const customIdOf = (index: number) => `line-${String(index).padStart(4, '0')}`

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
  warmUpOpenAIValidators()
  mock = await startMockOpenAI()
  held = await startHeldUpstream(mock.url)
  dir = await mkdtemp(join(tmpdir(), 'switchyard-batch-restart-'))
  const config = {
    providers: { groq: { keys: [{ value: UPSTREAM_KEY }], network_config: { base_url: `${held.url}/v1` } } },
    // A short lease and scan, so the restarted process takes the batch up again soon.
    plugins: [{ name: '@switchyard/plugin-files-batch', config: { batches: { concurrency: CONCURRENCY, lease_ms: 1_500, scan_interval_ms: 200 } } }],
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

describe('a gateway-run batch of 1,000 requests through a SIGKILL and a restart', () => {
  it('completes with each request sent upstream once and answered once', { timeout: 300_000 }, async () => {
    const first = await start()
    const before = new OpenAI({ baseURL: `${first.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const jsonl = Array.from({ length: LINES }, (_, index) => JSON.stringify({ custom_id: customIdOf(index), method: 'POST', url: '/v1/chat/completions', body: { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: customIdOf(index) }] } })).join('\n')
    const file = await uploadBatchInput(before, jsonl, 'groq', {}, 'thousand.jsonl')
    const created = await createBatch(before, file.id, { provider: 'groq' })
    expect(created).toMatchObject({ status: 'in_progress', request_counts: { total: LINES } })

    // Let a good part of the batch through, then hold every further request at the gate.
    await held.arrived(300)
    held.close()
    // Quiet: every slot waits on a held request, so every earlier answer is on record.
    await eventually(() => held.requests.filter((request) => request.outcome === 'held').length === CONCURRENCY, `${CONCURRENCY} requests are held`)
    const progress = await before.batches.retrieve(created.id, { query: { provider: 'groq' } })
    expect(progress.status).toBe('in_progress')
    const answered = progress.request_counts!.completed
    expect(answered).toBeGreaterThanOrEqual(300 - CONCURRENCY)
    expect(answered).toBeLessThan(LINES)
    const inFlight = held.requests.filter((request) => request.outcome === 'held').map((request) => request.json.messages[0].content as string)

    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    await eventually(() => held.requests.every((request) => request.outcome !== 'held'), 'the held calls were dropped')
    expect(mock.requests).toHaveLength(answered)

    held.open()
    const second = await start()
    const after = new OpenAI({ baseURL: `${second.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const { batch } = await pollBatch(after, created.id, 'groq', 20_000)
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: LINES, completed: LINES, failed: 0 }, error_file_id: null })

    // Each custom_id reached the provider exactly once ...
    const reached = mock.requests.map((request) => request.json.messages[0].content as string)
    expect(reached.length).toBe(LINES)
    expect(new Set(reached).size).toBe(LINES)
    // ... the requests in flight at the kill were dropped there and sent once after the restart.
    for (const customId of inFlight) {
      expect(held.requests.filter((request) => request.json?.messages?.[0]?.content === customId).map((request) => request.outcome)).toEqual(['abandoned', 'forwarded'])
    }
    // The output file has one answer per request, in input order, each the recorded completion.
    const output = await outputLines(after, batch.output_file_id, 'groq')
    expect(output.map((line) => line.custom_id)).toEqual(Array.from({ length: LINES }, (_, index) => customIdOf(index)))
    expect(output.every((line) => line.response?.status_code === 200 && line.response.body.object === 'chat.completion')).toBe(true)
    // Nothing of the run is left to resume (the clean-up follows the final record).
    const runFiles = async () => (await readdir(join(dir, 'data', 'files-batch', 'run'), { recursive: true, withFileTypes: true }).catch(() => [])).filter((entry) => entry.isFile())
    await eventually(async () => (await runFiles()).length === 0, 'nothing of the run is left in the store')
    expect((await second.stop(15_000)).code).toBe(0)
  })
})
