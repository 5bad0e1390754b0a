import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { fixtureText } from './support/fixtures.js'
import { startMockAnthropicBatches, type MockAnthropicBatches } from './support/mock-batch-anthropic.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Anthropic workflow with the OpenAI Node SDK: a batch of inline requests
// (Anthropic's own format, in `extra_body.requests`), or of an uploaded OpenAI-style JSONL file,
// run as an Anthropic Message Batch; the results come back as OpenAI's batch output lines whose
// bodies are `chat.completion` objects, translated through the IR.

let mock: MockAnthropicBatches
let gateway: FilesGateway
beforeAll(async () => {
  mock = await startMockAnthropicBatches()
  gateway = await startFilesGateway({ providers: { anthropic: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => {
  expect(mock.requests.flatMap((request) => request.specErrors)).toEqual([])
  expect(JSON.stringify(mock.requests.map((request) => request.headers))).not.toContain('caller-key')
  mock.requests.length = 0
})

const provider = 'anthropic'
const recorded = JSON.parse(fixtureText('anthropic/messages-text.json'))
const question = (customId: string, content: string, model = 'claude-3-sonnet-20240229') => ({ custom_id: customId, params: { model, max_tokens: 100, messages: [{ role: 'user', content }] } })

describe('Batch API, provider anthropic (Message Batches)', () => {
  it('runs the reference inline workflow and answers in OpenAI output lines', async () => {
    const client = gateway.client()
    const requests = [question('math-question', 'What is 15 * 7?'), question('geography-question', 'What is the largest ocean?')]
    const batch = await createBatch(client, '', { provider, requests })
    expect(batch).toMatchObject({ id: expect.stringMatching(/^batch_sy_/), status: 'in_progress', input_file_id: '', request_counts: { total: 2, completed: 0, failed: 0 } })
    // The inline requests went to Anthropic as given.
    const sent = mock.requests.find((request) => request.method === 'POST')!
    expect(sent).toMatchObject({ path: '/v1/messages/batches', json: { requests } })

    const { batch: done, seen } = await pollBatch(client, batch.id, provider)
    expect(seen).toEqual(['in_progress', 'completed'])
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 })
    const output = await outputLines(client, done.output_file_id, provider)
    expect(output.map((line) => line.custom_id)).toEqual(['math-question', 'geography-question'])
    expect(output[0]!.response).toMatchObject({
      status_code: 200,
      request_id: recorded.id,
      body: { object: 'chat.completion', model: 'claude-3-sonnet-20240229', choices: [{ index: 0, message: { role: 'assistant', content: recorded.content[0].text }, finish_reason: 'stop' }], usage: { prompt_tokens: recorded.usage.input_tokens, completion_tokens: recorded.usage.output_tokens } },
    })
    // The results are read from the configured upstream, never from `results_url` as given.
    expect(mock.requests.filter((request) => request.path.endsWith('/results')).map((request) => request.headers['x-api-key'])).toEqual([mock.key])
  })

  it('converts an uploaded OpenAI JSONL file through the IR, and maps errored results to the error file', async () => {
    const client = gateway.client()
    const jsonl = [chatLines('claude-3-sonnet-20240229', ['Hello!', 'How are you?']), chatLines('claude-does-not-exist', ['?'], () => 'missing-model')].join('\n')
    const file = await uploadBatchInput(client, jsonl, provider)
    const batch = await createBatch(client, file.id, { provider })
    const sent = mock.requests.find((request) => request.method === 'POST')!.json
    expect(sent.requests.map((request: any) => request.custom_id)).toEqual(['req-1', 'req-2', 'missing-model'])
    expect(sent.requests[0].params).toMatchObject({ model: 'claude-3-sonnet-20240229', max_tokens: 100, messages: [{ role: 'user' }] })
    expect(JSON.stringify(sent.requests[0].params.messages)).toContain('Hello!')

    const { batch: done } = await pollBatch(client, batch.id, provider)
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 2, failed: 1 } })
    expect((await outputLines(client, done.output_file_id, provider)).map((line) => line.custom_id)).toEqual(['req-1', 'req-2'])
    expect(await outputLines(client, done.error_file_id, provider)).toEqual([
      expect.objectContaining({ custom_id: 'missing-model', response: expect.objectContaining({ status_code: 404, body: { error: { message: '[anthropic] model: claude-does-not-exist', type: 'not_found_error', param: null, code: null } } }) }),
    ])
  })

  it('cancels: the batch ends cancelled and its requests go to the error file', async () => {
    const client = gateway.client()
    const batch = await createBatch(client, '', { provider, requests: [question('a', 'one'), question('b', 'two')] })
    const cancelling = await client.batches.cancel(batch.id, { query: { provider } })
    expect(cancelling.status).toBe('cancelling')
    const { batch: done } = await pollBatch(client, batch.id, provider)
    expect(done).toMatchObject({ status: 'cancelled', output_file_id: null, request_counts: { total: 2, completed: 0, failed: 2 } })
    expect((await outputLines(client, done.error_file_id, provider)).map((line) => [line.custom_id, line.error?.code])).toEqual([['a', 'batch_cancelled'], ['b', 'batch_cancelled']])
  })

  it('refuses bad inline requests with a 400 naming the problem, sending nothing', async () => {
    const client = gateway.client()
    const cases: Array<[unknown, string]> = [
      [[question('same', 'x'), question('same', 'y')], 'requests[1].custom_id "same" is used twice (first in requests[0])'],
      [[question('has space', 'x')], 'requests[0].custom_id must be 1 to 64 letters, digits'],
      [[{ custom_id: 'x' }], 'requests[0].params must be a Messages API body with a model'],
      [[], 'requests must be a non-empty array'],
    ]
    const before = await gateway.storage.getKeys('files-batch')
    for (const [requests, problem] of cases) {
      const error = await createBatch(client, '', { provider, requests }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(problem)
    }
    expect(mock.requests).toEqual([])
    expect(await gateway.storage.getKeys('files-batch')).toEqual(before)
  })
})
