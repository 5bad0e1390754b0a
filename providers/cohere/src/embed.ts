import * as v from 'valibot'
import { extraFor, GatewayError, markTargetFault, type EmbeddingsRequest, type EmbeddingsResponse, type Warning } from '@switchyard/core'
import { usageFromCohere } from './usage.js'
import { defined, isObject, readWire, restOf, type Json } from './wire.js'

/**
 * Cohere v2 embed (`POST /v2/embed`, https://docs.cohere.com/reference/embed) <-> IR.
 * Cohere embeds texts for a purpose (`input_type`, required by v3+ models): taken from the
 * caller's `input_type` field when it sent one (OpenAI callers may add it), else from
 * `providers.<id>.options.input_type`, else `search_query`. Vectors are asked as floats; a caller
 * that wants base64 gets them encoded by its surface. Token-id input has no Cohere equivalent (400).
 */

export const COHERE_INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'] as const

/** IR embeddings request -> Cohere v2 embed body. */
export function toCohereEmbedBody(request: EmbeddingsRequest, warnings: Warning[], options: { inputType?: unknown } = {}): Json {
  if (request.input.some((item) => typeof item !== 'string')) {
    throw markTargetFault(GatewayError.badRequest('[cohere] Cohere embeds texts, not token ids', 'input'))
  }
  const asked = request.extra.input_type ?? options.inputType ?? 'search_query'
  if (typeof asked !== 'string' || !(COHERE_INPUT_TYPES as readonly string[]).includes(asked)) {
    throw GatewayError.badRequest(`[cohere] input_type must be one of ${COHERE_INPUT_TYPES.join(', ')}`, 'input_type')
  }
  if (request.user !== undefined) warnings.push({ type: 'unsupported', feature: 'user' })
  const body = defined({
    model: request.model,
    texts: request.input,
    input_type: asked,
    embedding_types: ['float'],
    output_dimension: request.dimensions,
  })
  for (const [key, value] of Object.entries(extraFor('cohere', request, warnings, ['input_type']))) if (!(key in body)) body[key] = value
  return body
}

const Vectors = v.array(v.array(v.number()))
const EmbedSchema = v.looseObject({
  id: v.nullish(v.string()),
  // `embeddings_by_type` (asked with embedding_types) or the plain float list.
  embeddings: v.union([Vectors, v.looseObject({ float: v.nullish(Vectors) })]),
  meta: v.nullish(v.looseObject({})),
})

/** Cohere v2 embed response -> IR (float vectors; billed units as usage, kept in `extra`). */
export function parseCohereEmbedResponse(json: unknown): EmbeddingsResponse {
  const wire = readWire(EmbedSchema, json, 'embed response')
  const vectors = Array.isArray(wire.embeddings) ? wire.embeddings : wire.embeddings.float
  if (!vectors) throw new GatewayError({ status: 502, code: 'upstream', message: 'malformed embed response from cohere: no float embeddings' })
  const meta = isObject(wire.meta) ? wire.meta : {}
  const extra = restOf(wire, new Set(['embeddings', 'meta', 'texts']))
  return {
    model: '',
    data: vectors.map((embedding, index) => ({ index, embedding })),
    usage: usageFromCohere({ billed_units: meta.billed_units, ...(meta.tokens !== undefined && { tokens: meta.tokens }) }),
    dialect: 'cohere',
    ...(extra && { extra }),
  }
}
