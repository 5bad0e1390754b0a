import type { Usage } from './usage.js'

/** One document to rank: its text, and the caller's own id and metadata (kept for the answer). */
export interface RerankDocument {
  text: string
  id?: string
  meta?: Record<string, unknown>
}

/**
 * Rerank: order `documents` by relevance to `query` (Bifrost's `/v1/rerank`, Cohere's `/v2/rerank`).
 */
export interface RerankRequest {
  model: string
  query: string
  documents: RerankDocument[]
  /** Most results to return (default: all documents). */
  topN?: number
  /** The caller wants each result's document back. Providers that do not echo documents get them added by the surface. */
  returnDocuments?: boolean
  /** Longest document the provider should read, in tokens (longer ones are truncated by the provider). */
  maxTokensPerDoc?: number
  /** Dialect `extra` belongs to (see `ChatRequest.dialect`). */
  dialect?: string
  extra: Record<string, unknown>
}

/** One ranked document: its index in the request's `documents` and its score (higher is more relevant). */
export interface RerankResult {
  index: number
  relevanceScore: number
}

export interface RerankResponse {
  /** Upstream id of the ranking, when it sent one. */
  id?: string
  model: string
  /** Most relevant first. */
  results: RerankResult[]
  usage: Usage | undefined
  /** Dialect the response was decoded from (see `ChatResponse.dialect`). */
  dialect?: string
  extra?: Record<string, unknown>
}

/**
 * The caller's request of an operation the gateway forwards but does not translate (images, audio,
 * moderations): only same-dialect providers serve it (the passthrough path), every other provider
 * answers 400. `fields` are the body's JSON members, or a multipart body's text fields (files are not
 * read into it).
 */
export interface ForwardedRequest {
  model: string
  fields: Record<string, unknown>
}
