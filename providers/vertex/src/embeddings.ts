import * as v from 'valibot'
import { extraFor, GatewayError, type EmbeddingsRequest, type EmbeddingsResponse, type Usage, type Warning } from '@switchyard/core'

/**
 * Vertex AI text embeddings through `:predict`
 * (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api):
 * `{instances: [{content, task_type?, title?}], parameters: {outputDimensionality?}}` ->
 * `{predictions: [{embeddings: {values, statistics: {token_count, truncated}}}]}`.
 *
 * A Gemini-dialect request's `extra.taskType` / `extra.title`, and `extra.requests[i].taskType` /
 * `.title` per text, become `task_type` / `title`.
 */

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const stringOf = (value: unknown) => (typeof value === 'string' ? value : undefined)

/** IR `EmbeddingsRequest` -> `:predict` body. */
export function toPredictEmbeddingsBody(request: EmbeddingsRequest, warnings?: Warning[]): Json {
  const extra = extraFor('gemini', request, warnings, ['taskType', 'title', 'requests'])
  const perText = Array.isArray(extra.requests) ? (extra.requests as unknown[]) : []
  // `encodingFormat` is the surface's business: it encodes the float vectors as the caller asked.
  if (request.user !== undefined) warnings?.push({ type: 'unsupported', feature: 'user', details: 'Vertex AI has no end-user id' })
  const instances = request.input.map((item, index) => {
    if (typeof item !== 'string') throw GatewayError.badRequest(`Invalid 'input[${index}]': Vertex AI embeds text, not token ids`, `input[${index}]`)
    const own = isObject(perText[index]) ? perText[index] : {}
    const instance: Json = { content: item }
    const taskType = stringOf(own.taskType) ?? stringOf(extra.taskType)
    const title = stringOf(own.title) ?? stringOf(extra.title)
    if (taskType !== undefined) instance.task_type = taskType
    if (title !== undefined) instance.title = title
    return instance
  })
  return { instances, ...(request.dimensions !== undefined && { parameters: { outputDimensionality: request.dimensions } }) }
}

const ResponseSchema = v.looseObject({
  predictions: v.array(v.looseObject({
    embeddings: v.looseObject({
      values: v.array(v.number()),
      statistics: v.nullish(v.looseObject({ token_count: v.nullish(v.number()) })),
    }),
  })),
})

/** `:predict` embeddings response -> IR (usage: the texts' `token_count`s added up, when all are given). */
export function parsePredictEmbeddingsResponse(json: unknown, provider = 'vertex'): EmbeddingsResponse {
  const result = v.safeParse(ResponseSchema, json)
  if (!result.success) throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed embeddings response from upstream: ${result.issues[0].message}` })
  const predictions = result.output.predictions
  const counts = predictions.map((prediction) => prediction.embeddings.statistics?.token_count)
  const known = counts.every((count): count is number => typeof count === 'number')
  const tokens = known ? counts.reduce((sum, count) => sum + count, 0) : undefined
  const usage: Usage | undefined = tokens === undefined ? undefined : { inputTokens: tokens, outputTokens: undefined, totalTokens: tokens }
  const metadata = (result.output as Json).metadata
  return {
    model: '',
    data: predictions.map((prediction, index) => ({ index, embedding: prediction.embeddings.values })),
    usage,
    dialect: 'gemini',
    ...(isObject(metadata) && { extra: { metadata } }),
  }
}
