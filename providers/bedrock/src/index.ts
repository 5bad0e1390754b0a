import { defineProvider, type ChatRequest, type ChatResponse, type EmbeddingsRequest, type EmbeddingsResponse, type OperationCodec, type UpstreamContext, type Warning } from '@switchyard/core'
import { parseConverseResponse, toConverseBody } from './converse.js'
import { bedrockAuth, runtimeBaseURL, validateBedrockConfig } from './credentials.js'
import { parseTitanResponse, toTitanBody } from './embeddings.js'
import { parseBedrockError } from './errors.js'
import { signBedrockRequest } from './sign.js'
import { parseConverseStream } from './stream.js'
import { CONVERSE_DIALECT } from './wire.js'

/**
 * URL and headers of one Bedrock runtime call: `{base}/model/{modelId}/{action}` with the model id
 * URL-encoded (`us.anthropic.claude-sonnet-4-20250514-v1:0`, or an inference-profile ARN), JSON in,
 * and the key as `Authorization: Bearer` when it is a Bedrock API key. SigV4 credentials are applied
 * later, by `upstream.sign`, on every attempt.
 */
export function bedrockTarget(context: UpstreamContext, model: string, action: 'converse' | 'converse-stream' | 'invoke'): { url: string; headers: Record<string, string> } {
  const auth = bedrockAuth(context)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: action === 'converse-stream' ? 'application/vnd.amazon.eventstream' : 'application/json',
  }
  if (auth.type === 'bearer') headers.authorization = `Bearer ${auth.token}`
  return { url: `${runtimeBaseURL(context, auth.region)}/model/${encodeURIComponent(model)}/${action}`, headers }
}

/** IR chat <-> Converse / ConverseStream. */
const converseCodec: OperationCodec<ChatRequest, ChatResponse> = {
  request(request, context) {
    const warnings: Warning[] = []
    const body = toConverseBody(request, warnings)
    return { ...bedrockTarget(context, request.model, request.stream ? 'converse-stream' : 'converse'), body: JSON.stringify(body), warnings }
  },
  response: (json, context) => parseConverseResponse(json, context.providerId),
  stream: (body, context) => parseConverseStream(body, { provider: context.providerId }),
}

/** The encoding each embeddings call asked for, by its (per-attempt) context: Titan always answers floats. */
const encodings = new WeakMap<UpstreamContext, 'float' | 'base64'>()

/** IR embeddings <-> InvokeModel with Amazon Titan text embeddings. */
const titanCodec: OperationCodec<EmbeddingsRequest, EmbeddingsResponse> = {
  request(request, context) {
    const warnings: Warning[] = []
    const body = toTitanBody(request, warnings)
    if (request.encodingFormat) encodings.set(context, request.encodingFormat)
    return { ...bedrockTarget(context, request.model, 'invoke'), body: JSON.stringify(body), warnings }
  },
  response: (json, context) => parseTitanResponse(json, context.providerId, encodings.get(context)),
}

/**
 * Amazon Bedrock: `bedrock/<model id>` through the Converse API (chat, streams, tools, images,
 * documents, Claude thinking, prompt caching) and Titan embeddings through InvokeModel.
 */
export default defineProvider({
  id: 'bedrock',
  spec: 1,
  dialect: CONVERSE_DIALECT,
  // Credentials may live in `options` instead of keys; the codec fails when there are none.
  requiresKey: false,
  models: ['anthropic.claude-3-5-haiku-20241022-v1:0', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 'us.amazon.nova-micro-v1:0', 'amazon.titan-embed-text-v2:0'],
  capabilities: (model) => ({
    chat: !model.includes('embed'),
    stream: !model.includes('embed'),
    tools: true,
    images: true,
    reasoning: model.includes('anthropic.claude'),
    embeddings: model.includes('titan-embed'),
  }),
  validateConfig: validateBedrockConfig,
  upstream: {
    chat: converseCodec,
    embeddings: titanCodec,
    error: (status, body, headers, context) => parseBedrockError(status, body, headers, context),
    sign: signBedrockRequest,
  },
})

export { toConverseBody, parseConverseResponse, budgetForEffort, isClaude } from './converse.js'
export { toConverseBlocks, parseConverseBlocks, CACHE_POINT, UNMODELED_BLOCKS } from './converse-content.js'
export { parseConverseStream, statusForException, EXCEPTION_STATUS } from './stream.js'
export { toTitanBody, parseTitanResponse, toBase64Float32, TITAN_DIALECT } from './embeddings.js'
export { parseBedrockError, scrubAwsSecrets } from './errors.js'
export { bedrockAuth, validateBedrockConfig, runtimeBaseURL, DEFAULT_REGION, type AwsCredentials, type BedrockAuth } from './credentials.js'
export { signAwsRequest, signBedrockRequest, BEDROCK_SIGNING_NAME, type SignableRequest, type SignOptions } from './sign.js'
export { crc32, EventStreamDecoder, EventStreamError, createEventStreamDecoder, encodeEventStreamMessage, encodeBedrockEvent, encodeBedrockException, type EventStreamMessage, type EventStreamHeaderValue } from './event-stream.js'
export { CONVERSE_DIALECT, mapConverseStopReason, usageFromConverse } from './wire.js'
