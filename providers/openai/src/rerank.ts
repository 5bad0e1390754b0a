import * as v from 'valibot'
import { localizeUsage, type RerankDocument, type RerankRequest, type RerankResponse } from '@switchyard/core'
import { toOpenAIChatUsage } from './usage.js'
import { restOf, validateWire } from './wire.js'

/**
 * `POST /rerank` on the OpenAI surface, in the shape Bifrost's OpenAI-compatible API gives it
 * (https://docs.getbifrost.ai/quickstart/gateway/reranking), which Cohere, Jina, Together and vLLM
 * share in substance: `{model, query, documents, top_n?, return_documents?, max_tokens_per_doc?}`
 * -> `{id, model, results: [{index, relevance_score, document?}], usage}`. Documents are strings or
 * `{text, id?, meta?}` objects.
 */

const Document = v.union(
  [v.pipe(v.string(), v.minLength(1, 'a document must not be empty')), v.looseObject({ text: v.pipe(v.string(), v.minLength(1, 'a document text must not be empty')), id: v.optional(v.string()), meta: v.optional(v.record(v.string(), v.unknown())) })],
  'each document must be a string or an object with a string `text`',
)

const RequestSchema = v.looseObject({
  query: v.pipe(v.string('query must be a string'), v.minLength(1, 'query must not be empty')),
  documents: v.pipe(v.array(Document, 'documents must be an array'), v.minLength(1, 'documents must not be empty')),
  top_n: v.nullish(v.pipe(v.number('top_n must be a number'), v.integer('top_n must be an integer'), v.minValue(1, 'top_n must be at least 1'))),
  return_documents: v.nullish(v.boolean('return_documents must be a boolean')),
  max_tokens_per_doc: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1, 'max_tokens_per_doc must be at least 1'))),
})
const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])

/**
 * `/rerank` body -> IR `RerankRequest` for `model`. A missing or empty query, no documents or a
 * document without text is a 400 (checked before anything is sent, also on the passthrough path).
 */
export function parseRerankRequest(body: Record<string, unknown>, model: string): RerankRequest {
  const wire = validateWire(RequestSchema, body)
  const documents: RerankDocument[] = wire.documents.map((document) => {
    if (typeof document === 'string') return { text: document }
    return { text: document.text, ...(document.id !== undefined && { id: document.id }), ...(document.meta !== undefined && { meta: document.meta }) }
  })
  const request: RerankRequest = { model, query: wire.query, documents, dialect: 'openai', extra: restOf(body, REQUEST_KEYS) ?? {} }
  if (wire.top_n != null) request.topN = wire.top_n
  if (wire.return_documents != null) request.returnDocuments = wire.return_documents
  if (wire.max_tokens_per_doc != null) request.maxTokensPerDoc = wire.max_tokens_per_doc
  return request
}

/**
 * IR `RerankResponse` -> the `/rerank` answer, reporting `model`. With `return_documents`, each
 * result carries its document as the caller sent it (`{text, id?, meta?}`), added from the request
 * when the upstream does not echo documents (Cohere v2 does not).
 */
export function renderRerankResponse(response: RerankResponse, model: string, request: RerankRequest | undefined): Record<string, unknown> {
  const localized = localizeUsage(response.usage, 'openai', response.dialect)
  // Cohere bills search units, which are its own (dialect-scoped): no token counts may be left.
  const usage = localized && toOpenAIChatUsage(localized)
  return {
    ...(response.id !== undefined && { id: response.id }),
    model,
    results: response.results.map((result) => {
      const document = request?.returnDocuments ? request.documents[result.index] : undefined
      return { index: result.index, relevance_score: result.relevanceScore, ...(document && { document }) }
    }),
    ...(usage && Object.keys(usage).length > 0 && { usage }),
  }
}
