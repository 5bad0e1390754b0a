import * as v from 'valibot'
import { extraFor, type RerankRequest, type RerankResponse, type Warning } from '@switchyard/core'
import { usageFromCohere } from './usage.js'
import { defined, isObject, readWire, restOf, type Json } from './wire.js'

/**
 * Cohere v2 rerank (`POST /v2/rerank`, https://docs.cohere.com/reference/rerank) <-> IR.
 * Cohere ranks plain strings: document texts are sent, and the documents' ids and metadata stay
 * with the request for the caller's answer (Cohere v2 echoes no documents; the surface adds them
 * back when the caller asked for `return_documents`). Rerank is billed in search units
 * (`meta.billed_units.search_units`), kept in usage `extra`.
 */

/** IR rerank request -> Cohere v2 rerank body. */
export function toCohereRerankBody(request: RerankRequest, warnings: Warning[]): Json {
  const body = defined({
    model: request.model,
    query: request.query,
    documents: request.documents.map((document) => document.text),
    top_n: request.topN,
    max_tokens_per_doc: request.maxTokensPerDoc,
  })
  for (const [key, value] of Object.entries(extraFor('cohere', request, warnings))) if (!(key in body)) body[key] = value
  return body
}

const RerankSchema = v.looseObject({
  id: v.nullish(v.string()),
  results: v.array(v.looseObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)), relevance_score: v.number() })),
  meta: v.nullish(v.looseObject({})),
})

/** Cohere v2 rerank response -> IR (results as ranked; billed units as usage, kept in `extra`). */
export function parseCohereRerankResponse(json: unknown): RerankResponse {
  const wire = readWire(RerankSchema, json, 'rerank response')
  const meta = isObject(wire.meta) ? wire.meta : {}
  const extra = restOf(wire, new Set(['id', 'results', 'meta']))
  return {
    ...(wire.id != null && { id: wire.id }),
    model: '',
    results: wire.results.map((result) => ({ index: result.index, relevanceScore: result.relevance_score })),
    usage: meta.billed_units === undefined && meta.tokens === undefined ? undefined : usageFromCohere({ billed_units: meta.billed_units, ...(meta.tokens !== undefined && { tokens: meta.tokens }) }),
    dialect: 'cohere',
    ...(extra && { extra }),
  }
}
