import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockGeminiFiles, type MockGeminiFiles } from './support/mock-gemini-files.js'
import { batchJsonl, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Files API calls with `provider: "gemini"`, through the OpenAI Node SDK:
// the gateway uploads to Gemini's file API (resumable protocol) and answers in OpenAI's shapes.

let mock: MockGeminiFiles
let gateway: FilesGateway
beforeAll(async () => {
  mock = await startMockGeminiFiles()
  gateway = await startFilesGateway({ providers: { gemini: { keys: [{ value: mock.key }], network_config: { base_url: mock.baseURL } } } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const jsonl = batchJsonl('gemini-1.5-flash')
const query = { provider: 'gemini' }

async function upload(client: OpenAI, content: string | Buffer = jsonl, filename = 'batch_e2e.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(content), filename, { type: 'application/jsonl' }), purpose: 'batch', provider: 'gemini' } as OpenAI.FileCreateParams)
}

describe('Files API, provider gemini', () => {
  it("uploads through Gemini's resumable protocol with the bytes unchanged, and answers OpenAI's file object", async () => {
    const created = await upload(gateway.client())
    expect(created).toMatchObject({ id: expect.stringMatching(/^files\/[a-z0-9]+$/), object: 'file', bytes: Buffer.byteLength(jsonl), filename: 'batch_e2e.jsonl', purpose: 'batch', status: 'processed' })
    expect(created.expires_at).toBeGreaterThan(created.created_at)
    const stored = mock.files.get(created.id.slice(6))!
    expect(Buffer.from(stored.content).toString()).toBe(jsonl)
    expect(stored.resource).toMatchObject({ displayName: 'batch_e2e.jsonl', mimeType: 'application/jsonl' })
    const start = mock.requests.find((request) => request.headers['x-goog-upload-command'] === 'start')!
    expect(start).toMatchObject({ path: '/upload/v1beta/files', headers: { 'x-goog-api-key': mock.key, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-header-content-length': String(Buffer.byteLength(jsonl)) } })
    expect(JSON.stringify(mock.requests.map((request) => request.headers))).not.toContain('caller-key')
  })

  it('lists, retrieves, downloads and deletes', async () => {
    const client = gateway.client()
    const before = new Set(await gateway.storage.getKeys('blobs'))
    const created = await upload(client)
    const copy = (await gateway.storage.getKeys('blobs')).filter((key) => !before.has(key))
    expect(copy).toHaveLength(2)
    const listed = await client.files.list(query as OpenAI.FileListParams)
    expect(listed.data.find((file) => file.id === created.id)).toMatchObject({ filename: 'batch_e2e.jsonl', purpose: 'batch', bytes: created.bytes })

    expect(await client.files.retrieve(created.id, { query })).toMatchObject({ id: created.id, filename: 'batch_e2e.jsonl', purpose: 'batch', bytes: created.bytes, status: 'processed' })
    // Gemini gives back no uploaded bytes: the gateway's copy answers.
    expect(await (await client.files.content(created.id, { query })).text()).toBe(jsonl)

    expect(await client.files.delete(created.id, { query })).toEqual({ id: created.id, object: 'file', deleted: true })
    expect(mock.files.has(created.id.slice(6))).toBe(false)
    const left = new Set(await gateway.storage.getKeys('blobs'))
    expect(copy.filter((key) => left.has(key))).toEqual([])
    await expect(client.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('takes the bare Gemini id as well as files/<id>', async () => {
    const created = await upload(gateway.client())
    expect((await gateway.client().files.retrieve(created.id.slice(6), { query })).id).toBe(created.id)
  })

  it("downloads a generated file (a batch's results) from Gemini itself", async () => {
    const generated = mock.addGeneratedFile('{"key":"req-1","response":{}}\n')
    const content = await gateway.client().files.content(generated.name, { query })
    expect(await content.text()).toBe('{"key":"req-1","response":{}}\n')
    expect((await gateway.client().files.retrieve(generated.name, { query })).purpose).toBe('user_data')
  })

  it("keeps a virtual key's Gemini files from others", async () => {
    const alice = gateway.client('sk-bf-alice')
    const created = await upload(alice)
    expect((await alice.files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([created.id])
    const bob = gateway.client('sk-bf-bob')
    await expect(bob.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.files.content(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.files.delete(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await bob.files.list(query as OpenAI.FileListParams)).data).toEqual([])
    expect((await gateway.client().files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).not.toContain(created.id)
    expect(mock.files.has(created.id.slice(6))).toBe(true)
  })

  it("answers Gemini's 403 for a file outside the project (or gone) as OpenAI's 404, keeping Gemini's words", async () => {
    const error = await gateway.client().files.retrieve('files/doesnotexist', { query }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ message: expect.stringMatching(/^No such File object: files\/doesnotexist \(\[gemini\] You do not have permission/), type: 'invalid_request_error' })
  })

  it("relays Gemini's other refusals in OpenAI's shape", async () => {
    const generated = mock.addGeneratedFile('x')
    mock.files.get(generated.name.slice(6))!.resource.source = 'UPLOADED'
    const error = await gateway.client().files.content(generated.name, { query }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ message: '[gemini] Only generated files can be downloaded.', type: 'invalid_request_error' })
  })
})
