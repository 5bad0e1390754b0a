import { extraFor, GatewayError, type EmbeddingsRequest, type EmbeddingsResponse, type Warning } from '@switchyard/core'
import { defined, isObject, malformed, restOf, unsupported } from './wire.js'

/**
 * Embeddings through InvokeModel (`POST /model/{modelId}/invoke`) with the Amazon Titan text
 * embedding models (https://docs.aws.amazon.com/bedrock/latest/userguide/titan-embedding-models.html).
 * Titan embeds one text per call: `{inputText, dimensions?, normalize?}` ->
 * `{embedding, embeddingsByType?, inputTextTokenCount}`.
 */

/** Dialect of the InvokeModel Titan body (extras from it go back to it). */
export const TITAN_DIALECT = 'bedrock-titan'

const isTitanText = (model: string) => /amazon\.titan-embed-(text|g1-text)/.test(model)
/** Titan Text Embeddings V1 and G1 take neither `dimensions` nor `normalize`. */
const isTitanV2 = (model: string) => model.includes('amazon.titan-embed-text-v2')

/**
 * IR embeddings request -> Titan InvokeModel body. One text per request (Titan's rule; more is a
 * 400, as is an array of token ids); `dimensions` for Titan V2 (a warning for V1). Titan answers
 * with floats; `encodingFormat: base64` is honored by {@link parseTitanResponse}.
 */
export function toTitanBody(request: EmbeddingsRequest, warnings?: Warning[]): Record<string, unknown> {
  if (!isTitanText(request.model)) {
    throw GatewayError.badRequest(`Invalid 'model': Bedrock embeddings support the Amazon Titan text embedding models (amazon.titan-embed-text-*), not ${request.model}`, 'model')
  }
  if (request.input.length !== 1) throw GatewayError.badRequest(`Invalid 'input': Titan embeds one text per request, not ${request.input.length}`, 'input')
  const text = request.input[0]
  if (typeof text !== 'string') throw GatewayError.badRequest("Invalid 'input': Titan takes text, not token ids", 'input')
  if (request.user !== undefined) unsupported(warnings, 'user')
  let dimensions = request.dimensions
  if (dimensions !== undefined && !isTitanV2(request.model)) {
    unsupported(warnings, 'dimensions', `${request.model} has a fixed size`)
    dimensions = undefined
  }
  const body = defined({ inputText: text, dimensions })
  for (const [key, value] of Object.entries(extraFor(TITAN_DIALECT, request, warnings))) if (!(key in body)) body[key] = value
  return body
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/** A vector as OpenAI's `encoding_format: "base64"` spells it: little-endian float32 bytes, base64. */
export function toBase64Float32(vector: readonly number[]): string {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  vector.forEach((value, index) => view.setFloat32(index * 4, value, true))
  let binary = ''
  for (let index = 0; index < bytes.length; index += 0x8000) binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000))
  return btoa(binary)
}

/**
 * Titan InvokeModel answer -> IR embeddings response (one vector); as base64 float32 when
 * `encodingFormat` is `base64` (the OpenAI SDKs ask for that by default).
 */
export function parseTitanResponse(json: unknown, provider = 'bedrock', encodingFormat?: 'float' | 'base64'): EmbeddingsResponse {
  if (!isObject(json) || !Array.isArray(json.embedding)) throw malformed(provider, 'embedding is missing')
  const embedding = json.embedding
  if (!embedding.every((value) => typeof value === 'number')) throw malformed(provider, 'embedding holds a value that is not a number')
  const inputTokens = count(json.inputTextTokenCount)
  const extra = restOf(json, new Set(['embedding', 'inputTextTokenCount']))
  return {
    model: '',
    data: [{ index: 0, embedding: encodingFormat === 'base64' ? toBase64Float32(embedding as number[]) : (embedding as number[]) }],
    usage: inputTokens === undefined ? undefined : { inputTokens, outputTokens: undefined, totalTokens: inputTokens },
    dialect: TITAN_DIALECT,
    ...(extra && { extra }),
  }
}
