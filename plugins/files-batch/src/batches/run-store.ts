import type { PluginSetupContext } from '@switchyard/core'

type Storage = PluginSetupContext['storage']

/** One request of a gateway-run batch, ready to send: its `custom_id` and the body's JSON text. */
export interface RunLine {
  custom_id: string
  body: string
}

/** How a gateway-run batch's requests are sent (`run:meta:<id>`): written once, before the batch is answered. */
export interface RunMeta {
  v: 1
  id: string
  /** Number of requests. */
  total: number
  /** Requests per stored chunk (`run:lines:<id>:<n>`). */
  chunkSize: number
  /** Path each request is sent to through the gateway (`/openai/v1/chat/completions`). */
  path: string
  /** The caller's headers (credentials, virtual key) sent with each request, so its hooks apply as to the caller's own calls. */
  headers: Array<[string, string]>
  /** Epoch ms after which requests not yet run are not run (the completion window). */
  expiresAt: number
}

/** The recorded answer of one request (`run:done:<id>:<index>`): written once, when the request finished. */
export interface LineResult {
  v: 1
  /** HTTP status of the gateway's answer. */
  status: number
  /** The gateway's `x-request-id` of the call. */
  requestId: string | null
  /** The answer's body as text. */
  body: string
}

/**
 * The state of gateway-run batches in the gateway's storage, one key per fact so that no write
 * rewrites what another made durable (a process killed mid-write loses at most the key it was
 * writing, and a key that cannot be read back counts as missing):
 *
 * - `<base>:lines:<id>:<n>`: chunk `n` of the requests;
 * - `<base>:meta:<id>`: how they are sent;
 * - `<base>:open:<id>`: present while the batch is unfinished; the recovery scan lists these;
 * - `<base>:done:<id>:<index>`: a request's answer, written once;
 * - `<base>:failed:<id>:<index>`: a marker beside a non-2xx answer, for the counts shown while running;
 * - `<base>:worker:<id>:<instance>`: when an instance working on the batch last said so (epoch ms).
 */
export interface RunStore {
  /** Stores the requests and how to send them; the batch is not open yet. */
  create(meta: RunMeta, lines: readonly RunLine[]): Promise<void>
  meta(id: string): Promise<RunMeta | undefined>
  chunk(id: string, index: number): Promise<RunLine[] | undefined>
  markOpen(id: string): Promise<void>
  openIds(): Promise<string[]>
  /** The recorded answer of request `index`; undefined when missing or torn. */
  result(id: string, index: number): Promise<LineResult | undefined>
  putResult(id: string, index: number, result: LineResult): Promise<void>
  /** Removes a torn answer, so the request runs again. */
  forgetResult(id: string, index: number): Promise<void>
  /** Indices of requests with an answer on record (torn ones included: reading tells them apart). */
  doneIndices(id: string): Promise<Set<number>>
  failedCount(id: string): Promise<number>
  /** Notes that `instance` works on the batch now. */
  beat(id: string, instance: string, at: number): Promise<void>
  /** Takes back what `beat` noted. */
  unbeat(id: string, instance: string): Promise<void>
  /** The instances that said they work on the batch, with when they last did. */
  beats(id: string): Promise<Array<{ instance: string; at: number }>>
  /** Removes everything the batch's run needed, the open marker last. */
  clear(id: string, meta: RunMeta | undefined): Promise<void>
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A value read back, or undefined when missing or unreadable (a file cut off mid-write may not even parse). */
async function readItem(storage: Storage, key: string): Promise<unknown> {
  try {
    return await storage.getItem(key)
  } catch (error) {
    if (error instanceof SyntaxError) return undefined
    throw error
  }
}

export function createRunStore(storage: Storage, base = 'files-batch:run'): RunStore {
  const key = (...parts: Array<string | number>) => [base, ...parts].join(':')
  const tails = async (prefix: string) => {
    const full = `${key(prefix)}:`
    return (await storage.getKeys(key(prefix))).filter((name) => name.startsWith(full)).map((name) => name.slice(full.length))
  }

  return {
    async create(meta, lines) {
      for (let start = 0, n = 0; start < lines.length; start += meta.chunkSize, n++) await storage.setItem(key('lines', meta.id, n), lines.slice(start, start + meta.chunkSize) as never)
      await storage.setItem(key('meta', meta.id), meta as never)
    },
    async meta(id) {
      const value = await readItem(storage, key('meta', id))
      return isObject(value) && value.v === 1 && typeof value.total === 'number' && typeof value.path === 'string' ? (value as unknown as RunMeta) : undefined
    },
    async chunk(id, index) {
      const value = await readItem(storage, key('lines', id, index))
      return Array.isArray(value) ? (value as RunLine[]) : undefined
    },
    async markOpen(id) {
      await storage.setItem(key('open', id), Date.now())
    },
    openIds: () => tails('open'),
    async result(id, index) {
      const value = await readItem(storage, key('done', id, index))
      return isObject(value) && value.v === 1 && typeof value.status === 'number' && typeof value.body === 'string' ? (value as unknown as LineResult) : undefined
    },
    async putResult(id, index, result) {
      await storage.setItem(key('done', id, index), result as never)
      if (result.status < 200 || result.status >= 300) await storage.setItem(key('failed', id, index), 1)
    },
    async forgetResult(id, index) {
      await storage.removeItem(key('failed', id, index))
      await storage.removeItem(key('done', id, index))
    },
    async doneIndices(id) {
      return new Set((await tails(`done:${id}`)).map(Number).filter(Number.isInteger))
    },
    async failedCount(id) {
      return (await tails(`failed:${id}`)).length
    },
    async beat(id, instance, at) {
      await storage.setItem(key('worker', id, instance), at)
    },
    async unbeat(id, instance) {
      await storage.removeItem(key('worker', id, instance))
    },
    async beats(id) {
      const out: Array<{ instance: string; at: number }> = []
      for (const instance of await tails(`worker:${id}`)) {
        const at = await readItem(storage, key('worker', id, instance))
        if (typeof at === 'number') out.push({ instance, at })
      }
      return out
    },
    async clear(id, meta) {
      for (const instance of await tails(`worker:${id}`)) await storage.removeItem(key('worker', id, instance))
      for (const index of await tails(`done:${id}`)) await storage.removeItem(key('done', id, index))
      for (const index of await tails(`failed:${id}`)) await storage.removeItem(key('failed', id, index))
      const chunks = meta ? Math.ceil(meta.total / meta.chunkSize) : 0
      for (let n = 0; n < chunks; n++) await storage.removeItem(key('lines', id, n))
      await storage.removeItem(key('meta', id))
      await storage.removeItem(key('open', id))
    },
  }
}
