import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startMockOpenAIFiles, type MockOpenAIFiles } from './support/mock-files-openai.js'
import { batchJsonl, hookLog, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Files API calls, written with the official OpenAI Node SDK, for
// `provider: "openai"`: OpenAI keeps the files, the gateway forwards every call with its own key
// and remembers which virtual key created which file. In the Node SDK, what Python passes as
// `extra_body` goes in the body object (sent as form fields on an upload) and `extra_query` in
// the request options' `query`.

let mock: MockOpenAIFiles
let gateway: FilesGateway
beforeAll(async () => {
  mock = await startMockOpenAIFiles()
  gateway = await startFilesGateway({ providers: { openai: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => {
  const invalid = mock.requests.filter((request) => request.specErrors.length > 0)
  mock.requests.length = 0
  expect(invalid.map((request) => `${request.method} ${request.path}: ${request.specErrors.join('; ')}`), 'every upstream request must be valid per the OpenAI spec').toEqual([])
})

const jsonl = batchJsonl('gpt-4o-mini')

async function upload(client: OpenAI, content = jsonl, extra: Record<string, unknown> = { provider: 'openai' }) {
  return client.files.create({ file: await toFile(Buffer.from(content), 'batch_input.jsonl', { type: 'application/jsonl' }), purpose: 'batch', ...extra } as OpenAI.FileCreateParams)
}

describe('Files API, provider openai (native)', () => {
  it('uploads with the bytes unchanged and only the fields OpenAI knows, with the configured key', async () => {
    const client = gateway.client()
    const created = await upload(client)
    expect(created).toMatchObject({ id: expect.stringMatching(/^file-[A-Za-z0-9]{24}$/), object: 'file', bytes: Buffer.byteLength(jsonl), filename: 'batch_input.jsonl', purpose: 'batch', status: 'processed' })
    const stored = mock.files.get(created.id)!
    expect(Buffer.from(stored.content).toString()).toBe(jsonl)
    expect(stored.contentType).toBe('application/jsonl')
    const sent = mock.requests.find((request) => request.method === 'POST')!
    expect(sent.fieldNames.sort()).toEqual(['file', 'purpose'])
    expect(sent.headers.authorization).toBe(`Bearer ${mock.key}`)
    expect(JSON.stringify(sent.headers)).not.toContain('caller-key')
  })

  it('takes the provider field before or after the file (Python sends it first)', async () => {
    const client = gateway.client()
    const created = await client.files.create({ provider: 'openai', purpose: 'user_data', file: await toFile(Buffer.from([0, 255, 1, 254, 13, 10]), 'bytes.bin') } as unknown as OpenAI.FileCreateParams)
    expect(Array.from(mock.files.get(created.id)!.content)).toEqual([0, 255, 1, 254, 13, 10])
  })

  it('passes expires_after through', async () => {
    const created = await upload(gateway.client(), jsonl, { provider: 'openai', expires_after: { anchor: 'created_at', seconds: 7200 } })
    expect(created.expires_at).toBe(created.created_at + 7200)
    expect(mock.requests.find((request) => request.method === 'POST')!.fieldNames.sort()).toEqual(['expires_after[anchor]', 'expires_after[seconds]', 'file', 'purpose'])
  })

  it('lists, retrieves, downloads and deletes, with provider in the query (extra_query)', async () => {
    const client = gateway.client()
    const created = await upload(client)
    const query = { provider: 'openai' }

    const page = await client.files.list({ purpose: 'batch', ...query } as OpenAI.FileListParams)
    expect(page.data.map((file) => file.id)).toContain(created.id)
    expect(mock.requests.some((request) => request.method === 'GET' && request.path === '/v1/files' && !request.query.includes('provider'))).toBe(true)

    const retrieved = await client.files.retrieve(created.id, { query })
    expect(retrieved).toMatchObject({ id: created.id, filename: 'batch_input.jsonl', purpose: 'batch', bytes: created.bytes })

    const content = await client.files.content(created.id, { query })
    expect(await content.text()).toBe(jsonl)

    const deleted = await client.files.delete(created.id, { query })
    expect(deleted).toEqual({ id: created.id, object: 'file', deleted: true })
    expect(mock.files.has(created.id)).toBe(false)
    await expect(client.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('works on /openai/v1 as well, and pages with the SDK', async () => {
    const client = gateway.client('caller-key', { v1: true })
    const first = await upload(client)
    const second = await upload(client)
    const seen: string[] = []
    for await (const file of client.files.list({ limit: 1 })) seen.push(file.id)
    expect(seen).toEqual(expect.arrayContaining([first.id, second.id]))
    expect((await client.files.retrieve(first.id)).id).toBe(first.id)
  })

  it('serves the OpenAI answer for a file that does not exist (404), OpenAI-shaped', async () => {
    const error = await gateway.client().files.retrieve('file-doesnotexist000000000000', { query: { provider: 'openai' } }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ message: expect.stringContaining('No such File object'), type: 'invalid_request_error' })
  })
})

describe('Files API ownership (virtual keys)', () => {
  it("keeps a virtual key's files from every other caller: 404, never listed, never deleted", async () => {
    const alice = gateway.client('sk-bf-alice')
    const bob = gateway.client('sk-bf-bob')
    const anonymous = gateway.client('caller-key')
    const created = await upload(alice)
    const query = { provider: 'openai' }

    expect((await alice.files.retrieve(created.id, { query })).id).toBe(created.id)
    expect((await alice.files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).toContain(created.id)

    for (const other of [bob, anonymous]) {
      await expect(other.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(other.files.content(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(other.files.delete(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      expect((await other.files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).not.toContain(created.id)
    }
    // Bob's own files are his alone, too; the file of a caller without a key is not Bob's either.
    const bobs = await upload(bob)
    const anonymous1 = await upload(anonymous)
    expect((await bob.files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([bobs.id])
    await expect(bob.files.retrieve(anonymous1.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect(mock.files.has(created.id)).toBe(true)
    expect(mock.requests.filter((request) => request.method === 'DELETE')).toEqual([])
  })

  it('runs the onRequest hooks first: an unknown virtual key is refused before anything happens', async () => {
    const error = await upload(gateway.client('sk-bf-mallory')).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(mock.requests).toEqual([])
  })

  it('runs afterUpstream and onFinish once per call, with its status, refusals included', async () => {
    hookLog.length = 0
    const created = await upload(gateway.client('sk-bf-alice'))
    await vi.waitFor(() => expect(hookLog.filter((entry) => entry.hook === 'onFinish')).toHaveLength(1))
    const query = { provider: 'openai' }
    const calls: Array<[() => Promise<unknown>, number]> = [
      [() => gateway.client('sk-bf-alice').files.content(created.id, { query }).then((content) => content.text()), 200],
      [() => gateway.client('sk-bf-bob').files.retrieve(created.id, { query }).catch(() => undefined), 404],
      [() => gateway.client('sk-bf-mallory').files.list().catch(() => undefined), 401],
    ]
    for (const [call, status] of calls) {
      hookLog.length = 0
      await call()
      await vi.waitFor(() => expect(hookLog.filter((entry) => entry.hook === 'onFinish')).toHaveLength(1))
      expect(hookLog.map(({ hook, operation, status }) => ({ hook, operation, status }))).toEqual([
        { hook: 'afterUpstream', operation: 'files', status },
        { hook: 'onFinish', operation: 'files', status },
      ])
      expect(new Set(hookLog.map((entry) => entry.id)).size).toBe(1)
    }
  })

  it('sends the headers the hooks set and a request id', async () => {
    const response = await fetch(`${gateway.url}/openai/files?provider=openai`, { headers: { authorization: 'Bearer sk-bf-alice' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-test-virtual-key')).toBe('vk-alice')
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
  })
})
