import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { warmUpOpenAIValidators } from './support/async.js'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { UPSTREAM_KEY } from './support/gateway.js'
import { admin, startGatewayProcess, type GatewayProcess } from './support/governance.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

// A gateway-run batch behind the real governance plugin: each request of the batch is a call of
// the virtual key that created the batch, so its allowed models, rate limit and usage apply to
// every request, exactly as to the key's own calls.

const KEY = 'sk-bf-batch-alice-000000000001'
const MODEL = 'llama-3.3-70b-versatile'

let mock: MockOpenAI
let gateway: GatewayProcess
beforeAll(async () => {
  warmUpOpenAIValidators()
  mock = await startMockOpenAI()
  gateway = await startGatewayProcess({
    providers: { groq: { keys: [{ value: UPSTREAM_KEY }], network_config: { base_url: `${mock.url}/v1` } } },
    plugins: [{ name: '@switchyard/plugin-files-batch', config: { batches: { scan_interval_ms: 100 } } }],
    governance: {
      rate_limits: [{ id: 'rl-alice', request_max_limit: 1000, request_reset_duration: '1h' }],
      virtual_keys: [{ id: 'vk-alice', name: 'alice', value: KEY, rate_limit_id: 'rl-alice', provider_configs: [{ provider: 'groq', allowed_models: [MODEL], weight: 1 }] }],
    },
  })
}, 60_000)
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const requestsUsed = async () => {
  const { json } = await admin(gateway.url, 'GET', '/api/governance/virtual-keys/vk-alice/usage')
  return (json.limits as Array<{ kind: string; id: string; used: number }>).find((limit) => limit.kind === 'requests')?.used
}

describe('gateway-run batches with governance', () => {
  it("runs each request as the batch owner's call: its allowed models and its rate limit apply", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: KEY, maxRetries: 0 })
    const jsonl = [chatLines(MODEL, ['one', 'two']), chatLines('not-allowed-model', ['three'], () => 'forbidden')].join('\n')
    const file = await uploadBatchInput(client, jsonl, 'groq')
    const before = await requestsUsed()
    const { batch } = await pollBatch(client, (await createBatch(client, file.id, { provider: 'groq' })).id, 'groq')
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 2, failed: 1 } })
    // The model the key may not use was refused by governance, never sent upstream.
    const errors = await outputLines(client, batch.error_file_id, 'groq')
    expect(errors).toEqual([expect.objectContaining({ custom_id: 'forbidden', response: expect.objectContaining({ status_code: 403, body: { error: expect.objectContaining({ code: 'model_not_allowed' }) } }) })])
    expect(mock.requests.map((request) => request.json.messages[0].content).sort()).toEqual(['one', 'two'])
    // The two requests that ran count against the key's rate limit, as its own calls would.
    expect((await requestsUsed())! - before!).toBe(2)
  })
})
