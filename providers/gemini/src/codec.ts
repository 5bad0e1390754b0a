import { GatewayError, type ChatRequest, type ChatResponse, type EmbeddingsRequest, type EmbeddingsResponse, type OperationCodec, type TokenCount, type UpstreamContext, type UpstreamRequest, type Warning } from '@switchyard/core'
import { parseCountTokensResponse, toCountTokensBody, type CountTokensResult } from './count-tokens.js'
import { parseBatchEmbedContentsResponse, toBatchEmbedContentsBody } from './embeddings.js'
import { toGenerateContentBody } from './request.js'
import { parseGenerateContentResponse } from './response.js'
import { parseGenerateContentStream } from './stream.js'

/**
 * The Gemini codecs, parameterized by where the calls go and how they authenticate, so Google AI
 * Studio (`gemini`) and Vertex AI (`vertex`) share one wire format.
 */

/** Methods of a Gemini model resource. */
export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents' | 'embedContent' | 'countTokens' | 'predict'

/** Where a Gemini-dialect upstream takes its calls. */
export interface GeminiEndpoint {
  /** Full URL of `method` on `model` (with `?alt=sse` for `streamGenerateContent`). */
  url(model: string, method: GeminiMethod, context: UpstreamContext): string
  /** Auth and content headers for one call. */
  headers(context: UpstreamContext): Record<string, string>
}

/**
 * Checks a model name before it goes into a URL path: letters, digits and `. _ - /`, no `..`, so a
 * caller's model cannot reach another resource.
 */
export function checkModelName(model: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(model) || model.includes('..') || model.includes('//')) {
    throw GatewayError.badRequest(`Invalid 'model': "${model}" is not a Gemini model name`, 'model')
  }
  return model
}

/** The Gemini API resource name of a model: `models/<name>` (tuned models keep `tunedModels/...`). */
export function geminiModelPath(model: string): string {
  checkModelName(model)
  return model.startsWith('models/') || model.startsWith('tunedModels/') ? model : `models/${model}`
}

/** IR chat <-> `generateContent` / `streamGenerateContent?alt=sse` at `endpoint`. */
export function createGeminiChatCodec(endpoint: GeminiEndpoint): OperationCodec<ChatRequest, ChatResponse> {
  return {
    request(request, context) {
      const warnings: Warning[] = []
      const body = toGenerateContentBody(request, warnings)
      const headers = endpoint.headers(context)
      headers.accept = request.stream ? 'text/event-stream' : 'application/json'
      return { url: endpoint.url(request.model, request.stream ? 'streamGenerateContent' : 'generateContent', context), headers, body: JSON.stringify(body), warnings }
    },
    response: (json, context) => parseGenerateContentResponse(json, { provider: context.providerId }),
    stream: (body, context) => parseGenerateContentStream(body, { provider: context.providerId }),
  }
}

/** IR embeddings <-> `batchEmbedContents` at `endpoint` (the Gemini API). */
export function createGeminiEmbeddingsCodec(endpoint: GeminiEndpoint): OperationCodec<EmbeddingsRequest, EmbeddingsResponse> {
  return {
    request(request, context) {
      const warnings: Warning[] = []
      const body = toBatchEmbedContentsBody(request, { modelPath: geminiModelPath(request.model), warnings })
      return { url: endpoint.url(request.model, 'batchEmbedContents', context), headers: endpoint.headers(context), body: JSON.stringify(body), warnings }
    },
    // The answer names no model; surfaces report the one the caller asked for.
    response: (json, context) => parseBatchEmbedContentsResponse(json, { provider: context.providerId }),
  }
}

/**
 * The `countTokens` call for an IR chat request (a helper: the router has no token-count
 * operation). Send it with the gateway's fetch and read the answer with `parseCountTokensResponse`.
 */
export function geminiCountTokensRequest(endpoint: GeminiEndpoint, request: ChatRequest, context: UpstreamContext): UpstreamRequest {
  const warnings: Warning[] = []
  const body = toCountTokensBody(request, geminiModelPath(request.model), warnings)
  return { url: endpoint.url(request.model, 'countTokens', context), headers: endpoint.headers(context), body: JSON.stringify(body), warnings }
}

/** IR chat <-> `countTokens` at `endpoint` (the provider's `upstream.countTokens`). */
export function createGeminiCountTokensCodec(endpoint: GeminiEndpoint): OperationCodec<ChatRequest, TokenCount> {
  return {
    request: (request, context) => geminiCountTokensRequest(endpoint, request, context),
    response(json) {
      const { totalTokens, cachedContentTokenCount } = parseCountTokensResponse(json)
      return cachedContentTokenCount === undefined ? { inputTokens: totalTokens } : { inputTokens: totalTokens, cachedInputTokens: cachedContentTokenCount }
    },
  }
}

export { parseCountTokensResponse, type CountTokensResult }
