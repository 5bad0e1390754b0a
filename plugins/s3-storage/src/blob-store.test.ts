import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { checkBlobKey, createStorageBlobStore, type BlobStore } from './blob-store.js'
import { createBlobStore, BlobStoreConfigError } from './options.js'

const bytes = (length: number, seed = 1) => Uint8Array.from({ length }, (_, index) => (index * 31 + seed) & 0xff)

async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer())
}

/** A stream of `parts`, then a failure. */
function failingStream(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0
  return new ReadableStream({
    pull(controller) {
      if (index < parts.length) controller.enqueue(parts[index++]!)
      else controller.error(new Error('client went away'))
    },
  })
}

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

const backends: Array<[string, () => Promise<Storage>]> = [
  ['memory', async () => createStorage()],
  [
    'file directory',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'switchyard-blobs-'))
      dirs.push(dir)
      return createStorage({ driver: fsDriver({ base: dir }) })
    },
  ],
]

describe.each(backends)('storage blob store (%s)', (_name, makeStorage) => {
  const store = async (): Promise<{ storage: Storage; blobs: BlobStore }> => {
    const storage = await makeStorage()
    return { storage, blobs: createStorageBlobStore(storage, { chunkSize: 1024 }) }
  }

  it('stores a stream in chunks and streams it back byte for byte', async () => {
    const { storage, blobs } = await store()
    const content = bytes(5000)
    const info = await blobs.put('files/a.jsonl', new Blob([content]).stream(), { contentType: 'application/jsonl' })
    expect(info).toMatchObject({ key: 'files/a.jsonl', size: 5000, contentType: 'application/jsonl' })
    expect((await storage.getKeys('blobs:data')).length).toBe(5)
    const stored = await blobs.get('files/a.jsonl')
    expect(stored?.info.size).toBe(5000)
    expect(await readAll(stored!.body)).toEqual(content)
    expect(await blobs.head('files/a.jsonl')).toMatchObject({ size: 5000 })
  })

  it('stores empty blobs and text', async () => {
    const { blobs } = await store()
    await blobs.put('e', new Uint8Array(0))
    expect(await readAll((await blobs.get('e'))!.body)).toEqual(new Uint8Array(0))
    await blobs.put('t', 'héllo')
    expect(new TextDecoder().decode(await readAll((await blobs.get('t'))!.body))).toBe('héllo')
  })

  it('replaces a blob and removes the old chunks', async () => {
    const { storage, blobs } = await store()
    await blobs.put('x', bytes(3000))
    await blobs.put('x', bytes(100, 7))
    expect(await readAll((await blobs.get('x'))!.body)).toEqual(bytes(100, 7))
    expect((await storage.getKeys('blobs:data')).length).toBe(1)
  })

  it('keeps nothing of a body that fails, and keeps the previous content', async () => {
    const { storage, blobs } = await store()
    await blobs.put('y', 'before')
    await expect(blobs.put('y', failingStream([bytes(2048), bytes(10)]))).rejects.toThrow('client went away')
    expect(new TextDecoder().decode(await readAll((await blobs.get('y'))!.body))).toBe('before')
    await expect(blobs.put('z', failingStream([bytes(4096)]))).rejects.toThrow()
    expect(await blobs.head('z')).toBeUndefined()
    expect((await storage.getKeys('blobs:data')).length).toBe(1)
  })

  it('deletes blobs', async () => {
    const { storage, blobs } = await store()
    await blobs.put('d/1', bytes(2000))
    await blobs.delete('d/1')
    await blobs.delete('d/1')
    expect(await blobs.get('d/1')).toBeUndefined()
    expect(await storage.getKeys('blobs')).toEqual([])
  })

  it('lists by prefix in key order, page by page, without mixing a key with its "directory"', async () => {
    const { blobs } = await store()
    for (const key of ['p/b', 'p/a', 'p/c/d', 'p', 'q/a', 'pa']) await blobs.put(key, key)
    const first = await blobs.list('p/', { limit: 2 })
    expect(first.blobs.map((blob) => blob.key)).toEqual(['p/a', 'p/b'])
    const second = await blobs.list('p/', { limit: 2, after: first.next })
    expect(second.blobs.map((blob) => blob.key)).toEqual(['p/c/d'])
    expect(second.next).toBeUndefined()
    expect((await blobs.list('p')).blobs.map((blob) => blob.key)).toEqual(['p', 'p/a', 'p/b', 'p/c/d', 'pa'])
    expect((await blobs.get('p'))!.info.size).toBe(1)
  })

  it('refuses keys that could leave its namespace', async () => {
    const { blobs } = await store()
    for (const key of ['../etc/passwd', 'a/../../b', '', 'a//b', 'a:b', 'a\\b', '/abs', 'x/.', 'k?q']) {
      await expect(blobs.put(key, 'x'), key).rejects.toThrow(TypeError)
      await expect(blobs.get(key), key).rejects.toThrow(TypeError)
    }
  })
})

describe('blob store config', () => {
  it('defaults to the gateway storage and checks an S3 config field by field', () => {
    const storage = createStorage()
    expect(createBlobStore(undefined, storage)).toBeDefined()
    expect(() => createBlobStore({ type: 'disk' }, storage)).toThrow('store.type: must be "storage" or "s3"')
    expect(() => createBlobStore({ type: 's3', bucket: 'b-1', access_key_id: 'a' }, storage)).toThrow(BlobStoreConfigError)
    expect(() => createBlobStore({ type: 's3', bucket: 'b-1', access_key_id: 'a', secret_access_key: 'env.SWITCHYARD_TEST_UNSET_SECRET' }, storage)).toThrow('store.secret_access_key: environment variable SWITCHYARD_TEST_UNSET_SECRET is not set')
    expect(() => createBlobStore({ type: 's3', bucket: 'Bad_Bucket', access_key_id: 'a', secret_access_key: 'b' }, storage)).toThrow('store.bucket')
    expect(() => checkBlobKey('ok/key-1.jsonl')).not.toThrow()
  })
})
