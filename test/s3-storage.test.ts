import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBlobStore, createS3BlobStore, createS3Client, S3Error, type S3Client } from '@switchyard/plugin-s3-storage'
import { startTestS3, type TestS3 } from './support/mock-files-s3.js'

function bytes(length: number, seed = 3): Uint8Array {
  const out = new Uint8Array(length)
  for (let index = 0; index < length; index++) out[index] = (index * 131 + seed) & 0xff
  return out
}
/** Byte equality without a deep, element-by-element diff of megabytes. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
const readAll = async (body: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(body).arrayBuffer())

let s3: TestS3
let client: S3Client
beforeAll(async () => {
  s3 = await startTestS3(['switchyard-test', 'vhost-bucket'])
  client = createS3Client({ region: 'us-east-1', credentials: s3.credentials, endpoint: s3.endpoint, partSize: 5 * 1024 * 1024 })
})
afterAll(async () => {
  await s3?.close()
})

describe('S3 client against s3rver (path-style)', () => {
  it('puts, heads, gets (streamed) and deletes an object', async () => {
    const content = new TextEncoder().encode('{"custom_id":"a"}\n')
    await client.putObject('switchyard-test', 'in/a b+c.jsonl', content, { contentType: 'application/jsonl' })
    const head = await client.headObject('switchyard-test', 'in/a b+c.jsonl')
    expect(head).toMatchObject({ key: 'in/a b+c.jsonl', size: content.length, contentType: 'application/jsonl' })
    const got = await client.getObject('switchyard-test', 'in/a b+c.jsonl')
    expect(got?.body).toBeInstanceOf(ReadableStream)
    expect(await readAll(got!.body)).toEqual(content)
    await client.deleteObject('switchyard-test', 'in/a b+c.jsonl')
    expect(await client.headObject('switchyard-test', 'in/a b+c.jsonl')).toBeUndefined()
    expect(await client.getObject('switchyard-test', 'in/a b+c.jsonl')).toBeUndefined()
    // Deleting what is not there is not an error (as on S3).
    await client.deleteObject('switchyard-test', 'in/a b+c.jsonl')
  })

  it('uploads a stream longer than one part as a multipart upload', async () => {
    const content = bytes(11 * 1024 * 1024 + 17)
    const calls: string[] = []
    const counting = createS3Client({
      region: 'us-east-1',
      credentials: s3.credentials,
      endpoint: s3.endpoint,
      partSize: 5 * 1024 * 1024,
      fetch: (input, init) => {
        calls.push(`${init?.method} ${new URL(String(input)).search}`)
        return fetch(input, init)
      },
    })
    // Fed in odd-sized pieces, so parts are cut across chunk boundaries.
    let offset = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= content.length) return controller.close()
        const end = Math.min(content.length, offset + 700_001)
        controller.enqueue(content.subarray(offset, end))
        offset = end
      },
    })
    const result = await counting.upload('switchyard-test', 'big/object.bin', stream, { contentType: 'application/octet-stream' })
    expect(result.size).toBe(content.length)
    expect(calls.filter((call) => call.includes('partNumber'))).toHaveLength(3)
    expect(calls.some((call) => call.startsWith('POST ?uploads'))).toBe(true)
    expect(calls.some((call) => call.startsWith('POST ?uploadId='))).toBe(true)
    const got = await client.getObject('switchyard-test', 'big/object.bin')
    expect(got!.info.size).toBe(content.length)
    expect(sameBytes(await readAll(got!.body), content)).toBe(true)
    await client.deleteObject('switchyard-test', 'big/object.bin')
  })

  it('uploads a short stream with a single PUT', async () => {
    const calls: string[] = []
    const counting = createS3Client({ region: 'us-east-1', credentials: s3.credentials, endpoint: s3.endpoint, fetch: (input, init) => (calls.push(String(init?.method)), fetch(input, init)) })
    await counting.upload('switchyard-test', 'small.txt', new Blob(['small']).stream())
    expect(calls).toEqual(['PUT'])
    expect(new TextDecoder().decode(await readAll((await client.getObject('switchyard-test', 'small.txt'))!.body))).toBe('small')
  })

  it('lists with ListObjectsV2, page by page', async () => {
    for (const name of ['c', 'a', 'b', 'd']) await client.putObject('switchyard-test', `list/${name}`, name)
    await client.putObject('switchyard-test', 'other/x', 'x')
    const first = await client.listObjects('switchyard-test', { prefix: 'list/', maxKeys: 3 })
    expect(first.objects.map((object) => object.key)).toEqual(['list/a', 'list/b', 'list/c'])
    expect(first.objects[0]).toMatchObject({ size: 1, etag: expect.any(String) })
    expect(first.isTruncated).toBe(true)
    const second = await client.listObjects('switchyard-test', { prefix: 'list/', maxKeys: 3, continuationToken: first.nextContinuationToken })
    expect(second.objects.map((object) => object.key)).toEqual(['list/d'])
    expect(second.isTruncated).toBe(false)
    const after = await client.listObjects('switchyard-test', { prefix: 'list/', startAfter: 'list/b' })
    expect(after.objects.map((object) => object.key)).toEqual(['list/c', 'list/d'])
  })

  it("reports S3's error code for a missing bucket", async () => {
    const error = await client.putObject('no-such-bucket', 'k', 'x').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(S3Error)
    expect(error).toMatchObject({ status: 404, code: 'NoSuchBucket' })
  })

  it('aborts a multipart upload whose body fails, leaving no object', async () => {
    let sent = 0
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 6 * 1024 * 1024) return controller.error(new Error('caller went away'))
        controller.enqueue(bytes(1024 * 1024, sent))
        sent += 1024 * 1024
      },
    })
    await expect(client.upload('switchyard-test', 'broken.bin', failing)).rejects.toThrow('caller went away')
    expect(await client.headObject('switchyard-test', 'broken.bin')).toBeUndefined()
  })
})

describe('S3 client against s3rver (virtual-hosted)', () => {
  it('addresses the bucket in the host name', async () => {
    const vhost = createS3Client({ region: 'us-east-1', credentials: s3.credentials, endpoint: `http://s3.localhost:${s3.port}`, pathStyle: false, fetch: s3.virtualHostFetch })
    expect(vhost.url('vhost-bucket', 'k.txt').host).toBe(`vhost-bucket.s3.localhost:${s3.port}`)
    await vhost.putObject('vhost-bucket', 'dir/k.txt', 'hosted')
    expect(await vhost.headObject('vhost-bucket', 'dir/k.txt')).toMatchObject({ size: 6 })
    expect((await vhost.listObjects('vhost-bucket', { prefix: 'dir/' })).objects.map((object) => object.key)).toEqual(['dir/k.txt'])
    // The same object, seen path-style: the host name really chose the bucket.
    expect(new TextDecoder().decode(await readAll((await client.getObject('vhost-bucket', 'dir/k.txt'))!.body))).toBe('hosted')
    await vhost.deleteObject('vhost-bucket', 'dir/k.txt')
    expect(await client.headObject('vhost-bucket', 'dir/k.txt')).toBeUndefined()
  })
})

describe('S3 blob store', () => {
  it('stores, streams, lists and deletes blobs under a prefix', async () => {
    const blobs = createS3BlobStore({ client, bucket: 'switchyard-test', prefix: 'gateway' })
    await blobs.put('files/one', new Blob(['one']).stream(), { contentType: 'text/plain' })
    await blobs.put('files/two', 'two')
    expect(await client.headObject('switchyard-test', 'gateway/files/one')).toMatchObject({ size: 3 })
    expect(await blobs.head('files/one')).toMatchObject({ key: 'files/one', size: 3, contentType: 'text/plain' })
    expect(new TextDecoder().decode(await readAll((await blobs.get('files/two'))!.body))).toBe('two')
    const page = await blobs.list('files/', { limit: 1 })
    expect(page.blobs.map((blob) => blob.key)).toEqual(['files/one'])
    expect((await blobs.list('files/', { after: page.next })).blobs.map((blob) => blob.key)).toEqual(['files/two'])
    await blobs.delete('files/one')
    expect(await blobs.get('files/one')).toBeUndefined()
    await expect(blobs.put('../escape', 'x')).rejects.toThrow(TypeError)
  })

  it('is what a `store: { type: "s3" }` config builds', async () => {
    const blobs = createBlobStore({ type: 's3', bucket: 'switchyard-test', endpoint: s3.endpoint, prefix: 'configured/', access_key_id: 'S3RVER', secret_access_key: 'S3RVER' }, undefined as never)
    await blobs.put('k', 'v')
    expect(await client.headObject('switchyard-test', 'configured/k')).toMatchObject({ size: 1 })
  })
})
