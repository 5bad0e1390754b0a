import type { Usage } from './usage.js'

export interface EmbeddingsRequest {
  model: string
  /** Texts, or pre-tokenized inputs (arrays of token ids). */
  input: string[] | number[][]
  dimensions?: number
  encodingFormat?: 'float' | 'base64'
  user?: string
  /** Dialect `extra` belongs to (see `ChatRequest.dialect`). */
  dialect?: string
  extra: Record<string, unknown>
}

export interface EmbeddingsResponse {
  model: string
  /** Vectors in input order; a base64 string when the caller asked for base64. */
  data: Array<{ index: number; embedding: number[] | string }>
  usage: Usage | undefined
  /** Dialect the response was decoded from (see `ChatResponse.dialect`). */
  dialect?: string
  extra?: Record<string, unknown>
}
