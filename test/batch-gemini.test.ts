import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { fixtureText } from './support/fixtures.js'
import { startMockGeminiBatches, type MockGeminiBatches } from './support/mock-batch-gemini.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Gemini workflow with the OpenAI Node SDK: the OpenAI-style JSONL uploaded to
// Gemini's file API, a batch created with `model`, run by Gemini's batch mode
// (`batchGenerateContent`, requests inline when small, as an uploaded JSONL file otherwise), and
// the responses downloaded as OpenAI batch output lines with `chat.completion` bodies.

let mock: MockGeminiBatches
let inline: FilesGateway
let byFile: FilesGateway
beforeAll(async () => {
  mock = await startMockGeminiBatches()
  const config = { providers: { gemini: { keys: [{ value: mock.key }], network_config: { base_url: mock.baseURL } } } }
  inline = await startFilesGateway(config)
  // Every batch goes to Gemini as a file of requests.
  byFile = await startFilesGateway(config, { batches: { gemini: { inline_max_bytes: 0 } } })
})
afterAll(async () => {
  await inline?.close()
  await byFile?.close()
  await mock?.close()
})
afterEach(() => {
  expect(mock.requests.flatMap((request) => request.specErrors)).toEqual([])
  expect(JSON.stringify(mock.requests.map((request) => request.headers))).not.toContain('caller-key')
  mock.requests.length = 0
})

const provider = 'gemini'
const model = 'gemini-1.5-flash'
const recorded = JSON.parse(fixtureText('google/generate-content-text.json'))
const recordedText = recorded.candidates[0].content.parts[0].text

describe('Batch API, provider gemini (batch mode)', () => {
  it('runs the reference workflow with inline requests and answers in OpenAI output lines', async () => {
    const client = inline.client()
    const uploaded = await uploadBatchInput(client, chatLines(model, ['What is 2+2?', 'What is the capital of France?']), provider)
    const batch = await createBatch(client, uploaded.id, { provider, model })
    expect(batch).toMatchObject({ id: expect.stringMatching(/^batch_sy_/), status: 'in_progress', model, input_file_id: uploaded.id, request_counts: { total: 2 } })
    const sent = mock.requests.find((request) => request.path.endsWith(':batchGenerateContent'))!
    expect(sent.path).toBe(`/v1beta/models/${model}:batchGenerateContent`)
    expect(sent.json.batch.inputConfig.requests.requests.map((item: any) => item.metadata.key)).toEqual(['req-1', 'req-2'])
    expect(sent.json.batch.inputConfig.requests.requests[0].request).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'What is 2+2?' }] }], generationConfig: { maxOutputTokens: 100 } })

    const { batch: done, seen } = await pollBatch(client, batch.id, provider)
    expect(seen).toEqual(['in_progress', 'completed'])
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 })
    const output = await outputLines(client, done.output_file_id, provider)
    expect(output.map((line) => line.custom_id)).toEqual(['req-1', 'req-2'])
    expect(output[0]!.response).toMatchObject({ status_code: 200, request_id: recorded.responseId, body: { object: 'chat.completion', choices: [{ message: { role: 'assistant', content: recordedText }, finish_reason: 'stop' }], usage: { prompt_tokens: recorded.usageMetadata.promptTokenCount } } })
  })

  it('sends larger batches as a JSONL file of { key, request } lines and reads the results file', async () => {
    const client = byFile.client()
    const uploaded = await uploadBatchInput(client, chatLines(model, ['one', 'two', 'three']), provider)
    const batch = await createBatch(client, uploaded.id, { provider, model })
    const sent = mock.requests.find((request) => request.path.endsWith(':batchGenerateContent'))!
    const fileName: string = sent.json.batch.inputConfig.fileName
    expect(fileName).toMatch(/^files\/[a-z0-9]+$/)
    const lines = Buffer.from(mock.files.files.get(fileName.slice(6))!.content).toString().trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((line) => line.key)).toEqual(['req-1', 'req-2', 'req-3'])
    expect(lines[2].request).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'three' }] }] })

    const { batch: done } = await pollBatch(client, batch.id, provider)
    expect(done.status).toBe('completed')
    const output = await outputLines(client, done.output_file_id, provider)
    expect(output.map((line) => [line.custom_id, line.response?.body.choices[0].message.content])).toEqual([['req-1', recordedText], ['req-2', recordedText], ['req-3', recordedText]])
    expect(mock.requests.some((request) => request.path.endsWith(':download'))).toBe(false)
    expect(mock.files.requests.some((request) => request.path.endsWith(':download'))).toBe(true)
  })

  it('cancels: the batch ends cancelled and its requests go to the error file', async () => {
    const client = inline.client()
    const uploaded = await uploadBatchInput(client, chatLines(model, ['x']), provider)
    const batch = await createBatch(client, uploaded.id, { provider, model })
    expect((await client.batches.cancel(batch.id, { query: { provider } })).status).toBe('cancelling')
    expect(mock.requests.at(-1)).toMatchObject({ method: 'POST', path: expect.stringMatching(/^\/v1beta\/batches\/[a-z0-9]+:cancel$/) })
    const { batch: done } = await pollBatch(client, batch.id, provider)
    expect(done).toMatchObject({ status: 'cancelled', output_file_id: null, request_counts: { total: 1, completed: 0, failed: 1 } })
    expect((await outputLines(client, done.error_file_id, provider)).map((line) => line.error?.code)).toEqual(['batch_cancelled'])
  })
})
