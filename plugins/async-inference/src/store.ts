import type { PluginSetupContext } from '@switchyard/core'
import type { JobRecord, JobResult, JobState } from './job.js'

/**
 * The jobs in the gateway's storage (file directory, Redis, any unstorage driver). One key per
 * concern, so that no write ever rewrites what another write made durable: a process killed in
 * the middle of a write (the file store truncates before it writes) can only lose the key it was
 * writing, and each key is written at a moment where losing it is safe.
 *
 * - `<prefix>:job:<id>`: the request (headers, body, owner). Written once before the submit is
 *   answered; deleted once the result is stored.
 * - `<prefix>:open:<id>`: a marker while the job is unfinished; the recovery scan lists these.
 * - `<prefix>:state:<id>`: progress of an open job (queued/in progress, attempts, heartbeat).
 * - `<prefix>:result:<id>`: the final answer, written once, with its expiry.
 * - `<prefix>:expires:<id>`: the result's expiry (epoch ms), small, for the sweep.
 * - `<prefix>:cancel:<id>`: a cancel was asked for.
 *
 * A key that cannot be read back (a torn write) reads as missing.
 */
export interface JobStore {
  /** Stores a new job: the request first, then its state and the open marker. */
  create(job: JobRecord): Promise<void>
  job(id: string): Promise<JobRecord | undefined>
  state(id: string): Promise<JobState | undefined>
  setState(id: string, state: JobState): Promise<void>
  /** The result, unless missing or expired (an expired one is deleted on the way). */
  result(id: string, now: number): Promise<JobResult | undefined>
  /** Stores the final answer, then removes what the open job needed (request, state, markers). */
  finish(result: JobResult): Promise<void>
  /** Ids of open jobs. */
  openIds(): Promise<string[]>
  /** Drops the open marker of a job that has no request (a torn submit) or already has a result. */
  forgetOpen(id: string): Promise<void>
  cancelRequested(id: string): Promise<boolean>
  requestCancel(id: string): Promise<void>
  /** Deletes every result whose expiry has passed; returns how many. */
  sweep(now: number): Promise<number>
}

/** The gateway's unstorage instance. */
type Storage = PluginSetupContext['storage']

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A value read back from storage, or undefined when it is missing or not what was written (a torn write). */
async function read<T>(storage: Storage, key: string, valid: (value: Record<string, unknown>) => boolean): Promise<T | undefined> {
  let value: unknown
  try {
    value = await storage.getItem(key)
  } catch (error) {
    // A file cut off mid-write may not even parse: it is as good as missing.
    if (error instanceof SyntaxError) return undefined
    throw error
  }
  return isObject(value) && valid(value) ? (value as T) : undefined
}

const validJob = (value: Record<string, unknown>) => value.v === 1 && typeof value.id === 'string' && typeof value.body === 'string' && Array.isArray(value.headers) && typeof value.path === 'string'
const validState = (value: Record<string, unknown>) => (value.status === 'queued' || value.status === 'in_progress') && typeof value.attempts === 'number'
const validResult = (value: Record<string, unknown>) => value.v === 1 && typeof value.id === 'string' && typeof value.expiresAt === 'number' && typeof value.status === 'string'

export function createJobStore(storage: Storage, prefix: string): JobStore {
  const key = (kind: string, id: string) => `${prefix}:${kind}:${id}`
  const idsUnder = async (kind: string) => {
    const base = `${prefix}:${kind}:`
    const keys = await storage.getKeys(`${prefix}:${kind}`)
    return keys.filter((name) => name.startsWith(base)).map((name) => name.slice(base.length))
  }
  /** Redis and similar drivers expire keys themselves; the sweep covers the others. */
  const ttlOptions = (result: JobResult) => ({ ttl: Math.max(1, Math.ceil((result.expiresAt - Date.now()) / 1000)) })

  return {
    async create(job) {
      try {
        await storage.setItem(key('job', job.id), job as unknown as Record<string, unknown>)
        await storage.setItem(key('state', job.id), { status: 'queued', attempts: 0 } satisfies JobState)
        await storage.setItem(key('open', job.id), job.createdAt)
      } catch (error) {
        // The submit fails: leave nothing behind that no scan would ever find (best effort; the store may be down).
        await Promise.allSettled([storage.removeItem(key('job', job.id)), storage.removeItem(key('state', job.id)), storage.removeItem(key('open', job.id))])
        throw error
      }
    },
    job: (id) => read<JobRecord>(storage, key('job', id), validJob),
    state: (id) => read<JobState>(storage, key('state', id), validState),
    async setState(id, state) {
      await storage.setItem(key('state', id), state as unknown as Record<string, unknown>)
    },
    async result(id, now) {
      const result = await read<JobResult>(storage, key('result', id), validResult)
      if (!result) return undefined
      if (result.expiresAt <= now) {
        await Promise.all([storage.removeItem(key('result', id)), storage.removeItem(key('expires', id))])
        return undefined
      }
      return result
    },
    async finish(result) {
      const options = ttlOptions(result)
      await storage.setItem(key('result', result.id), result as unknown as Record<string, unknown>, options)
      await storage.setItem(key('expires', result.id), result.expiresAt, options)
      // The result is durable: what the open job needed can go (a crash here leaves only an open marker, which the scan clears).
      await Promise.all([storage.removeItem(key('job', result.id)), storage.removeItem(key('state', result.id)), storage.removeItem(key('cancel', result.id))])
      await storage.removeItem(key('open', result.id))
    },
    openIds: () => idsUnder('open'),
    async forgetOpen(id) {
      await Promise.all([storage.removeItem(key('open', id)), storage.removeItem(key('state', id))])
    },
    async cancelRequested(id) {
      return (await storage.getItem(key('cancel', id))) !== null
    },
    async requestCancel(id) {
      await storage.setItem(key('cancel', id), Date.now())
    },
    async sweep(now) {
      let removed = 0
      for (const id of await idsUnder('expires')) {
        let expiresAt = await storage.getItem(key('expires', id)).catch(() => null)
        // A torn marker: the result itself knows when it expires.
        if (typeof expiresAt !== 'number') expiresAt = (await read<JobResult>(storage, key('result', id), validResult))?.expiresAt ?? 0
        if ((expiresAt as number) > now) continue
        await Promise.all([storage.removeItem(key('result', id)), storage.removeItem(key('expires', id))])
        removed++
      }
      return removed
    },
  }
}
