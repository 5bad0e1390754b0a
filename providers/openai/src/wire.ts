import * as v from 'valibot'
import { codeForStatus, GatewayError, mapFinishReason, type FinishReason, type SseEvent, type UnifiedFinishReason, type Usage } from '@switchyard/core'
import { usageFromOpenAI } from './usage.js'

/**
 * Helpers shared by the OpenAI codecs (chat, legacy completions, embeddings): valibot validation
 * with OpenAI-style `param` paths, pass-through of unmodeled members, finish reasons, and the
 * reading of OpenAI-style SSE events.
 */

export type Json = Record<string, unknown>

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Validates `value` against a valibot wire schema. A request failure is a 400 whose `param` is
 * the path of the bad field under `base` (`messages[2].content`); a response failure is a 502.
 */
export function validateWire<S extends v.GenericSchema>(schema: S, value: unknown, base = '', side: 'request' | 'response' = 'request'): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (result.success) return result.output
  const issue = result.issues[0]
  let param = base
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    param += typeof key === 'number' ? `[${key}]` : param ? `.${String(key)}` : String(key)
  }
  if (side === 'response') {
    return failUpstream(`malformed response from upstream${param ? ` at '${param}'` : ''}: ${issue.message}`)
  }
  throw GatewayError.badRequest(param ? `Invalid '${param}': ${issue.message}` : issue.message, param || undefined)
}

/** Throws the 502 for an upstream body this codec cannot read. */
export function failUpstream(message: string): never {
  throw new GatewayError({ status: 502, code: 'upstream', message })
}

/** The members of `object` whose names are not in `known`, or undefined when there are none. */
export function restOf(object: Json, known: ReadonlySet<string>): Json | undefined {
  let rest: Json | undefined
  for (const key of Object.keys(object)) if (!known.has(key)) (rest ??= {})[key] = object[key]
  return rest
}

/** Copies defined values only, so no `undefined` member reaches the wire. */
export function defined(object: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value
  return out
}

const FINISH_REASONS: Readonly<Record<string, UnifiedFinishReason>> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
}

/** OpenAI `finish_reason` -> IR; unknown values map to `other` with `raw` kept. */
export function mapOpenAIFinishReason(raw: string | null | undefined): FinishReason {
  return mapFinishReason(raw, FINISH_REASONS)
}

/** IR finish reason -> OpenAI `finish_reason`: the raw value when OpenAI knows it, else from `unified`. */
export function toOpenAIFinishReason(reason: FinishReason): string {
  if (reason.raw !== undefined && Object.hasOwn(FINISH_REASONS, reason.raw)) return reason.raw
  switch (reason.unified) {
    case 'stop': return 'stop'
    case 'length': return 'length'
    case 'content-filter': return 'content_filter'
    case 'tool-calls': return 'tool_calls'
    case 'error':
    case 'other': return 'stop'
    default: {
      const unreachable: never = reason.unified
      return unreachable
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Streams

/** What one OpenAI-style SSE event means. */
export type OpenAISseItem =
  | { kind: 'chunk'; chunk: Json }
  | { kind: 'done' }
  | { kind: 'error'; error: GatewayError }
  | { kind: 'skip' }

/** An upstream error object (`{"error":{...}}` payload or `event: error`) -> GatewayError, keeping its status. */
function streamErrorOf(raw: unknown, data: string): GatewayError {
  const error = isObject(raw) ? raw : { message: typeof raw === 'string' ? raw : undefined }
  const given = [error.status_code, error.status, error.code].find((value) => typeof value === 'number') as number | undefined
  const status = given !== undefined && given >= 400 && given <= 599 ? given : 502
  const type = typeof error.code === 'string' ? error.code : typeof error.type === 'string' ? error.type : undefined
  return new GatewayError({
    status,
    code: codeForStatus(status),
    message: typeof error.message === 'string' ? error.message : 'upstream stream failed',
    type,
    param: typeof error.param === 'string' ? error.param : undefined,
    upstream: { status, body: data.slice(0, 4000) },
  })
}

/** A 502 for a stream chunk that is not what an OpenAI-style stream sends. */
export const malformedChunkError = (details: string) => new GatewayError({ status: 502, code: 'upstream', message: `malformed stream chunk from upstream: ${details}` })

/** Classifies an SSE event of an OpenAI-style stream (chat or legacy completions). */
export function readOpenAISseEvent(event: SseEvent): OpenAISseItem {
  if (event.event !== undefined && event.event !== 'message' && event.event !== 'error') return { kind: 'skip' }
  const data = event.data.trim()
  if (data === '[DONE]') return { kind: 'done' }
  if (data === '') return event.event === 'error' ? { kind: 'error', error: streamErrorOf(undefined, data) } : { kind: 'skip' }
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return { kind: 'error', error: malformedChunkError(`not JSON: ${data.slice(0, 200)}`) }
  }
  if (!isObject(json)) return { kind: 'error', error: malformedChunkError('not a JSON object') }
  if (event.event === 'error' || json.error != null) return { kind: 'error', error: streamErrorOf(json.error ?? json, data) }
  return { kind: 'chunk', chunk: json }
}

/** The usage a chunk carries (`usage`, or Groq's older `x_groq.usage`), if any. */
export function usageOfChunk(chunk: Json): Usage | undefined {
  const raw = chunk.usage ?? (isObject(chunk.x_groq) ? chunk.x_groq.usage : undefined)
  return usageFromOpenAI(raw)
}

/** Chunk members kept on `response-start` (`system_fingerprint`, `service_tier`, `x_groq` ...). */
export function chunkExtraOf(chunk: Json): Json | undefined {
  let extra: Json | undefined
  for (const key of Object.keys(chunk)) if (!CHUNK_KEYS.has(key)) (extra ??= {})[key] = chunk[key]
  return extra
}
// `obfuscation` is per-chunk random padding, not data.
const CHUNK_KEYS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage', 'obfuscation'])
