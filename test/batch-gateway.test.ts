import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { hookLog, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// Gateway-run batches: a provider with no batch API of its own (the in-process `mock` provider,
// and a slow copy of it) gets its batch run by the gateway, each request through the normal
// routing path with the caller's credentials. The reference page's workflow, with the OpenAI SDK.

let gateway: FilesGateway
beforeAll(async () => {
  gateway = await startFilesGateway(
    {
      providers: {
        mock: {},
        slow: { package: '@switchyard/provider-mock', options: { latency_ms: 300 } },
        // Fails every call; its fallback answers.
        broken: { package: '@switchyard/provider-mock', options: { error_rate: 1, error_status: 503 }, fallbacks: ['mock/rescued'] },
      },
    },
    { batches: { concurrency: 2, scan_interval_ms: 100 } },
  )
})
afterAll(async () => {
  await gateway?.close()
})

describe('gateway-run batches (provider without a batch API)', () => {
  it('runs every request through the gateway and serves OpenAI output and error files', async () => {
    const client = gateway.client()
    const jsonl = [chatLines('mock-model', ['What is 2+2?', 'What is the capital of France?']), JSON.stringify({ custom_id: 'bad', method: 'POST', url: '/v1/chat/completions', body: { model: 'error-400', messages: [{ role: 'user', content: 'fail' }] } })].join('\n')
    const file = await uploadBatchInput(client, jsonl, 'mock')
    const logged = hookLog.length
    const created = await createBatch(client, file.id, { provider: 'mock', metadata: { job: 'nightly' } })
    expect(created).toMatchObject({ id: expect.stringMatching(/^batch_sy_[a-z2-7]{26}$/), object: 'batch', endpoint: '/v1/chat/completions', input_file_id: file.id, completion_window: '24h', status: 'in_progress', metadata: { job: 'nightly' }, request_counts: { total: 3 } })

    const { batch } = await pollBatch(client, created.id, 'mock')
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 2, failed: 1 }, output_file_id: expect.stringMatching(/^file-sy-/), error_file_id: expect.stringMatching(/^file-sy-/) })
    expect(batch.completed_at).toBeGreaterThanOrEqual(batch.created_at)

    const output = await outputLines(client, batch.output_file_id, 'mock')
    expect(output.map((line) => line.custom_id)).toEqual(['req-1', 'req-2'])
    for (const [index, line] of output.entries()) {
      expect(line).toMatchObject({ id: expect.stringMatching(/^batch_req_/), response: { status_code: 200, request_id: expect.any(String), body: { object: 'chat.completion', model: 'mock-model' } }, error: null })
      expect(line.response!.body.choices[0].message.content).toContain(['What is 2+2?', 'What is the capital of France?'][index])
    }
    const errors = await outputLines(client, batch.error_file_id, 'mock')
    expect(errors).toEqual([expect.objectContaining({ custom_id: 'bad', response: expect.objectContaining({ status_code: 400, body: { error: expect.objectContaining({ message: expect.any(String) }) } }), error: null })])

    // Each request was a call of its own through the gateway, with the hooks running for it.
    const calls = hookLog.slice(logged).filter((entry) => entry.hook === 'afterUpstream' && entry.operation === 'chat')
    expect(calls.map((entry) => entry.status).sort()).toEqual([200, 200, 400])
    // The output files are the caller's files: listed and described by the Files API.
    expect(await client.files.retrieve(batch.output_file_id!)).toMatchObject({ id: batch.output_file_id, purpose: 'batch_output', filename: `${batch.id}_output.jsonl` })
    expect((await client.batches.list({ provider: 'mock' } as OpenAI.BatchListParams)).data.map((item) => item.id)).toContain(batch.id)
  })

  it('cancels: requests not yet started are not run and go to the error file as batch_cancelled', async () => {
    const client = gateway.client()
    const file = await uploadBatchInput(client, chatLines('m', Array.from({ length: 8 }, (_, index) => `prompt ${index}`)), 'slow')
    const created = await createBatch(client, file.id, { provider: 'slow' })
    const cancelling = await client.batches.cancel(created.id, { query: { provider: 'slow' } })
    expect(['cancelling', 'cancelled']).toContain(cancelling.status)
    const { batch } = await pollBatch(client, created.id, 'slow')
    expect(batch.status).toBe('cancelled')
    expect(batch.cancelled_at).not.toBeNull()
    const output = await outputLines(client, batch.output_file_id, 'slow')
    const errors = await outputLines(client, batch.error_file_id, 'slow')
    expect(output.length + errors.length).toBe(8)
    expect(errors.filter((line) => line.error?.code === 'batch_cancelled').length).toBeGreaterThan(0)
    expect(batch.request_counts).toEqual({ total: 8, completed: output.length, failed: errors.length })
  })

  it("takes the provider's fallbacks, as a synchronous call does", async () => {
    const client = gateway.client()
    const file = await uploadBatchInput(client, chatLines('primary', ['rescue me']), 'broken')
    const { batch } = await pollBatch(client, (await createBatch(client, file.id, { provider: 'broken' })).id, 'broken')
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1, failed: 0 } })
    const [line] = await outputLines(client, batch.output_file_id, 'broken')
    expect(line!.response).toMatchObject({ status_code: 200, body: { model: 'rescued', choices: [{ message: { content: expect.stringContaining('rescue me') } }] } })
  })

  it("keeps a virtual key's batches from others", async () => {
    const alice = gateway.client('sk-bf-alice')
    const file = await uploadBatchInput(alice, chatLines('m', ['hi']), 'mock')
    const created = await createBatch(alice, file.id, { provider: 'mock' })
    const bob = gateway.client('sk-bf-bob')
    await expect(bob.batches.retrieve(created.id, { query: { provider: 'mock' } })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.batches.cancel(created.id, { query: { provider: 'mock' } })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await bob.batches.list({ provider: 'mock' } as OpenAI.BatchListParams)).data).toEqual([])
    const { batch } = await pollBatch(alice, created.id, 'mock')
    expect(batch.status).toBe('completed')
    await expect(bob.files.content(batch.output_file_id!)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await outputLines(alice, batch.output_file_id, 'mock')).map((line) => line.custom_id)).toEqual(['req-1'])
  })
})
