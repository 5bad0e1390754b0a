import Anthropic from '@anthropic-ai/sdk'
import { GoogleGenAI } from '@google/genai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBatch, pause, POLL_MS } from './support/batch.js'
import { fixtureText } from './support/fixtures.js'
import { startMockAnthropicBatches, type MockAnthropicBatches } from './support/mock-batch-anthropic.js'
import { startMockGeminiBatches, type MockGeminiBatches } from './support/mock-batch-gemini.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The providers' own batch APIs through the gateway, with their own SDKs: the Anthropic SDK's
// `messages.batches.*` on `/anthropic`, `@google/genai`'s `batches.*` on `/genai`, forwarded to the
// dialect's provider unchanged (the gateway's key, the caller's body), and each batch visible only
// to the virtual key that created it.

let anthropicMock: MockAnthropicBatches
let geminiMock: MockGeminiBatches
let gateway: FilesGateway
beforeAll(async () => {
  ;[anthropicMock, geminiMock] = await Promise.all([startMockAnthropicBatches(), startMockGeminiBatches()])
  gateway = await startFilesGateway({
    providers: {
      anthropic: { keys: [{ value: anthropicMock.key }], network_config: { base_url: `${anthropicMock.url}/v1` } },
      gemini: { keys: [{ value: geminiMock.key }], network_config: { base_url: geminiMock.baseURL } },
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await Promise.all([anthropicMock?.close(), geminiMock?.close()])
})

const anthropicAs = (token: string) => new Anthropic({ baseURL: `${gateway.url}/anthropic`, authToken: token, apiKey: null, maxRetries: 0 })
const genaiAs = (token: string) => new GoogleGenAI({ apiKey: 'caller-gemini-key', httpOptions: { baseUrl: `${gateway.url}/genai`, headers: { authorization: `Bearer ${token}` } } })
const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))
const recordedGemini = JSON.parse(fixtureText('google/generate-content-text.json'))
const request = (customId: string, content: string) => ({ custom_id: customId, params: { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, messages: [{ role: 'user' as const, content }] } })

describe('Anthropic SDK: messages.batches on /anthropic', () => {
  it('creates, polls, lists and reads results (results_url points at the gateway)', async () => {
    const client = anthropicAs('caller-key')
    const batch = await client.messages.batches.create({ requests: [request('first', 'Hello'), request('second', 'How are you?')] })
    expect(batch).toMatchObject({ id: expect.stringMatching(/^msgbatch_/), type: 'message_batch', processing_status: 'in_progress', request_counts: { processing: 2 } })
    // The body reached Anthropic as the SDK wrote it, with the gateway's key.
    const sent = anthropicMock.requests.find((item) => item.method === 'POST')!
    expect(sent.json).toEqual({ requests: [request('first', 'Hello'), request('second', 'How are you?')] })
    expect(sent.headers['x-api-key']).toBe(anthropicMock.key)

    let current = batch
    for (let poll = 0; current.processing_status !== 'ended' && poll < 100; poll++) {
      await pause(POLL_MS)
      current = await client.messages.batches.retrieve(batch.id)
    }
    expect(current).toMatchObject({ processing_status: 'ended', request_counts: { succeeded: 2 }, results_url: `${gateway.url}/anthropic/v1/messages/batches/${batch.id}/results` })
    const results = []
    for await (const result of await client.messages.batches.results(batch.id)) results.push(result)
    expect(results.map((result) => [result.custom_id, result.result.type])).toEqual([['first', 'succeeded'], ['second', 'succeeded']])
    expect(results[0]!.result).toMatchObject({ message: { content: recordedMessage.content } })

    const listed = []
    for await (const item of client.messages.batches.list()) listed.push(item.id)
    expect(listed).toContain(batch.id)
    expect(await client.messages.batches.delete(batch.id)).toEqual({ id: batch.id, type: 'message_batch_deleted' })
  })

  it('cancels, and keeps each virtual key to its own batches (the OpenAI surface\'s included)', async () => {
    const alice = anthropicAs('sk-bf-alice')
    const mine = await alice.messages.batches.create({ requests: [request('only', 'mine')] })
    // A batch Alice made through the OpenAI surface is hers here too.
    const viaOpenAI = await createBatch(gateway.client('sk-bf-alice'), '', { provider: 'anthropic', requests: [request('also', 'mine')] })
    const listed = []
    for await (const item of alice.messages.batches.list()) listed.push(item.id)
    expect(listed).toHaveLength(2)
    expect(listed).toContain(mine.id)
    expect(viaOpenAI.id).toMatch(/^batch_sy_/)

    const bob = anthropicAs('sk-bf-bob')
    await expect(bob.messages.batches.retrieve(mine.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError)
    await expect(bob.messages.batches.cancel(mine.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError)
    await expect(bob.messages.batches.results(mine.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError)
    const bobs = []
    for await (const item of bob.messages.batches.list()) bobs.push(item.id)
    expect(bobs).toEqual([])

    const cancelled = await alice.messages.batches.cancel(mine.id)
    expect(cancelled).toMatchObject({ processing_status: 'canceling', cancel_initiated_at: expect.any(String) })
    expect(anthropicMock.batches.get(mine.id)!.batch.processing_status).toBe('canceling')
  })
})

describe('@google/genai: batches on /genai', () => {
  it('creates with inline requests, polls, reads the inline responses, lists, cancels and deletes', async () => {
    const ai = genaiAs('caller-key')
    const job = await ai.batches.create({ model: 'gemini-1.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'Tell me a one-sentence joke.' }] }] }, { contents: [{ role: 'user', parts: [{ text: 'Why is the sky blue?' }] }] }], config: { displayName: 'inlined-requests-job-1' } })
    expect(job).toMatchObject({ name: expect.stringMatching(/^batches\//), displayName: 'inlined-requests-job-1', state: 'JOB_STATE_PENDING' })
    const sent = geminiMock.requests.find((item) => item.path.endsWith(':batchGenerateContent'))!
    expect(sent.path).toBe('/v1beta/models/gemini-1.5-flash:batchGenerateContent')
    expect(sent.headers['x-goog-api-key']).toBe(geminiMock.key)
    expect(sent.json.batch.inputConfig.requests.requests).toHaveLength(2)
    expect(sent.specErrors).toEqual([])

    let current = job
    for (let poll = 0; current.state !== 'JOB_STATE_SUCCEEDED' && poll < 100; poll++) {
      await pause(POLL_MS)
      current = await ai.batches.get({ name: job.name! })
    }
    expect(current.state).toBe('JOB_STATE_SUCCEEDED')
    expect(current.dest?.inlinedResponses?.map((item) => item.response?.candidates?.[0]?.content?.parts?.[0]?.text)).toEqual([recordedGemini.candidates[0].content.parts[0].text, recordedGemini.candidates[0].content.parts[0].text])

    const listed: string[] = []
    for await (const item of await ai.batches.list()) listed.push(item.name!)
    expect(listed).toContain(job.name)

    const other = await ai.batches.create({ model: 'gemini-1.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'x' }] }] }], config: { displayName: 'to-cancel' } })
    await ai.batches.cancel({ name: other.name! })
    expect(geminiMock.batches.get(other.name!)!.cancelRequested).toBe(true)
    await ai.batches.delete({ name: job.name! })
    expect(geminiMock.batches.has(job.name!)).toBe(false)
  })

  it("keeps a virtual key's batches from others, with Gemini's 404", async () => {
    const alice = genaiAs('sk-bf-alice')
    const job = await alice.batches.create({ model: 'gemini-1.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'mine' }] }] }], config: { displayName: 'alice' } })
    const bob = genaiAs('sk-bf-bob')
    const error = await bob.batches.get({ name: job.name! }).catch((caught: unknown) => caught)
    expect(String(error)).toContain('404')
    await expect(bob.batches.cancel({ name: job.name! })).rejects.toThrow(/404/)
    const bobs: string[] = []
    for await (const item of await bob.batches.list()) bobs.push(item.name!)
    expect(bobs).toEqual([])
    expect((await alice.batches.get({ name: job.name! })).name).toBe(job.name)
  })
})
