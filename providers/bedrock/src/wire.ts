import { GatewayError, mapFinishReason, type FinishReason, type UnifiedFinishReason, type Usage, type Warning } from '@switchyard/core'

/** Dialect id of the Converse wire format (`ChatRequest.dialect`, `ChatResponse.dialect`). */
export const CONVERSE_DIALECT = 'bedrock-converse'

export type Json = Record<string, unknown>

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
export const string = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/** Copies defined values only, so no `undefined` member reaches the wire. */
export function defined(object: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value
  return out
}

/** The members of `object` whose names are not in `known`, or undefined when there are none. */
export function restOf(object: Json, known: ReadonlySet<string>): Json | undefined {
  let rest: Json | undefined
  for (const key of Object.keys(object)) if (!known.has(key)) (rest ??= {})[key] = object[key]
  return rest
}

export const unsupported = (warnings: Warning[] | undefined, feature: string, details?: string) => {
  warnings?.push(details === undefined ? { type: 'unsupported', feature } : { type: 'unsupported', feature, details })
}

/** A caller mistake in the IR request: 400 naming the field. */
export const badRequest = (message: string, param: string): GatewayError => GatewayError.badRequest(`Invalid '${param}': ${message}`, param)

/** A Bedrock body the gateway cannot read: 502. */
export function malformed(provider: string, details: string): GatewayError {
  return new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed response from upstream: ${details}` })
}

/**
 * Converse `stopReason` values
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax).
 * Guardrail and content-filter stops are `content-filter`.
 */
const STOP_REASONS: Readonly<Record<string, UnifiedFinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  guardrail_intervened: 'content-filter',
  content_filtered: 'content-filter',
}

/** Converse `stopReason` -> IR finish reason (unknown values -> `other`, raw kept). */
export function mapConverseStopReason(raw: string | null | undefined): FinishReason {
  return mapFinishReason(raw, STOP_REASONS)
}

const USAGE_KNOWN = new Set(['inputTokens', 'outputTokens', 'totalTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'])

/**
 * Converse `usage` -> IR. Bedrock's `inputTokens` excludes the cached parts of the prompt (a
 * recorded cache write reports `inputTokens: 2, cacheWriteInputTokens: 1322, outputTokens: 5,
 * totalTokens: 1329`), while the IR's `inputTokens` is the whole prompt: the three are added here.
 * Bedrock's `totalTokens` already counts them all and is kept as reported. Other members
 * (`cacheReadInputTokenCount` duplicates, `serverToolUsage`) stay in `extra`.
 */
export function usageFromConverse(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined
  const input = count(raw.inputTokens)
  const cacheRead = count(raw.cacheReadInputTokens)
  const cacheWrite = count(raw.cacheWriteInputTokens)
  const output = count(raw.outputTokens)
  const usage: Usage = {
    inputTokens: input === undefined ? undefined : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    outputTokens: output,
  }
  const total = count(raw.totalTokens)
  if (total !== undefined) usage.totalTokens = total
  else if (usage.inputTokens !== undefined && output !== undefined) usage.totalTokens = usage.inputTokens + output
  if (cacheRead !== undefined) usage.cachedInputTokens = cacheRead
  if (cacheWrite !== undefined) usage.cacheWriteInputTokens = cacheWrite
  const extra = restOf(raw, USAGE_KNOWN)
  if (extra) usage.extra = extra
  return usage
}
