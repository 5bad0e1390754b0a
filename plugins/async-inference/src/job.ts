import { GatewayError } from '@switchyard/core'

/** The caller's request headers of async inference (the reference docs' contract). */
export const ASYNC_HEADER = 'x-bf-async'
export const ASYNC_ID_HEADER = 'x-bf-async-id'
export const ASYNC_TTL_HEADER = 'x-bf-async-job-result-ttl'
/** Sent back with every async answer: where the job is (`queued`, `in_progress`, `completed`, `failed`, `cancelled`). */
export const ASYNC_STATUS_HEADER = 'x-bf-async-status'
/**
 * Set by the native `POST /v1/async/...` endpoint on the request it sends through the surface: the
 * submit is answered with the job view instead of the dialect's pending object. A caller sending it
 * itself only changes the shape of its own answer.
 */
export const NATIVE_SUBMIT_HEADER = 'x-bf-async-native'

/** Where a job is. `queued` and `in_progress` are open; the others are final. */
export type JobStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled'

/** Who may read a job: the virtual key governance identified, and a hash of the credential headers sent. */
export interface JobOwner {
  /** Virtual key id (`ctx.state['switchyard:virtual_key'].id`); null when no plugin identified one. */
  vk: string | null
  /** SHA-256 (hex) of the credential headers of the submit; null when it had none. */
  credential: string | null
}

/** What the job is about: shown by the native endpoints and used to answer polls in the right dialect. */
export interface JobSummary {
  id: string
  /** Epoch ms. */
  createdAt: number
  owner: JobOwner
  /** Dialect of the surface it was submitted to (`openai`, `anthropic` ...). */
  surface: string
  operation: string
  /** The model as the caller wrote it. */
  model: string
  /** Path and query it was submitted to (`/openai/v1/chat/completions`). */
  path: string
  /** Seconds the result stays pollable once the job finished. */
  ttlSeconds: number
}

/** The stored request (`job:<id>`): written once, before the submit is answered, and deleted when the job finishes. */
export interface JobRecord extends JobSummary {
  v: 1
  /** The caller's headers (minus `x-bf-async*` and hop-by-hop ones), sent again with the job's run. */
  headers: Array<[string, string]>
  /** The caller's body, exactly as received: its text, or base64 when it is not text (`bodyEncoding`). */
  body: string
  bodyEncoding?: 'base64'
}

/** The mutable progress of an open job (`state:<id>`). */
export interface JobState {
  status: 'queued' | 'in_progress'
  /** Runs started so far (including the current one). */
  attempts: number
  /** Epoch ms the current run started. */
  startedAt?: number
  /** Epoch ms the current runner last proved it is alive; a run older than the lease is presumed dead. */
  heartbeatAt?: number
  /** Token of the current run (instance id + sequence). */
  runner?: string
}

/** A failure that is the gateway's, not the upstream's: rendered in the caller's dialect when polled. */
export interface JobFailure {
  status: number
  code: string
  message: string
}

/** A finished job (`result:<id>`): written exactly once; expires `ttlSeconds` after `finishedAt`. */
export interface JobResult extends JobSummary {
  v: 1
  status: 'completed' | 'failed' | 'cancelled'
  attempts: number
  startedAt: number | undefined
  finishedAt: number
  expiresAt: number
  /** The answer of the job's run, as the caller's surface rendered it (success or upstream error). */
  response?: { status: number; headers: Record<string, string>; body: string; encoding?: 'base64' }
  /** Set instead of `response` when the job never got an answer (cancelled, interrupted too often, gateway failure). */
  failure?: JobFailure
}

/** Job ids: a prefix and 192 random bits in base64url (32 characters), safe in a path and a storage key. */
const JOB_ID = /^job_[A-Za-z0-9_-]{32}$/

export function createJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `job_${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_')}`
}

export function isJobId(value: string): boolean {
  return JOB_ID.test(value)
}

/** Headers that identify the caller; their hash is the owner's `credential`. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-bf-vk']

/** SHA-256 (hex) over the caller's credential headers, in a fixed order; null when there are none. */
export async function credentialOf(headers: Headers): Promise<string | null> {
  let material = ''
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers.get(name)
    if (value !== null) material += `${name}:${value}\n`
  }
  if (material === '') return null
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(material)))
  let hex = ''
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** Compares without stopping at the first difference. */
function sameText(a: string, b: string): boolean {
  let difference = a.length ^ b.length
  for (let i = 0; i < b.length; i++) difference |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i)
  return difference === 0
}

/**
 * True when `caller` may read a job owned by `owner`. A virtual key on either side decides: both
 * must name the same key. Without one on either side, the credential headers must be the same.
 * The native endpoints run no hooks, so they know no virtual key: they compare credentials only.
 */
export function mayRead(owner: JobOwner, caller: { vk: string | null | undefined; credential: string | null }): boolean {
  if (caller.vk !== undefined && (owner.vk !== null || caller.vk !== null)) return owner.vk === caller.vk
  if (owner.credential === null || caller.credential === null) return owner.credential === caller.credential
  return sameText(owner.credential, caller.credential)
}

/** Headers that belong to one hop or to the async protocol itself: never stored with a job. */
const NOT_STORED = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'expect', ASYNC_HEADER, ASYNC_ID_HEADER, ASYNC_TTL_HEADER, NATIVE_SUBMIT_HEADER])

/** The caller's headers to send again with the job's run: everything but `x-bf-async*` and hop-by-hop headers. */
export function storedHeaders(headers: Headers): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [name, value] of headers) if (!NOT_STORED.has(name)) out.push([name, value])
  return out
}

/** `x-bf-async`: `true`/`1` submits, `false`/`0` (or absent) is a plain call; anything else is a 400. */
export function parseAsyncFlag(value: string | null): boolean {
  if (value === null) return false
  const normalized = value.trim().toLowerCase()
  if (normalized === 'true' || normalized === '1') return true
  if (normalized === 'false' || normalized === '0' || normalized === '') return false
  throw GatewayError.badRequest(`${ASYNC_HEADER} must be "true" or "false", got ${JSON.stringify(value.slice(0, 40))}`)
}

/** `x-bf-async-job-result-ttl`: whole seconds from 1 to `max`; absent: `fallback`. */
export function parseResultTtl(value: string | null, fallback: number, max: number): number {
  if (value === null) return fallback
  const trimmed = value.trim()
  const seconds = /^\d{1,12}$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > max) {
    throw GatewayError.badRequest(`${ASYNC_TTL_HEADER} must be a whole number of seconds from 1 to ${max}, got ${JSON.stringify(value.slice(0, 40))}`)
  }
  return seconds
}

/** The status a poll or the native view reports for a job. */
export function statusOf(result: JobResult | undefined, state: JobState | undefined): JobStatus {
  return result?.status ?? state?.status ?? 'queued'
}
