import * as v from 'valibot'
import { extraFor, GatewayError, isLocalDialect, localizeUsage, type EmbeddingsRequest, type EmbeddingsResponse } from '@switchyard/core'
import { toOpenAIChatUsage, usageFromOpenAI } from './usage.js'
import { defined, restOf, validateWire } from './wire.js'

const tokens = v.array(v.pipe(v.number(), v.integer()))

const RequestSchema = v.looseObject({
  input: v.union(
    [v.string(), v.array(v.string()), tokens, v.array(tokens)],
    'input must be a string, an array of strings, an array of token ids or an array of token-id arrays',
  ),
  dimensions: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1))),
  encoding_format: v.nullish(v.picklist(['float', 'base64'], 'encoding_format must be "float" or "base64"')),
  user: v.nullish(v.string()),
})
const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])

/**
 * OpenAI `/v1/embeddings` request body -> IR `EmbeddingsRequest` for `model`. `input` is normalized
 * to `string[]` or `number[][]`; an empty input (or an empty item) is a 400.
 * https://platform.openai.com/docs/api-reference/embeddings/create
 */
export function parseEmbeddingsRequest(body: Record<string, unknown>, model: string): EmbeddingsRequest {
  const wire = validateWire(RequestSchema, body)
  const raw = wire.input
  const input: string[] | number[][] =
    typeof raw === 'string' ? [raw]
      : raw.length === 0 ? []
        : typeof raw[0] === 'number' ? [raw as number[]]
          : (raw as string[] | number[][])
  if (input.length === 0) throw GatewayError.badRequest("Invalid 'input': must not be empty", 'input')
  input.forEach((item, index) => {
    if (item.length === 0) {
      const param = typeof raw === 'string' || typeof raw[0] === 'number' ? 'input' : `input[${index}]`
      throw GatewayError.badRequest(`Invalid '${param}': must not be empty`, param)
    }
  })
  const request: EmbeddingsRequest = { model, input, dialect: 'openai', extra: restOf(body, REQUEST_KEYS) ?? {} }
  if (wire.dimensions != null) request.dimensions = wire.dimensions
  if (wire.encoding_format != null) request.encodingFormat = wire.encoding_format
  if (wire.user != null) request.user = wire.user
  return request
}

/** IR `EmbeddingsRequest` -> `/v1/embeddings` body; `extra` copied back. */
export function toEmbeddingsBody(request: EmbeddingsRequest): Record<string, unknown> {
  const body = defined({
    model: request.model,
    input: request.input,
    dimensions: request.dimensions,
    encoding_format: request.encodingFormat,
    user: request.user,
  })
  for (const [key, value] of Object.entries(extraFor('openai', request, undefined))) if (!(key in body)) body[key] = value
  return body
}

const ResponseSchema = v.looseObject({
  model: v.nullish(v.string()),
  data: v.array(v.looseObject({
    index: v.nullish(v.number()),
    embedding: v.union([v.array(v.number()), v.string()]),
  })),
})
const RESPONSE_KEYS = new Set(['object', 'data', 'model', 'usage'])

/** OpenAI embeddings `list` object -> IR `EmbeddingsResponse`. */
export function parseEmbeddingsResponse(json: unknown): EmbeddingsResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response')
  const extra = restOf(wire, RESPONSE_KEYS)
  return {
    model: wire.model ?? '',
    data: wire.data.map((item, position) => ({ index: item.index ?? position, embedding: item.embedding })),
    usage: usageFromOpenAI(wire.usage),
    dialect: 'openai',
    ...(extra && { extra }),
  }
}

/** The base64 of little-endian float32 values, as OpenAI sends `encoding_format: "base64"` vectors. */
export function toBase64Floats(vector: readonly number[]): string {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  vector.forEach((value, index) => view.setFloat32(index * 4, value, true))
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/**
 * IR `EmbeddingsResponse` -> OpenAI embeddings `list` object, reporting `model`. With
 * `encodingFormat: 'base64'` (what the caller asked; the OpenAI SDK asks it by default), float
 * vectors from an upstream that only returns floats are encoded as OpenAI would.
 */
export function renderEmbeddingsResponse(response: EmbeddingsResponse, model: string, options: { encodingFormat?: 'float' | 'base64' } = {}): Record<string, unknown> {
  const encode = options.encodingFormat === 'base64'
  return {
    object: 'list',
    data: response.data.map((item) => ({ object: 'embedding', index: item.index, embedding: encode && Array.isArray(item.embedding) ? toBase64Floats(item.embedding) : item.embedding })),
    model,
    ...(response.usage && { usage: toOpenAIChatUsage(localizeUsage(response.usage, 'openai', response.dialect)!) }),
    ...(isLocalDialect('openai', response.dialect) && response.extra),
  }
}
