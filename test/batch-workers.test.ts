import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { warmUpOpenAIValidators } from './support/async.js'
import { createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { CALLER_KEY, UPSTREAM_KEY } from './support/gateway.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { startCli, testRuntime, type CliProcess } from './support/runtime-process.js'

/**
 * `--workers 2` on the default file store: two processes share the storage but not an atomic
 * store, so neither can see the other's leases. A gateway-run batch is worked on by one of them
 * (the other finds it at work and leaves it), and each request reaches the upstream once. Deno has
 * no `--workers` (docs/runtimes.md).
 */

const LINES = 200
const runtime = testRuntime()

describe.skipIf(runtime === 'deno')('a gateway-run batch with --workers 2 on one file store', () => {
  let mock: MockOpenAI
  let dir: string
  let gateway: CliProcess | undefined

  beforeAll(async () => {
    warmUpOpenAIValidators()
    mock = await startMockOpenAI()
    dir = await mkdtemp(join(tmpdir(), 'switchyard-batch-workers-'))
    const config = {
      providers: { groq: { keys: [{ value: UPSTREAM_KEY }], network_config: { base_url: `${mock.url}/v1` } } },
      plugins: [{ name: '@switchyard/plugin-files-batch', config: { batches: { concurrency: 4, scan_interval_ms: 100 } } }],
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(config))
    gateway = await startCli(runtime, ['--config', join(dir, 'config.json'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--workers', '2'])
  }, 120_000)

  afterAll(async () => {
    await gateway?.stop(15_000)
    await mock?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  // Without Redis the processes share no atomic claims: every request runs and is answered once
  // in the output, but one picked up by both processes at the same moment can reach the upstream
  // twice (docs/files-and-batch.md). Exactly-once upstream is tested on Redis (batch-redis).
  it('runs every request and answers each once', { timeout: 300_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway!.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const jsonl = Array.from({ length: LINES }, (_, index) => JSON.stringify({ custom_id: `w-${index}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: `w-${index}` }] } })).join('\n')
    const file = await uploadBatchInput(client, jsonl, 'groq')
    const { batch } = await pollBatch(client, (await createBatch(client, file.id, { provider: 'groq' })).id, 'groq', 20_000)
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: LINES, completed: LINES, failed: 0 } })
    const reached = mock.requests.map((request) => request.json.messages[0].content as string)
    expect(new Set(reached).size).toBe(LINES)
    expect((await outputLines(client, batch.output_file_id, 'groq')).map((line) => line.custom_id)).toEqual(Array.from({ length: LINES }, (_, index) => `w-${index}`))
  })
})
