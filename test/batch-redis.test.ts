import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, warmUpOpenAIValidators } from './support/async.js'
import { createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { CALLER_KEY, UPSTREAM_KEY } from './support/gateway.js'
import { startHeldUpstream, type HeldUpstream } from './support/held-upstream.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { REDIS_URL, dropRedisKeys, redisReachable } from './support/redis.js'
import { inCI, startCli, testRuntime, type CliProcess } from './support/runtime-process.js'

/**
 * A gateway-run batch on 3 gateway processes sharing one Redis (`"storage": { "type": "redis" }`):
 * every instance hears of the batch and works on it, each request is claimed through the shared
 * atomic store, and the upstream sees each `custom_id` exactly once. The batch can be polled from
 * any instance, and its output downloaded from any.
 *
 * Needs Redis at $SWITCHYARD_TEST_REDIS_URL (default redis://127.0.0.1:6379/0): skipped when it is
 * not reachable, and failed instead under CI=true.
 */

const INSTANCES = 3
const CONCURRENCY = 4
const LINES = 300
const customIdOf = (index: number) => `shared-${index}`

const reachable = await redisReachable()
if (!reachable && inCI) throw new Error(`Redis is not reachable at ${REDIS_URL}: the multi-instance batch test needs it under CI`)

describe.skipIf(!reachable)('a gateway-run batch on 3 instances sharing Redis', () => {
  const prefix = `switchyard-test-batch-${process.pid}-${Date.now().toString(36)}:`
  let mock: MockOpenAI
  let held: HeldUpstream
  let dir: string
  const instances: CliProcess[] = []

  beforeAll(async () => {
    warmUpOpenAIValidators()
    mock = await startMockOpenAI()
    held = await startHeldUpstream(mock.url, { closed: true })
    dir = await mkdtemp(join(tmpdir(), 'switchyard-batch-redis-'))
    const config = {
      providers: { groq: { keys: [{ value: UPSTREAM_KEY }], network_config: { base_url: `${held.url}/v1` } } },
      storage: { type: 'redis', url: REDIS_URL, prefix },
      plugins: [{ name: '@switchyard/plugin-files-batch', config: { batches: { concurrency: CONCURRENCY, scan_interval_ms: 200 } } }],
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(config))
    for (let index = 0; index < INSTANCES; index++) {
      instances.push(await startCli(testRuntime(), ['--config', join(dir, 'config.json'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, `data-${index}`)]))
    }
  }, 120_000)

  afterAll(async () => {
    held?.open()
    for (const instance of instances) await instance.stop(15_000)
    await held?.stop()
    await mock?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
    await dropRedisKeys(prefix)
  })

  it('runs each request once across the instances', { timeout: 300_000 }, async () => {
    const clients = instances.map((instance) => new OpenAI({ baseURL: `${instance.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 }))
    const jsonl = Array.from({ length: LINES }, (_, index) => JSON.stringify({ custom_id: customIdOf(index), method: 'POST', url: '/v1/chat/completions', body: { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: customIdOf(index) }] } })).join('\n')
    const file = await uploadBatchInput(clients[0]!, jsonl, 'groq')
    const created = await createBatch(clients[1]!, file.id, { provider: 'groq' })
    // Every instance took its share: each holds `concurrency` requests at the closed gate, all different.
    await eventually(() => held.requests.length === INSTANCES * CONCURRENCY, `${INSTANCES * CONCURRENCY} requests are held`)
    expect(new Set(held.requests.map((request) => request.json.messages[0].content)).size).toBe(INSTANCES * CONCURRENCY)
    held.open()

    const { batch } = await pollBatch(clients[2]!, created.id, 'groq', 20_000)
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: LINES, completed: LINES, failed: 0 } })
    const reached = mock.requests.map((request) => request.json.messages[0].content as string)
    expect(reached).toHaveLength(LINES)
    expect(new Set(reached).size).toBe(LINES)
    const output = await outputLines(clients[0]!, batch.output_file_id, 'groq')
    expect(output.map((line) => line.custom_id)).toEqual(Array.from({ length: LINES }, (_, index) => customIdOf(index)))
    // The gateway's request ids carry the process that made them: all three instances ran requests.
    expect(new Set(output.map((line) => line.response!.request_id!.slice(0, 10))).size).toBe(INSTANCES)
  })
})
