import { GatewayError, type Warning } from '@switchyard/core'
import { batchKindOf, type BatchKind } from './options.js'
import { checkBatchId, isMintedBatchId, noSuchBatch, toBatchObject, type BatchObject, type BatchRecord } from './record.js'
import type { BatchCall, BatchEnv, BatchTarget, NewBatch } from './target.js'
import type { BatchList, BatchListQuery, OpenAIBatchTarget } from './targets/openai.js'

/** The endpoints OpenAI's `POST /batches` accepts (https://platform.openai.com/docs/api-reference/batch/create). */
export const BATCH_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'] as const

/** OpenAI's bounds for `output_expires_after.seconds`: one hour to thirty days. */
const MIN_EXPIRY = 3600
const MAX_EXPIRY = 2_592_000

/** Who asks: the caller's virtual key, its headers, its abort signal. */
export interface BatchCaller {
  owner: string
  headers: Headers
  signal: AbortSignal
}

/**
 * The Batch API across providers: checks the OpenAI-shaped calls, picks how the provider's batches
 * run (its own batch API, translated or forwarded, or the gateway), and enforces ownership (a batch
 * belongs to the virtual key that created it; anyone else gets the same 404 as for a batch that
 * does not exist).
 */
export interface BatchService {
  create(body: Record<string, unknown>, caller: BatchCaller): Promise<{ batch: BatchObject; warnings: Warning[] }>
  list(provider: string, query: BatchListQuery, caller: BatchCaller): Promise<BatchList>
  retrieve(id: string, provider: string | undefined, caller: BatchCaller): Promise<BatchObject>
  cancel(id: string, provider: string | undefined, caller: BatchCaller): Promise<BatchObject>
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const invalid = (param: string, message: string) => GatewayError.badRequest(message, param)

/** `metadata`: at most 16 string pairs, keys up to 64 characters, values up to 512 (OpenAI's rule). */
function metadataOf(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null
  if (!isObject(value)) throw invalid('metadata', "Invalid 'metadata': expected an object of string values")
  const entries = Object.entries(value)
  if (entries.length > 16) throw invalid('metadata', "Invalid 'metadata': at most 16 key-value pairs")
  for (const [key, item] of entries) {
    if (key.length > 64) throw invalid('metadata', `Invalid 'metadata': key "${key.slice(0, 80)}" is longer than 64 characters`)
    if (typeof item !== 'string' || item.length > 512) throw invalid('metadata', `Invalid 'metadata.${key.slice(0, 64)}': expected a string of at most 512 characters`)
  }
  return value as Record<string, string>
}

/** A `POST /batches` body, checked against OpenAI's rules. */
export function newBatchOf(body: Record<string, unknown>): NewBatch {
  const inputFileId = body.input_file_id
  if (inputFileId === undefined || inputFileId === null) {
    if (body.requests === undefined) throw invalid('input_file_id', "Missing required parameter: 'input_file_id'")
  } else if (typeof inputFileId !== 'string') throw invalid('input_file_id', "Invalid 'input_file_id': expected a string")
  const endpoint = body.endpoint
  if (endpoint === undefined || endpoint === null) throw invalid('endpoint', "Missing required parameter: 'endpoint'")
  if (typeof endpoint !== 'string' || !(BATCH_ENDPOINTS as readonly string[]).includes(endpoint)) throw invalid('endpoint', `Invalid 'endpoint': expected one of ${BATCH_ENDPOINTS.join(', ')}`)
  const window = body.completion_window
  if (window === undefined || window === null) throw invalid('completion_window', "Missing required parameter: 'completion_window'")
  if (window !== '24h') throw invalid('completion_window', "Invalid 'completion_window': only '24h' is supported")
  let outputExpires: number | undefined
  if (body.output_expires_after !== undefined && body.output_expires_after !== null) {
    const expires = body.output_expires_after
    if (!isObject(expires) || expires.anchor !== 'created_at') throw invalid('output_expires_after', "output_expires_after.anchor must be 'created_at'")
    const seconds = expires.seconds
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_EXPIRY || seconds > MAX_EXPIRY) throw invalid('output_expires_after', `output_expires_after.seconds must be an integer from ${MIN_EXPIRY} to ${MAX_EXPIRY}`)
    outputExpires = seconds
  }
  const model = body.model
  if (model !== undefined && model !== null && (typeof model !== 'string' || model === '')) throw invalid('model', "Invalid 'model': expected a non-empty string")
  return {
    input_file_id: (inputFileId as string | undefined) ?? '',
    endpoint,
    completion_window: window,
    metadata: metadataOf(body.metadata),
    output_expires_seconds: outputExpires,
    model: (model as string | null | undefined) ?? undefined,
    body,
  }
}

const providerOf = (value: unknown): string => {
  if (value === undefined || value === null || value === '') return 'openai'
  if (typeof value !== 'string') throw invalid('provider', "Invalid 'provider': expected a provider id")
  return value
}

/** One page of the gateway's batches, newest first, in OpenAI's cursor semantics. */
function pageOf(records: BatchRecord[], query: BatchListQuery): BatchList {
  const sorted = records.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  let start = 0
  if (query.after !== undefined) {
    const at = sorted.findIndex((record) => record.id === query.after)
    start = at === -1 ? sorted.length : at + 1
  }
  const data = sorted.slice(start, start + query.limit).map(toBatchObject)
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + data.length < sorted.length }
}

export function createBatchService(env: BatchEnv, targets: Record<Exclude<BatchKind, 'openai'>, BatchTarget>, openai: OpenAIBatchTarget): BatchService {
  const kindOf = (provider: string): BatchKind => batchKindOf(provider, env.options, env.files.kindOf(provider), env.config)
  const callOf = (provider: string, caller: BatchCaller): BatchCall => ({ owner: caller.owner, provider, signal: caller.signal, headers: caller.headers })

  /** The gateway's record of a minted id, when the caller owns it. */
  async function recordOf(id: string, caller: BatchCaller): Promise<BatchRecord> {
    const record = await env.store.batches.get(id)
    if (!record || record.owner !== caller.owner) throw noSuchBatch(id)
    return record
  }

  /** Retrieve and cancel: a minted id names its provider itself; any other id is the provider's own (OpenAI-style batch APIs). */
  async function act(id: string, providerQuery: string | undefined, caller: BatchCaller, action: 'refresh' | 'cancel'): Promise<BatchObject> {
    if (isMintedBatchId(id)) {
      const record = await recordOf(id, caller)
      const target = record.kind === 'openai' ? undefined : targets[record.kind]
      if (!target) throw noSuchBatch(id)
      return toBatchObject(await target[action](record, callOf(record.provider, caller)))
    }
    checkBatchId(id)
    const provider = providerOf(providerQuery)
    if (kindOf(provider) !== 'openai') throw noSuchBatch(id)
    return action === 'refresh' ? openai.retrieve(id, callOf(provider, caller)) : openai.cancel(id, callOf(provider, caller))
  }

  return {
    async create(body, caller) {
      const provider = providerOf(body.provider)
      const batch = newBatchOf(body)
      const kind = kindOf(provider)
      const call = callOf(provider, caller)
      if (kind === 'openai') {
        if (batch.body.requests !== undefined) throw invalid('requests', `inline requests are for Anthropic batches; provider "${provider}" takes an input_file_id`)
        return { batch: await openai.create(batch, call), warnings: [] }
      }
      if (batch.body.requests !== undefined && kind !== 'anthropic') throw invalid('requests', `inline requests are for Anthropic batches; provider "${provider}" takes an input_file_id`)
      const created = await targets[kind].create(batch, call)
      return { batch: toBatchObject(created.record), warnings: created.warnings }
    },
    async list(provider, query, caller) {
      if (kindOf(provider) === 'openai') return openai.list(query, callOf(provider, caller))
      const records: BatchRecord[] = []
      for (const key of await env.store.batches.keysOf(caller.owner, provider)) {
        const record = await env.store.batches.get(key)
        if (record && record.owner === caller.owner) records.push(record)
      }
      return pageOf(records, query)
    },
    retrieve: (id, provider, caller) => act(id, provider, caller, 'refresh'),
    cancel: (id, provider, caller) => act(id, provider, caller, 'cancel'),
  }
}
