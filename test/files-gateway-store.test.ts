import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client } from '@switchyard/plugin-s3-storage'
import { startTestS3, type TestS3 } from './support/mock-files-s3.js'
import { batchJsonl, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// Providers without file storage (Anthropic takes batch requests inline; Cohere, Mistral ...):
// the gateway keeps their files in its own blob store, the gateway's storage by default or an S3
// bucket (`store`). No upstream is called for any files call here.

const jsonl = batchJsonl('claude-3-sonnet-20240229')
const providers = { anthropic: { keys: [{ value: 'sk-ant-test' }], network_config: { base_url: 'http://127.0.0.1:9' } }, cohere: { keys: [{ value: 'co-test' }], network_config: { base_url: 'http://127.0.0.1:9' } } }

async function upload(client: OpenAI, provider = 'anthropic', extra: Record<string, unknown> = {}) {
  return client.files.create({ file: await toFile(Buffer.from(jsonl), 'requests.jsonl', { type: 'application/jsonl' }), purpose: 'batch', provider, ...extra } as OpenAI.FileCreateParams)
}

describe("Files API, the gateway's own store (default: the gateway's storage)", () => {
  let gateway: FilesGateway
  beforeAll(async () => {
    gateway = await startFilesGateway({ providers })
  })
  afterAll(async () => {
    await gateway?.close()
  })

  it('stores, lists, retrieves, downloads and deletes without calling any upstream', async () => {
    const client = gateway.client()
    const query = { provider: 'anthropic' }
    const created = await upload(client)
    expect(created).toMatchObject({ id: expect.stringMatching(/^file-sy-[a-z2-7]{26}$/), object: 'file', bytes: Buffer.byteLength(jsonl), filename: 'requests.jsonl', purpose: 'batch', status: 'processed', expires_at: null })
    expect(await gateway.storage.hasItem(`blobs:meta:files:${created.id}@`)).toBe(true)

    const other = await upload(client, 'cohere')
    expect((await client.files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([created.id])
    expect((await client.files.list({ provider: 'cohere' } as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([other.id])

    expect(await client.files.retrieve(created.id, { query })).toEqual(created)
    expect(await (await client.files.content(created.id, { query })).text()).toBe(jsonl)
    expect(await client.files.delete(created.id, { query })).toEqual({ id: created.id, object: 'file', deleted: true })
    expect(await gateway.storage.hasItem(`blobs:meta:files:${created.id}@`)).toBe(false)
    await expect(client.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it("finds a gateway file by its id alone (the id says where it is), whatever provider the query names", async () => {
    const created = await upload(gateway.client())
    expect((await gateway.client().files.retrieve(created.id)).id).toBe(created.id)
  })

  it('orders and pages like OpenAI (created_at, limit, after, purpose)', async () => {
    const client = gateway.client('sk-bf-bob')
    const ids: string[] = []
    for (let index = 0; index < 3; index++) ids.push((await upload(client, 'cohere')).id)
    const fine = await client.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'user_data', provider: 'cohere' } as OpenAI.FileCreateParams)
    const seen: string[] = []
    for await (const file of client.files.list({ provider: 'cohere', purpose: 'batch', limit: 2, order: 'asc' } as OpenAI.FileListParams)) seen.push(file.id)
    expect(seen.sort()).toEqual([...ids].sort())
    expect((await client.files.list({ provider: 'cohere', purpose: 'user_data' } as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([fine.id])
  })

  it('honours expires_after: an expired file is gone, bytes included', async () => {
    const client = gateway.client('sk-bf-alice')
    const created = await upload(client, 'anthropic', { expires_after: { anchor: 'created_at', seconds: 3600 } })
    expect(created.expires_at).toBe(created.created_at + 3600)
    // Move the record's expiry into the past (no waiting in tests).
    const key = `files-batch:file:${created.id}`
    const record = (await gateway.storage.getItem(key)) as { expires_at: number }
    await gateway.storage.setItem(key, { ...record, expires_at: Math.floor(Date.now() / 1000) - 1 })
    expect((await client.files.list({ provider: 'anthropic' } as OpenAI.FileListParams)).data.map((file) => file.id)).not.toContain(created.id)
    await expect(client.files.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect(await gateway.storage.hasItem(`blobs:meta:files:${created.id}@`)).toBe(false)
    expect(await gateway.storage.getItem(key)).toBeNull()
  })

  it("keeps a virtual key's files from others", async () => {
    const created = await upload(gateway.client('sk-bf-alice'))
    for (const other of [gateway.client('sk-bf-bob'), gateway.client()]) {
      await expect(other.files.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(other.files.content(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(other.files.delete(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    }
    expect((await gateway.client('sk-bf-alice').files.retrieve(created.id)).id).toBe(created.id)
  })
})

describe('Files API, the gateway store in S3 (store: { type: "s3" })', () => {
  let s3: TestS3
  let gateway: FilesGateway
  beforeAll(async () => {
    s3 = await startTestS3(['switchyard-files'])
    gateway = await startFilesGateway({ providers }, { store: { type: 's3', bucket: 'switchyard-files', endpoint: s3.endpoint, prefix: 'gateway', access_key_id: 'S3RVER', secret_access_key: 'S3RVER' } })
  })
  afterAll(async () => {
    await gateway?.close()
    await s3?.close()
  })

  it('keeps the files in the bucket, shared by every gateway instance pointed at it', async () => {
    const client = gateway.client()
    const created = await upload(client)
    const bucket = createS3Client({ region: 'us-east-1', credentials: s3.credentials, endpoint: s3.endpoint })
    const object = await bucket.getObject('switchyard-files', `gateway/files/${created.id}`)
    expect(Buffer.from(await new Response(object!.body).arrayBuffer()).toString()).toBe(jsonl)
    expect(await (await client.files.content(created.id)).text()).toBe(jsonl)
    await client.files.delete(created.id)
    expect(await bucket.headObject('switchyard-files', `gateway/files/${created.id}`)).toBeUndefined()
  })
})
