import * as v from 'valibot'
import { extraFor, GatewayError, isLocalDialect, type EmbeddingsRequest, type EmbeddingsResponse, type Warning } from '@switchyard/core'
import { toGeminiUsage, usageFromGemini } from './usage.js'
import { defined, isObject, mergeExtra, restOf, unsupported, validateWire, type Json } from './wire.js'

/**
 * Gemini embeddings, both directions: IR <-> `POST /models/{model}:batchEmbedContents`
 * (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents) and, for the surface,
 * `:embedContent` (one text).
 *
 * Settings Gemini has per text (`taskType`, `title`) travel in `extra`: `extra.taskType` and
 * `extra.title` apply to every text, `extra.requests[i]` holds the members of the i-th request the
 * IR does not model (a Gemini caller's per-text settings).
 */

/** Options of {@link toBatchEmbedContentsBody}. */
export interface EmbedBodyOptions {
  /** The model resource name Gemini wants in each request (`models/gemini-embedding-001`). */
  modelPath: string
  warnings?: Warning[]
}

/** IR texts, checked: Gemini embeds text, not token ids. */
function textsOf(request: EmbeddingsRequest): string[] {
  return request.input.map((item, index) => {
    if (typeof item !== 'string') throw GatewayError.badRequest(`Invalid 'input[${index}]': Gemini embeds text, not token ids`, `input[${index}]`)
    return item
  })
}

/** IR `EmbeddingsRequest` -> `batchEmbedContents` body. */
export function toBatchEmbedContentsBody(request: EmbeddingsRequest, options: EmbedBodyOptions): Json {
  const { warnings } = options
  const extra = extraFor('gemini', request, warnings)
  // `encodingFormat` is the surface's business: it encodes the float vectors as the caller asked.
  if (request.user !== undefined) unsupported(warnings, 'user', 'Gemini has no end-user id')
  const perText = Array.isArray(extra.requests) ? (extra.requests as unknown[]) : []
  const shared = restOf(extra, new Set(['requests']))
  const requests = textsOf(request).map((text, index) => {
    const item = defined({ model: options.modelPath, content: { parts: [{ text }] }, outputDimensionality: request.dimensions })
    mergeExtra(item, shared)
    return mergeExtra(item, isObject(perText[index]) ? perText[index] : undefined)
  })
  return { requests }
}

const ContentSchema = v.looseObject({ parts: v.array(v.looseObject({ text: v.string('only text parts can be embedded') }), 'parts must be an array of text parts') })
const EmbedRequestSchema = v.looseObject({
  content: ContentSchema,
  outputDimensionality: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1))),
})
const BatchSchema = v.looseObject({ requests: v.pipe(v.array(v.unknown(), 'requests must be an array'), v.minLength(1, 'requests must not be empty')) })

/**
 * Gemini `batchEmbedContents` body -> IR `EmbeddingsRequest` for `model` (dialect `gemini`): one
 * text per request (the parts' texts joined). `outputDimensionality` becomes `dimensions` when
 * every request asks the same; other per-request members stay in `extra.requests`.
 */
export function parseBatchEmbedContentsRequest(body: Record<string, unknown>, model: string): EmbeddingsRequest {
  const wire = validateWire(BatchSchema, body, '')
  const items = wire.requests.map((item, index) => validateWire(EmbedRequestSchema, item, `requests[${index}]`))
  const dimensions = items[0]!.outputDimensionality
  const uniform = items.every((item) => item.outputDimensionality === dimensions)
  const known = new Set(['content', 'model', ...(uniform ? ['outputDimensionality'] : [])])
  const rests = items.map((item) => restOf(item, known) ?? {})
  const request: EmbeddingsRequest = {
    model,
    input: items.map((item) => item.content.parts.map((part) => part.text).join('')),
    dialect: 'gemini',
    extra: { ...restOf(body, new Set(['requests'])) },
  }
  if (uniform && dimensions != null) request.dimensions = dimensions
  if (rests.some((rest) => Object.keys(rest).length > 0)) request.extra.requests = rests
  return request
}

/** Gemini `embedContent` body (one text) -> IR `EmbeddingsRequest` (dialect `gemini`). */
export function parseEmbedContentRequest(body: Record<string, unknown>, model: string): EmbeddingsRequest {
  const item = validateWire(EmbedRequestSchema, body, '')
  const request: EmbeddingsRequest = { model, input: [item.content.parts.map((part) => part.text).join('')], dialect: 'gemini', extra: {} }
  if (item.outputDimensionality != null) request.dimensions = item.outputDimensionality
  const rest = restOf(item, new Set(['content', 'model', 'outputDimensionality']))
  if (rest) request.extra.requests = [rest]
  return request
}

const ResponseSchema = v.looseObject({
  embeddings: v.array(v.looseObject({ values: v.array(v.number()) }), 'embeddings must be an array of {values}'),
})

/** Options of {@link parseBatchEmbedContentsResponse}. */
export interface ParseEmbeddingsOptions {
  /** Provider id named in errors. Default `gemini`. */
  provider?: string
  /** Model reported in the IR (Gemini's answer names none). */
  model?: string
}

/** `batchEmbedContents` response -> IR `EmbeddingsResponse` (Gemini reports no usage for it: undefined). */
export function parseBatchEmbedContentsResponse(json: unknown, options: ParseEmbeddingsOptions = {}): EmbeddingsResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response', options.provider)
  const extra = restOf(wire, new Set(['embeddings', 'usageMetadata']))
  return {
    model: options.model ?? '',
    data: wire.embeddings.map((item, index) => ({ index, embedding: item.values })),
    usage: usageFromGemini(wire.usageMetadata),
    dialect: 'gemini',
    ...(extra && { extra }),
  }
}

/** A base64 vector (little-endian float32, as OpenAI sends it) -> numbers. */
export function floatsOfBase64(data: string): number[] {
  const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0))
  const view = new DataView(bytes.buffer)
  const out: number[] = []
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) out.push(view.getFloat32(offset, true))
  return out
}

const valuesOf = (embedding: number[] | string) => (typeof embedding === 'string' ? floatsOfBase64(embedding) : embedding)

/** IR `EmbeddingsResponse` -> Gemini `batchEmbedContents` response `{embeddings: [{values}]}`. */
export function renderBatchEmbedContentsResponse(response: EmbeddingsResponse): Json {
  const local = isLocalDialect('gemini', response.dialect)
  const usage = local ? toGeminiUsage(response.usage) : undefined
  return {
    embeddings: [...response.data].sort((a, b) => a.index - b.index).map((item) => ({ values: valuesOf(item.embedding) })),
    ...(usage && { usageMetadata: usage }),
    ...(local && response.extra),
  }
}

/** IR `EmbeddingsResponse` (one vector) -> Gemini `embedContent` response `{embedding: {values}}`. */
export function renderEmbedContentResponse(response: EmbeddingsResponse): Json {
  const first = [...response.data].sort((a, b) => a.index - b.index)[0]
  return { embedding: { values: first ? valuesOf(first.embedding) : [] } }
}
