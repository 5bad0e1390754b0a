import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client, type S3Client } from '@switchyard/plugin-s3-storage'
import { startTestS3, type TestS3 } from './support/mock-files-s3.js'
import { batchJsonl, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Files API calls with `provider: "bedrock"` and `storage_config.s3`,
// through the OpenAI Node SDK, against a real S3-compatible server (s3rver) on loopback: the
// gateway writes the caller's bytes to the named bucket with the Bedrock provider's AWS
// credentials, where Bedrock batch jobs read their input.

const BUCKET = 'your-s3-bucket'
let s3: TestS3
let gateway: FilesGateway
let bucket: S3Client
beforeAll(async () => {
  s3 = await startTestS3([BUCKET, 'other-bucket'])
  const credentials = JSON.stringify({ ...s3.credentials, region: 'us-west-2' })
  gateway = await startFilesGateway(
    { providers: { bedrock: { keys: [{ value: credentials }] }, 'bedrock-key': { package: '@switchyard/provider-bedrock', keys: [{ value: 'bedrock-api-key-abc' }] } } },
    { bedrock: { endpoint: s3.endpoint }, targets: { 'bedrock-key': 'bedrock' } },
  )
  bucket = createS3Client({ region: 'us-west-2', credentials: s3.credentials, endpoint: s3.endpoint })
})
afterAll(async () => {
  await gateway?.close()
  await s3?.close()
})

const model = 'anthropic.claude-3-sonnet-20240229-v1:0'
const jsonl = batchJsonl(model)
const storageConfig = { s3: { bucket: BUCKET, region: 'us-west-2', prefix: 'batch-input' } }
const query = { provider: 'bedrock' }
const readAll = async (body: ReadableStream<Uint8Array>) => Buffer.from(await new Response(body).arrayBuffer()).toString()

async function upload(client: OpenAI, extra: Record<string, unknown> = { provider: 'bedrock', storage_config: storageConfig }) {
  return client.files.create({ file: await toFile(Buffer.from(jsonl), 'batch_e2e.jsonl', { type: 'application/jsonl' }), purpose: 'batch', ...extra } as OpenAI.FileCreateParams)
}

describe('Files API, provider bedrock (S3)', () => {
  it('writes the bytes unchanged to <prefix>/<file id>/<name> in the bucket from storage_config.s3', async () => {
    const created = await upload(gateway.client())
    expect(created).toMatchObject({ id: expect.stringMatching(/^file-sy-[a-z2-7]{26}$/), object: 'file', bytes: Buffer.byteLength(jsonl), filename: 'batch_e2e.jsonl', purpose: 'batch', status: 'processed' })
    const key = `batch-input/${created.id}/batch_e2e.jsonl`
    expect(await bucket.headObject(BUCKET, key)).toMatchObject({ size: Buffer.byteLength(jsonl), contentType: 'application/jsonl' })
    expect(await readAll((await bucket.getObject(BUCKET, key))!.body)).toBe(jsonl)
    // Nothing stays staged in the gateway: S3 holds the file.
    expect(await gateway.storage.getKeys('blobs')).toEqual([])
  })

  it('lists (filtered by storage_config when given), retrieves, downloads and deletes', async () => {
    const client = gateway.client()
    const created = await upload(client)
    const elsewhere = await upload(client, { provider: 'bedrock', storage_config: { s3: { bucket: 'other-bucket' } } })

    const all = await client.files.list(query as OpenAI.FileListParams)
    expect(all.data.map((file) => file.id)).toEqual(expect.arrayContaining([created.id, elsewhere.id]))
    const inBucket = await client.files.list({ ...query, storage_config: storageConfig } as OpenAI.FileListParams)
    expect(inBucket.data.map((file) => file.id)).toContain(created.id)
    expect(inBucket.data.map((file) => file.id)).not.toContain(elsewhere.id)
    expect(await bucket.headObject('other-bucket', `${elsewhere.id}/batch_e2e.jsonl`)).toMatchObject({ size: created.bytes })

    expect(await client.files.retrieve(created.id, { query })).toMatchObject({ id: created.id, filename: 'batch_e2e.jsonl', purpose: 'batch', bytes: created.bytes })
    expect(await (await client.files.content(created.id, { query })).text()).toBe(jsonl)
    expect(await client.files.delete(created.id, { query })).toEqual({ id: created.id, object: 'file', deleted: true })
    expect(await bucket.headObject(BUCKET, `batch-input/${created.id}/batch_e2e.jsonl`)).toBeUndefined()
    await expect(client.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('takes storage_config as the Python SDK sends it (bracketed form fields) and as JSON text', async () => {
    const response = await fetch(`${gateway.url}/openai/v1/files`, {
      method: 'POST',
      headers: { authorization: 'Bearer caller-key' },
      body: (() => {
        const form = new FormData()
        form.append('provider', 'bedrock')
        form.append('storage_config', JSON.stringify({ s3: { bucket: BUCKET, prefix: 'json/form' } }))
        form.append('purpose', 'batch')
        form.append('file', new Blob([jsonl], { type: 'application/jsonl' }), 'j.jsonl')
        return form
      })(),
    })
    expect(response.status).toBe(200)
    const created = (await response.json()) as { id: string }
    expect(await bucket.headObject(BUCKET, `json/form/${created.id}/j.jsonl`)).toMatchObject({ size: Buffer.byteLength(jsonl) })
  })

  it('needs a bucket, and AWS credentials rather than a Bedrock API key', async () => {
    const missing = await upload(gateway.client(), { provider: 'bedrock' }).catch((caught: unknown) => caught)
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError)
    expect((missing as InstanceType<typeof OpenAI.APIError>).message).toContain('storage_config.s3.bucket is required')
    const badRegion = await upload(gateway.client(), { provider: 'bedrock', storage_config: { s3: { bucket: BUCKET, region: 'evil.example.com/' } } }).catch((caught: unknown) => caught)
    expect(badRegion).toBeInstanceOf(OpenAI.BadRequestError)
    const apiKey = await upload(gateway.client(), { provider: 'bedrock-key', storage_config: storageConfig }).catch((caught: unknown) => caught)
    expect(apiKey).toBeInstanceOf(OpenAI.BadRequestError)
    expect((apiKey as InstanceType<typeof OpenAI.APIError>).message).toContain('a Bedrock API key cannot sign S3 requests')
    expect(await gateway.storage.getKeys('blobs')).toEqual([])
  })

  it("reports S3's refusal (a bucket that does not exist) in OpenAI's shape, keeping nothing", async () => {
    const records = await gateway.storage.getKeys('files-batch')
    const error = await upload(gateway.client(), { provider: 'bedrock', storage_config: { s3: { bucket: 'no-such-bucket' } } }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('NoSuchBucket')
    expect(await gateway.storage.getKeys('blobs')).toEqual([])
    expect(await gateway.storage.getKeys('files-batch')).toEqual(records)
  })

  it("keeps a virtual key's S3 files from others", async () => {
    const created = await upload(gateway.client('sk-bf-alice'))
    const bob = gateway.client('sk-bf-bob')
    await expect(bob.files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.files.content(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(bob.files.delete(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await bob.files.list(query as OpenAI.FileListParams)).data).toEqual([])
    expect(await bucket.headObject(BUCKET, `batch-input/${created.id}/batch_e2e.jsonl`)).toBeDefined()
  })
})
