import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client, type S3Client } from '@switchyard/plugin-s3-storage'
import { chatLines, createBatch, uploadBatchInput } from './support/batch.js'
import { startMockAnthropicBatches, type MockAnthropicBatches } from './support/mock-batch-anthropic.js'
import { startMockBedrockBatches, type MockBedrockBatches } from './support/mock-batch-bedrock.js'
import { startTestS3, type TestS3 } from './support/mock-files-s3.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// Bad input to the Batch API: each is a 4xx in OpenAI's error shape naming the problem, and
// nothing is written: no key added to the gateway's storage, no request to any provider, no
// object in S3.

const BUCKET = 'batch-bucket'
const MODEL = 'anthropic.claude-3-sonnet-20240229-v1:0'
let s3: TestS3
let bedrock: MockBedrockBatches
let anthropic: MockAnthropicBatches
let gateway: FilesGateway
let bucket: S3Client
beforeAll(async () => {
  s3 = await startTestS3([BUCKET])
  ;[bedrock, anthropic] = await Promise.all([startMockBedrockBatches(s3), startMockAnthropicBatches()])
  gateway = await startFilesGateway(
    {
      client: { max_request_body_size_mb: 1 },
      providers: {
        mock: {},
        anthropic: { keys: [{ value: anthropic.key }], network_config: { base_url: `${anthropic.url}/v1` } },
        bedrock: { keys: [{ value: JSON.stringify({ ...s3.credentials, region: 'us-west-2' }) }] },
      },
    },
    { bedrock: { endpoint: s3.endpoint }, batches: { bedrock: { endpoint: bedrock.url, role_arn: 'arn:aws:iam::123456789012:role/Batch', output_s3_uri: `s3://${BUCKET}/out` } } },
  )
  bucket = createS3Client({ region: 'us-west-2', credentials: s3.credentials, endpoint: s3.endpoint })
})
afterAll(async () => {
  await gateway?.close()
  await Promise.all([bedrock?.close(), anthropic?.close()])
  await s3?.close()
})

/** Everything that could be written: the gateway's storage keys, the providers' requests, the bucket's objects. */
async function snapshot() {
  return { keys: (await gateway.storage.getKeys()).sort(), bedrock: bedrock.requests.length, anthropic: anthropic.requests.length, objects: (await bucket.listObjects(BUCKET)).objects.map((object) => `${object.key}:${object.etag}`).sort() }
}

/** The call fails with `status` in OpenAI's error shape; its message is returned. */
async function refused(promise: Promise<unknown>, status: number): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to be refused')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OpenAI.APIError)
  expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status)
  const body = (error as InstanceType<typeof OpenAI.APIError>).error as { message: string; type: string }
  expect(body).toMatchObject({ message: expect.any(String), type: expect.any(String) })
  return body.message
}

describe('Batch API: bad input is a 4xx naming the problem, with nothing written', () => {
  it('a malformed JSONL line and a duplicate custom_id in the input (a file changed in S3 after its upload)', async () => {
    const client = gateway.client()
    const lines = chatLines(MODEL, ['one', 'two']).split('\n')
    for (const [content, problem] of [
      [`${lines[0]}\n{"custom_id": "req-2", "method": "POST",\n`, 'line 2: not valid JSON'],
      [`${lines[0]}\n${lines[0]}\n`, 'line 2: custom_id "req-1" is used twice (first on line 1)'],
    ] as const) {
      const file = await uploadBatchInput(client, lines.join('\n'), 'bedrock', { storage_config: { s3: { bucket: BUCKET, prefix: 'in' } } })
      await bucket.putObject(BUCKET, `in/${file.id}/batch_e2e.jsonl`, content)
      const before = await snapshot()
      const message = await refused(createBatch(client, file.id, { provider: 'bedrock', model: MODEL }), 400)
      expect(message).toContain(`invalid batch input file ${file.id}: ${problem}`)
      expect(await snapshot()).toEqual(before)
    }
  })

  it('a duplicate custom_id among inline requests', async () => {
    const before = await snapshot()
    const request = { custom_id: 'twice', params: { model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] } }
    expect(await refused(createBatch(gateway.client(), '', { provider: 'anthropic', requests: [request, request] }), 400)).toContain('requests[1].custom_id "twice" is used twice')
    expect(await snapshot()).toEqual(before)
  })

  it('a body over the size limit (413), announced or not', async () => {
    const before = await snapshot()
    const big = Array.from({ length: 600 }, (_, index) => ({ custom_id: `r${index}`, params: { model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(2000) }] } }))
    expect(await refused(createBatch(gateway.client(), '', { provider: 'anthropic', requests: big }), 413)).toContain('larger than the 1 MiB limit')
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ input_file_id: '', endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'anthropic', requests: big })))
        controller.close()
      },
    })
    const response = await fetch(`${gateway.url}/openai/v1/batches`, { method: 'POST', headers: { authorization: 'Bearer caller-key', 'content-type': 'application/json' }, body: streamed, duplex: 'half' } as RequestInit)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('larger than the 1 MiB limit')
    expect(await snapshot()).toEqual(before)
  })

  it("another virtual key's input file is the same 404 as a missing one", async () => {
    const file = await uploadBatchInput(gateway.client('sk-bf-alice'), chatLines('m', ['mine']), 'mock')
    const before = await snapshot()
    expect(await refused(createBatch(gateway.client('sk-bf-bob'), file.id, { provider: 'mock' }), 404)).toBe(`No such File object: ${file.id}`)
    expect(await refused(createBatch(gateway.client(), file.id, { provider: 'mock' }), 404)).toBe(`No such File object: ${file.id}`)
    expect(await snapshot()).toEqual(before)
  })

  it('path-traversal ids, for the batch and for its input file', async () => {
    const client = gateway.client()
    const before = await snapshot()
    // (The SDK itself refuses a bare "..": that one goes by fetch below.)
    for (const id of ['../../etc/passwd', 'a/b', 'batch_sy_../../x', '%2e%2e']) {
      expect(await refused(client.batches.retrieve(id, { query: { provider: 'mock' } }), 400)).toContain('invalid batch id')
      expect(await refused(client.batches.cancel(id, { query: { provider: 'mock' } }), 400)).toContain('invalid batch id')
    }
    expect(await refused(createBatch(client, '../../etc/passwd', { provider: 'mock' }), 400)).toContain('invalid file id "../../etc/passwd"')
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '..%2F..%2Fetc%2Fpasswd/cancel', 'batch_sy_%2E%2E']) {
      const response = await fetch(`${gateway.url}/openai/v1/batches/${path}`, { method: path.endsWith('cancel') ? 'POST' : 'GET', headers: { authorization: 'Bearer caller-key' } })
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain('invalid batch id')
    }
    expect(await snapshot()).toEqual(before)
  })

  it('parameters OpenAI would refuse, and requests a batch cannot run', async () => {
    const client = gateway.client()
    const file = await uploadBatchInput(client, chatLines('m', ['a']), 'mock')
    const mixed = await uploadBatchInput(client, [chatLines('m', ['a']), JSON.stringify({ custom_id: 'e', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } })].join('\n'), 'mock')
    const streaming = await uploadBatchInput(client, JSON.stringify({ custom_id: 's', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] } }), 'mock')
    const before = await snapshot()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'nope' }, 'unknown provider "nope"'],
      [{ input_file_id: file.id, endpoint: '/v1/files', completion_window: '24h', provider: 'mock' }, "Invalid 'endpoint'"],
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h', provider: 'mock' }, "only '24h' is supported"],
      [{ endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'mock' }, "Missing required parameter: 'input_file_id'"],
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'mock', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v'])) }, 'at most 16 key-value pairs'],
      [{ input_file_id: mixed.id, endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'mock' }, `line 2: url "/v1/embeddings" is not the batch's endpoint "/v1/chat/completions"`],
      [{ input_file_id: streaming.id, endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'mock' }, 'line 1: batch requests cannot stream'],
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', provider: 'mock', requests: [] }, 'inline requests are for Anthropic batches'],
    ]
    for (const [body, problem] of cases) {
      expect(await refused(client.batches.create(body as unknown as OpenAI.BatchCreateParams), 400)).toContain(problem)
    }
    const malformed = await fetch(`${gateway.url}/openai/batches`, { method: 'POST', headers: { authorization: 'Bearer caller-key', 'content-type': 'application/json' }, body: '{"input_file_id": ' })
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toBe('the request body is not valid JSON')
    expect(await snapshot()).toEqual(before)
  })
})
