import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { fixtureText } from './support/fixtures.js'
import { startMockOpenAIBatches, type MockOpenAIBatches } from './support/mock-batch-openai.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's OpenAI batch workflow with the OpenAI Node SDK: files.create (purpose
// "batch") -> batches.create -> poll batches.retrieve -> files.content of the output, all with
// `provider: "openai"`, against a mock of OpenAI's Batch and Files APIs. OpenAI runs the batch
// natively: every call is forwarded, and the answers are OpenAI's own.

let mock: MockOpenAIBatches
let gateway: FilesGateway
beforeAll(async () => {
  mock = await startMockOpenAIBatches()
  gateway = await startFilesGateway({ providers: { openai: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => {
  expect(mock.requests.filter((request) => request.specErrors.length > 0).map((request) => request.specErrors)).toEqual([])
  expect(JSON.stringify(mock.requests.map((request) => request.headers))).not.toContain('caller-key')
})

const provider = 'openai'
const recorded = JSON.parse(fixtureText('openai/chat-text.json'))

describe('Batch API, provider openai (native)', () => {
  it('runs the reference workflow: upload, create, poll every status, download the output', async () => {
    const client = gateway.client()
    const jsonl = chatLines('gpt-4o-mini', ['What is 2+2?', 'What is the capital of France?'])
    const uploaded = await uploadBatchInput(client, jsonl, provider)
    const batch = await createBatch(client, uploaded.id, { provider, metadata: { customer_id: 'user_123' } })
    expect(batch).toMatchObject({ id: expect.stringMatching(/^batch_[a-z0-9]{24}$/), object: 'batch', status: 'validating', input_file_id: uploaded.id, endpoint: '/v1/chat/completions', metadata: { customer_id: 'user_123' } })
    // Only OpenAI's own fields were sent: the gateway's `provider` never reaches OpenAI.
    const sent = mock.requests.find((request) => request.method === 'POST' && request.path === '/v1/batches')!
    expect(sent.body).toEqual({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { customer_id: 'user_123' } })

    const { batch: done, seen } = await pollBatch(client, batch.id, provider)
    expect(seen).toEqual(['in_progress', 'finalizing', 'completed'])
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 })
    const output = await outputLines(client, done.output_file_id, provider)
    expect(output.map((line) => line.custom_id)).toEqual(['req-1', 'req-2'])
    expect(output[0]!.response).toMatchObject({ status_code: 200, body: { ...recorded, model: 'gpt-4o-mini' } })
  })

  it('passes OpenAI\'s per-request errors through to the error file', async () => {
    const client = gateway.client()
    const jsonl = [chatLines('gpt-4o-mini', ['ok']), chatLines('does-not-exist', ['missing'], () => 'req-missing')].join('\n')
    const uploaded = await uploadBatchInput(client, jsonl, provider)
    const { batch } = await pollBatch(client, (await createBatch(client, uploaded.id, { provider })).id, provider)
    expect(batch.request_counts).toEqual({ total: 2, completed: 1, failed: 1 })
    const errors = await outputLines(client, batch.error_file_id, provider)
    expect(errors).toEqual([expect.objectContaining({ custom_id: 'req-missing', response: expect.objectContaining({ status_code: 404, body: { error: expect.objectContaining({ code: 'model_not_found' }) } }) })])
  })

  it('lists and cancels, forwarded', async () => {
    const client = gateway.client()
    const uploaded = await uploadBatchInput(client, chatLines('gpt-4o-mini', ['a']), provider)
    const batch = await createBatch(client, uploaded.id, { provider })
    const listed = await client.batches.list({ limit: 10, provider } as OpenAI.BatchListParams)
    expect(listed.data.map((item) => item.id)).toContain(batch.id)
    const cancelled = await client.batches.cancel(batch.id, { query: { provider } })
    expect(cancelled.status).toBe('cancelling')
    const { batch: final } = await pollBatch(client, batch.id, provider)
    expect(final.status).toBe('cancelled')
  })

  it("keeps a virtual key's batches and their output files from others", async () => {
    const alice = gateway.client('sk-bf-alice')
    const uploaded = await uploadBatchInput(alice, chatLines('gpt-4o-mini', ['mine']), provider)
    const batch = await createBatch(alice, uploaded.id, { provider })
    const bob = gateway.client('sk-bf-bob')
    await expect(bob.batches.retrieve(batch.id, { query: { provider } })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.batches.cancel(batch.id, { query: { provider } })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await bob.batches.list({ provider } as OpenAI.BatchListParams)).data).toEqual([])
    expect((await alice.batches.list({ provider } as OpenAI.BatchListParams)).data.map((item) => item.id)).toEqual([batch.id])
    // Bob cannot start a batch on Alice's file either: the same 404 as a missing file, and nothing reaches OpenAI.
    const before = mock.batches.size
    await expect(createBatch(bob, uploaded.id, { provider })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect(mock.batches.size).toBe(before)

    const { batch: done } = await pollBatch(alice, batch.id, provider)
    expect((await outputLines(alice, done.output_file_id, provider)).map((line) => line.custom_id)).toEqual(['req-1'])
    await expect(bob.files.content(done.output_file_id!, { query: { provider } })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})
