import { GatewayError, type AtomicStore, type Config, type Logger, type PluginSetupContext, type SendResult, type Warning } from '@switchyard/core'
import { mintFileId } from '../ids.js'
import type { ResolvedFilesOptions } from '../options.js'
import type { FileRecords } from '../records.js'
import type { BlobStore } from '../s3.js'
import type { FilesService } from '../service.js'
import { jsonOf } from '../target.js'
import type { ResolvedBatchOptions } from './options.js'
import { mintBatchId, nowSeconds, upstreamKeyOf, withStatus, type BatchRecord, type BatchStatus, type BatchStore, type RequestCounts } from './record.js'
import { writeResultFiles, type ResultLine } from './results.js'

/** What every batch target works with. */
export interface BatchEnv {
  files: FilesService
  fileRecords: FileRecords
  blobs: BlobStore
  store: BatchStore
  send: PluginSetupContext['send']
  atomic: AtomicStore
  config: Config
  options: ResolvedBatchOptions
  filesOptions: ResolvedFilesOptions
  log: Logger
}

/** A `POST /batches` body, checked: OpenAI's fields, and the whole body for the gateway's own (`requests`, `output_s3_uri` ...). */
export interface NewBatch {
  input_file_id: string
  endpoint: string
  completion_window: string
  metadata: Record<string, string> | null
  /** `output_expires_after.seconds` (anchor `created_at`). */
  output_expires_seconds: number | undefined
  /** `model` of `extra_body` (Bedrock and Gemini run one model per job). */
  model: string | undefined
  body: Record<string, unknown>
}

/** Who asks, for which provider. */
export interface BatchCall {
  /** Virtual key id of the caller; `''` without one. */
  owner: string
  provider: string
  signal: AbortSignal
  /** The caller's request headers (a gateway-run batch sends its requests with the caller's credentials). */
  headers: Headers
}

/** One way of running batches (a provider's batch API, or the gateway itself). */
export interface BatchTarget {
  /** Checks and converts the input, creates the batch, stores its record. Nothing is stored when it fails. */
  create(batch: NewBatch, call: BatchCall): Promise<{ record: BatchRecord; warnings: Warning[] }>
  /** The record brought up to date with the provider, finished (result files written) once the provider is done. */
  refresh(record: BatchRecord, call: BatchCall): Promise<BatchRecord>
  cancel(record: BatchRecord, call: BatchCall): Promise<BatchRecord>
}

/** The 24 hours of OpenAI's only completion window, in seconds. */
export const COMPLETION_WINDOW_SECONDS = 24 * 3600

/** A fresh record for a batch about to be created. */
export function newRecord(batch: NewBatch, call: BatchCall, kind: BatchRecord['kind'], fields: { status: BatchStatus; total: number; model?: string; upstream_id?: string; upstream?: Record<string, unknown> }): BatchRecord {
  const created = nowSeconds()
  const record: BatchRecord = {
    v: 1,
    id: mintBatchId(),
    provider: call.provider,
    kind,
    owner: call.owner,
    created_at: created,
    endpoint: batch.endpoint,
    completion_window: batch.completion_window,
    input_file_id: batch.input_file_id,
    metadata: batch.metadata,
    ...(fields.model !== undefined ? { model: fields.model } : {}),
    status: 'validating',
    times: { expires_at: created + COMPLETION_WINDOW_SECONDS },
    request_counts: { total: fields.total, completed: 0, failed: 0 },
    output_file_id: null,
    error_file_id: null,
    errors: null,
    ...(batch.output_expires_seconds !== undefined ? { output_expires_seconds: batch.output_expires_seconds } : {}),
    reserved_files: { output: mintFileId(), error: mintFileId() },
    ...(fields.upstream_id !== undefined ? { upstream_id: fields.upstream_id } : {}),
    ...(fields.upstream !== undefined ? { upstream: fields.upstream } : {}),
  }
  return withStatus(record, fields.status, created)
}

/** Stores a new record, and the ownership of the provider's id for it (so the provider's own surfaces show it to its owner only). */
export async function saveNewRecord(env: BatchEnv, record: BatchRecord): Promise<void> {
  if (record.upstream_id !== undefined) {
    await env.store.upstream.put(upstreamKeyOf(record.provider, record.upstream_id), { v: 1, provider: record.provider, owner: record.owner, created_at: record.created_at, id: record.upstream_id, batch: record.id })
  }
  await env.store.batches.put(record.id, record)
}

/** Saves a changed record (same owner and provider: the index stays). */
export async function saveRecord(env: BatchEnv, record: BatchRecord): Promise<BatchRecord> {
  await env.store.batches.put(record.id, record)
  return record
}

/**
 * Finishes a batch the provider is done with: its results become the output and error files, the
 * record takes its final status and counts. Held under the batch's lease, so two retrieves at once
 * do not both write; the one that does not get it answers `finalizing`.
 */
export async function finishWith(env: BatchEnv, record: BatchRecord, status: 'completed' | 'cancelled' | 'expired' | 'failed', lines: () => AsyncIterable<ResultLine>, counts?: Partial<RequestCounts>): Promise<BatchRecord> {
  const lease = `files-batch:finish:${record.id}`
  const owner = crypto.randomUUID()
  if (!(await env.atomic.claim(lease, owner, env.options.leaseMs))) return withStatus(record, 'finalizing')
  try {
    // Finished meanwhile by another retrieve.
    const current = (await env.store.batches.get(record.id)) ?? record
    if (current.output_file_id !== null || current.error_file_id !== null || current.status === status) return current
    await saveRecord(env, withStatus(current, 'finalizing'))
    const written = await writeResultFiles({ blobs: env.blobs, records: env.fileRecords }, current, lines())
    const done = withStatus({ ...current, output_file_id: written.output, error_file_id: written.error, request_counts: { total: counts?.total ?? current.request_counts.total, completed: counts?.completed ?? written.completed, failed: counts?.failed ?? written.failed } }, 'finalizing')
    return await saveRecord(env, withStatus(done, status))
  } finally {
    await env.atomic.release(lease, owner).catch(() => false)
  }
}

/** The JSON of an upstream answer (the call settled). */
export async function jsonOfSent(sent: SendResult): Promise<Record<string, unknown>> {
  const provider = sent.context.providerId
  const value = await jsonOf(sent).catch((error: unknown) => {
    throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] the batch API answered without JSON`, cause: error })
  })
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] the batch API answered without a JSON object` })
  return value as Record<string, unknown>
}

/** Unix seconds of an RFC 3339 time, or undefined. */
export function secondsOf(time: unknown): number | undefined {
  const ms = typeof time === 'string' ? Date.parse(time) : Number.NaN
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}
