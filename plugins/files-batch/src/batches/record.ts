import { GatewayError, type PluginSetupContext } from '@switchyard/core'
import { createOwnedRecords, type OwnedRecords } from '../records.js'
import type { BatchKind } from './options.js'

/** OpenAI's batch statuses (https://platform.openai.com/docs/api-reference/batch/object). */
export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled'

/** The statuses after which nothing changes any more. */
export const FINAL_STATUSES: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled'])

export interface RequestCounts {
  total: number
  completed: number
  failed: number
}

/** One entry of a batch's `errors.data` (a problem with the batch as a whole). */
export interface BatchError {
  code: string
  message: string
  param?: string | null
  line?: number | null
}

/** The Unix-second timestamps of a batch's transitions (absent = not happened). */
export type BatchTimes = Partial<Record<'in_progress_at' | 'expires_at' | 'finalizing_at' | 'completed_at' | 'failed_at' | 'expired_at' | 'cancelling_at' | 'cancelled_at', number>>

/** OpenAI's batch object. */
export interface BatchObject {
  id: string
  object: 'batch'
  endpoint: string
  errors: { object: 'list'; data: BatchError[] } | null
  input_file_id: string
  completion_window: string
  status: BatchStatus
  output_file_id: string | null
  error_file_id: string | null
  created_at: number
  in_progress_at: number | null
  expires_at: number | null
  finalizing_at: number | null
  completed_at: number | null
  failed_at: number | null
  expired_at: number | null
  cancelling_at: number | null
  cancelled_at: number | null
  request_counts: RequestCounts
  metadata: Record<string, string> | null
  model?: string
  /** The provider that ran it (the gateway's addition). */
  provider?: string
  [extra: string]: unknown
}

/**
 * What the gateway keeps about a batch it runs or translates (every kind but `openai`, whose
 * batches OpenAI keeps): the OpenAI-facing fields, the provider's id for it, and what finishing it
 * needs. Kept in the gateway's storage (`files-batch:batch:<id>`), indexed per owner and provider.
 */
export interface BatchRecord {
  v: 1
  /** The id the caller uses (`batch_sy_…`). */
  id: string
  provider: string
  kind: BatchKind
  /** Owning virtual key id; `''` without one. */
  owner: string
  /** Unix seconds. */
  created_at: number
  /** The provider's id of the batch (`msgbatch_…`, a job ARN, `batches/…`); absent for a gateway-run batch. */
  upstream_id?: string
  endpoint: string
  completion_window: string
  input_file_id: string
  metadata: Record<string, string> | null
  model?: string
  status: BatchStatus
  times: BatchTimes
  request_counts: RequestCounts
  output_file_id: string | null
  error_file_id: string | null
  errors: BatchError[] | null
  /** Seconds after creation the output and error files expire (`output_expires_after`); absent: they do not. */
  output_expires_seconds?: number
  /** Ids reserved for the output and error files (so finishing twice writes the same files). */
  reserved_files: { output: string; error: string }
  /** Whether a cancel was asked for. */
  cancel_requested?: boolean
  /** What the provider's kind needs to finish the batch (S3 locations, the request ids' order ...). */
  upstream?: Record<string, unknown>
}

/** An upstream batch id the gateway created or relayed, and who owns it (`files-batch:upstream:<provider key>`). */
export interface UpstreamBatchRecord {
  v: 1
  provider: string
  owner: string
  created_at: number
  /** The provider's id. */
  id: string
  /** The gateway's batch id, when the batch was made through the OpenAI surface with a translated kind. */
  batch?: string
}

/** Batches in the gateway's storage: the gateway's own, and the ownership of provider batch ids. */
export interface BatchStore {
  batches: OwnedRecords<BatchRecord>
  upstream: OwnedRecords<UpstreamBatchRecord>
}

type Storage = PluginSetupContext['storage']

export function createBatchStore(storage: Storage, base = 'files-batch'): BatchStore {
  return { batches: createOwnedRecords<BatchRecord>(storage, base, 'batch', 'batch-owner'), upstream: createOwnedRecords<UpstreamBatchRecord>(storage, base, 'upstream', 'upstream-owner') }
}

/** The storage key of a provider's batch id: `n.<provider>.<id>`, with Gemini's `batches/` left out (ids are checked before). */
export function upstreamKeyOf(provider: string, id: string): string {
  return `n.${provider}.${id.startsWith('batches/') ? id.slice(8) : id}`
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const MINTED = /^batch_sy_[a-z2-7]{26}$/
/** Batch ids of other providers: what OpenAI, OpenAI-compatible APIs and Anthropic issue (letters, digits, `_`, `-`). */
const UPSTREAM_ID = /^[A-Za-z0-9_-]{1,128}$/

/** A new gateway batch id: `batch_sy_` and 26 base32 characters (130 random bits). */
export function mintBatchId(): string {
  let id = 'batch_sy_'
  for (const byte of crypto.getRandomValues(new Uint8Array(26))) id += ALPHABET[byte & 31]
  return id
}

export const isMintedBatchId = (id: string) => MINTED.test(id)

/** The 400 for an id that cannot be a batch id (a path, `..`, a slash ...). */
export function invalidBatchId(id: string, param = 'batch_id'): GatewayError {
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id
  return new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param, retryable: false, message: `invalid batch id ${JSON.stringify(shown)}: batch ids are letters, digits, "_" and "-"; paths are not accepted` })
}

/** The checked id, or a 400. */
export function checkBatchId(id: string): string {
  if (!UPSTREAM_ID.test(id)) throw invalidBatchId(id)
  return id
}

/** The 404 for a batch that does not exist, or that the caller may not see (the same answer, so ids cannot be probed). */
export function noSuchBatch(id: string): GatewayError {
  return new GatewayError({ status: 404, code: 'not_found', type: 'invalid_request_error', param: 'batch_id', retryable: false, message: `No such Batch object: ${id}` })
}

const or = (value: number | undefined) => value ?? null

/** The OpenAI batch object of a batch the gateway keeps. */
export function toBatchObject(record: BatchRecord): BatchObject {
  const { times } = record
  return {
    id: record.id,
    object: 'batch',
    endpoint: record.endpoint,
    errors: record.errors && record.errors.length > 0 ? { object: 'list', data: record.errors } : null,
    input_file_id: record.input_file_id,
    completion_window: record.completion_window,
    status: record.status,
    output_file_id: record.output_file_id,
    error_file_id: record.error_file_id,
    created_at: record.created_at,
    in_progress_at: or(times.in_progress_at),
    expires_at: or(times.expires_at),
    finalizing_at: or(times.finalizing_at),
    completed_at: or(times.completed_at),
    failed_at: or(times.failed_at),
    expired_at: or(times.expired_at),
    cancelling_at: or(times.cancelling_at),
    cancelled_at: or(times.cancelled_at),
    request_counts: record.request_counts,
    metadata: record.metadata,
    ...(record.model !== undefined ? { model: record.model } : {}),
    provider: record.provider,
  }
}

/** Unix seconds. */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * Moves a record to `status`, stamping the transition's time once (`completed` -> `completed_at` ...).
 * `in_progress` and `finalizing` stamp `in_progress_at` / `finalizing_at`.
 */
export function withStatus(record: BatchRecord, status: BatchStatus, at = nowSeconds()): BatchRecord {
  const stamp: Partial<Record<BatchStatus, keyof BatchTimes>> = {
    in_progress: 'in_progress_at',
    finalizing: 'finalizing_at',
    completed: 'completed_at',
    failed: 'failed_at',
    expired: 'expired_at',
    cancelling: 'cancelling_at',
    cancelled: 'cancelled_at',
  }
  const field = stamp[status]
  const times = { ...record.times }
  if (field && times[field] === undefined) times[field] = at
  // A batch that got further than `in_progress` was in progress at some point.
  if (status !== 'validating' && status !== 'failed' && times.in_progress_at === undefined) times.in_progress_at = at
  return { ...record, status, times }
}
