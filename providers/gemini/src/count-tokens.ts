import * as v from 'valibot'
import type { ChatRequest, Warning } from '@switchyard/core'
import { toGenerateContentBody } from './request.js'
import { parseGenerateContentRequest } from './request-parse.js'
import { isObject, restOf, validateWire, type Json } from './wire.js'

/**
 * `POST /models/{model}:countTokens`, both directions
 * (https://ai.google.dev/api/tokens#method:-models.counttokens).
 */

/**
 * IR chat request -> Gemini API `countTokens` body. The whole request goes in
 * `generateContentRequest`, so the system instruction and tools are counted too (a bare `contents`
 * would leave them out).
 */
export function toCountTokensBody(request: ChatRequest, modelPath: string, warnings?: Warning[]): Json {
  return { generateContentRequest: { model: modelPath, ...toGenerateContentBody(request, warnings) } }
}

/** The members of a generate-content body that Vertex AI's `countTokens` takes at its top level. */
const VERTEX_COUNT_KEYS = ['contents', 'systemInstruction', 'tools', 'generationConfig'] as const

/** IR chat request -> Vertex AI `countTokens` body (`contents`, `systemInstruction`, `tools`, `generationConfig`). */
export function toVertexCountTokensBody(request: ChatRequest, warnings?: Warning[]): Json {
  const body = toGenerateContentBody(request, warnings)
  const out: Json = {}
  for (const key of VERTEX_COUNT_KEYS) if (body[key] !== undefined) out[key] = body[key]
  return out
}

const ResponseSchema = v.looseObject({ totalTokens: v.number('totalTokens must be a number') })

/** A `countTokens` answer: the prompt's tokens, and the members the gateway does not read. */
export interface CountTokensResult {
  totalTokens: number
  /** Tokens of the prompt that come from cached content, when Gemini reports them. */
  cachedContentTokenCount?: number
  extra?: Json
}

/** `countTokens` response -> `{totalTokens, cachedContentTokenCount?}`. */
export function parseCountTokensResponse(json: unknown): CountTokensResult {
  const wire = validateWire(ResponseSchema, json, '', 'response')
  const result: CountTokensResult = { totalTokens: wire.totalTokens }
  if (typeof wire.cachedContentTokenCount === 'number') result.cachedContentTokenCount = wire.cachedContentTokenCount
  const extra = restOf(wire, new Set(['totalTokens', 'cachedContentTokenCount']))
  if (extra) result.extra = extra
  return result
}

/**
 * A Gemini `countTokens` body, as `@google/genai` sends it (`{contents}` or
 * `{generateContentRequest}`), -> IR `ChatRequest` for `model`.
 */
export function parseCountTokensRequest(body: Record<string, unknown>, model: string): ChatRequest {
  const inner = isObject(body.generateContentRequest) ? body.generateContentRequest : body
  return parseGenerateContentRequest(inner, model)
}

/** A token count -> Gemini `countTokens` response. */
export function renderCountTokensResponse(totalTokens: number, cachedContentTokenCount?: number): Json {
  return cachedContentTokenCount === undefined ? { totalTokens } : { totalTokens, cachedContentTokenCount }
}
