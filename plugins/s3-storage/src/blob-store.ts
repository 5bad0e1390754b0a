import type { PluginSetupContext } from '@switchyard/core'
import { fixedChunks } from './chunks.js'

/** The unstorage instance a runtime hands the gateway (file directory, memory, Redis ...). */
type Storage = PluginSetupContext['storage']

/** What a blob store knows about one stored blob. */
export interface BlobInfo {
  /** The key it was stored under. */
  key: string
  /** Bytes. */
  size: number
  contentType?: string
  /** Milliseconds since the epoch. */
  lastModified: number
}

/** A blob's content: its description and a stream of its bytes (read it, or cancel it). */
export interface StoredBlob {
  info: BlobInfo
  body: ReadableStream<Uint8Array>
}

/** A body to store: bytes, text, or a stream read to its end. */
export type BlobBody = Uint8Array | string | ReadableStream<Uint8Array>

export interface BlobListOptions {
  /** Return keys after this one (a previous page's `next`). */
  after?: string
  /** At most this many. Default 1000. */
  limit?: number
}

/**
 * Where the gateway keeps files and batch results: byte streams under keys. Keys are
 * `/`-separated segments of `A-Z a-z 0-9 . _ -` (no `.` or `..` segment), at most 512 characters;
 * any other key is refused before anything is stored, so a key built from caller input can never
 * leave the store's namespace.
 */
export interface BlobStore {
  /**
   * Stores `body` under `key`, replacing what was there, and resolves once all of it is stored. A
   * body that fails (or `signal` aborting) rejects and leaves the previous content, if any, in place.
   */
  put(key: string, body: BlobBody, options?: { contentType?: string; signal?: AbortSignal }): Promise<BlobInfo>
  /** The blob, streamed; undefined when there is none. */
  get(key: string): Promise<StoredBlob | undefined>
  head(key: string): Promise<BlobInfo | undefined>
  /** Removes the blob (nothing happens when there is none). */
  delete(key: string): Promise<void>
  /** Blobs whose key starts with `prefix`, in key order, one page at a time. */
  list(prefix: string, options?: BlobListOptions): Promise<{ blobs: BlobInfo[]; next: string | undefined }>
}

const SEGMENT = /^[A-Za-z0-9._-]+$/

/** Throws a TypeError for a key outside the {@link BlobStore} key rules. */
export function checkBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new TypeError('blob keys are 1 to 512 characters long')
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') throw new TypeError(`invalid blob key "${key}": segments are A-Z a-z 0-9 . _ - and never "." or ".."`)
  }
}

/** Throws for a list prefix that could not be a prefix of a valid key. */
function checkPrefix(prefix: string): void {
  if (prefix === '') return
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  checkBlobKey(trimmed)
}

/** Reads any body as a stream of bytes. */
export function toByteStream(body: BlobBody): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes)
      controller.close()
    },
  })
}

export interface StorageBlobStoreOptions {
  /** Key namespace inside the storage. Default `blobs`. */
  base?: string
  /** Bytes per stored chunk. Default 1 MiB. */
  chunkSize?: number
}

/** What the storage holds per blob: its description and where its chunks are. */
interface BlobMeta {
  v: 1
  size: number
  contentType?: string
  lastModified: number
  /** Generation id: chunks live under `<base>:data:<generation>:<index>`. */
  generation: string
  chunks: number
}

/**
 * A blob store in the gateway's own unstorage instance: the file directory of a single gateway
 * (`.switchyard/` by default), memory in tests, Redis when several instances share state. No
 * setup, no extra service: the default for the Files API.
 *
 * A blob is written as chunks of `chunkSize` bytes (so memory stays bounded whatever the size, and
 * reads stream chunk by chunk) under a fresh generation id, then its description under
 * `<base>:meta:<key>@`. The description is written last: a reader sees a blob only once all of it
 * is stored, and a replaced blob's old chunks are removed after the new description is in place.
 */
export function createStorageBlobStore(storage: Storage, options: StorageBlobStoreOptions = {}): BlobStore {
  const base = (options.base ?? 'blobs').replace(/[/:]+$/, '')
  const chunkSize = Math.max(1024, options.chunkSize ?? 1024 * 1024)
  // `@` cannot appear in a key segment, so `a@` (a description) never collides with `a/...` (a directory).
  const metaKey = (key: string) => `${base}:meta:${key.replaceAll('/', ':')}@`
  const chunkKey = (generation: string, index: number) => `${base}:data:${generation}:${index}`
  const keyOfMeta = (stored: string) => stored.slice(`${base}:meta:`.length, -1).replaceAll(':', '/')

  async function readMeta(key: string): Promise<BlobMeta | undefined> {
    const meta = (await storage.getItem(metaKey(key))) as BlobMeta | null
    return meta && typeof meta === 'object' && meta.v === 1 ? meta : undefined
  }

  const infoOf = (key: string, meta: BlobMeta): BlobInfo => ({ key, size: meta.size, contentType: meta.contentType, lastModified: meta.lastModified })

  async function removeChunks(generation: string, chunks: number): Promise<void> {
    for (let index = 0; index < chunks; index++) await storage.removeItem(chunkKey(generation, index))
  }

  async function put(key: string, body: BlobBody, putOptions: { contentType?: string; signal?: AbortSignal } = {}): Promise<BlobInfo> {
    checkBlobKey(key)
    const generation = crypto.randomUUID().replaceAll('-', '')
    let chunks = 0
    let size = 0
    try {
      for await (const chunk of fixedChunks(toByteStream(body), chunkSize)) {
        putOptions.signal?.throwIfAborted()
        await storage.setItemRaw(chunkKey(generation, chunks), chunk)
        chunks++
        size += chunk.length
      }
      putOptions.signal?.throwIfAborted()
      const previous = await readMeta(key)
      const meta: BlobMeta = { v: 1, size, contentType: putOptions.contentType, lastModified: Date.now(), generation, chunks }
      await storage.setItem(metaKey(key), meta as never)
      if (previous) await removeChunks(previous.generation, previous.chunks)
      return infoOf(key, meta)
    } catch (error) {
      // One more than counted: a chunk whose write failed may be half there.
      await removeChunks(generation, chunks + 1).catch(() => {})
      throw error
    }
  }

  async function get(key: string): Promise<StoredBlob | undefined> {
    checkBlobKey(key)
    const meta = await readMeta(key)
    if (!meta) return undefined
    let index = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (index >= meta.chunks) return controller.close()
        const chunk = await storage.getItemRaw(chunkKey(meta.generation, index))
        if (chunk === null || chunk === undefined) return controller.error(new Error(`blob "${key}" changed or was removed while it was read`))
        index++
        controller.enqueue(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer))
      },
    })
    return { info: infoOf(key, meta), body }
  }

  async function head(key: string): Promise<BlobInfo | undefined> {
    checkBlobKey(key)
    const meta = await readMeta(key)
    return meta ? infoOf(key, meta) : undefined
  }

  async function remove(key: string): Promise<void> {
    checkBlobKey(key)
    const meta = await readMeta(key)
    if (!meta) return
    await storage.removeItem(metaKey(key))
    await removeChunks(meta.generation, meta.chunks)
  }

  async function list(prefix: string, listOptions: BlobListOptions = {}): Promise<{ blobs: BlobInfo[]; next: string | undefined }> {
    checkPrefix(prefix)
    const limit = Math.max(1, Math.min(listOptions.limit ?? 1000, 1000))
    // Ask the storage for the directory the prefix is in, then keep the keys that really start with it.
    const directory = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')).replaceAll('/', ':') : ''
    const stored = await storage.getKeys(`${base}:meta${directory ? `:${directory}` : ''}`)
    const keys = stored
      .filter((item) => item.endsWith('@'))
      .map(keyOfMeta)
      .filter((key) => key.startsWith(prefix) && (listOptions.after === undefined || key > listOptions.after))
      .sort()
    const blobs: BlobInfo[] = []
    let next: string | undefined
    for (const key of keys) {
      if (blobs.length === limit) {
        next = blobs.at(-1)!.key
        break
      }
      const meta = await readMeta(key)
      if (meta) blobs.push(infoOf(key, meta))
    }
    return { blobs, next }
  }

  return { put, get, head, delete: remove, list }
}
