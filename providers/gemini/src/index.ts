import { defineProvider, type UpstreamContext } from '@switchyard/core'
import { createGeminiChatCodec, createGeminiCountTokensCodec, createGeminiEmbeddingsCodec, geminiModelPath, type GeminiEndpoint } from './codec.js'
import { parseGeminiError } from './errors.js'
import { genaiSurface, MODEL_PLACEHOLDER } from './surface.js'

/** Default base URL of the Gemini API (Google AI Studio keys). */
export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta'

/** Headers for a Gemini API call: the key as `x-goog-api-key` (https://ai.google.dev/gemini-api/docs/api-key), JSON. */
export function geminiHeaders(context: UpstreamContext): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (context.key?.value) headers['x-goog-api-key'] = context.key.value
  return headers
}

/** The Gemini API: `<base>/models/<model>:<method>` with the API key in a header. */
export const geminiEndpoint: GeminiEndpoint = {
  url: (model, method, context) => `${context.baseURL}/${geminiModelPath(model)}:${method}${method === 'streamGenerateContent' ? '?alt=sse' : ''}`,
  headers: geminiHeaders,
}

/**
 * A same-dialect path with the routed model in it: the `/genai` surface writes
 * `/{model}:generateContent` for model-routed calls, and the model's resource name goes there.
 */
export function fillModelPath(path: string, model: string | undefined): string {
  return model === undefined ? path : path.replace(MODEL_PLACEHOLDER, geminiModelPath(model))
}

/**
 * Gemini (Google AI Studio): `gemini/<model>` calls generativelanguage.googleapis.com
 * (`generateContent`, `streamGenerateContent?alt=sse`, `batchEmbedContents`, `countTokens`).
 * Dialect `gemini`: the `/genai` surface (this package's) forwards same-dialect calls through
 * `passthrough`.
 */
export default defineProvider({
  id: 'gemini',
  spec: 1,
  dialect: 'gemini',
  baseURL: GEMINI_BASE_URL,
  envKey: 'GEMINI_API_KEY',
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, reasoning: true }),
  upstream: {
    chat: createGeminiChatCodec(geminiEndpoint),
    embeddings: createGeminiEmbeddingsCodec(geminiEndpoint),
    countTokens: createGeminiCountTokensCodec(geminiEndpoint),
    error: (status, body, headers, context) => parseGeminiError(status, body, headers, context),
    // `path` is below the API root: `/models/gemini-2.5-flash:countTokens`, or `/{model}:generateContent`
    // for a model-routed call (see `fillModelPath`).
    passthrough: (path: string, context: UpstreamContext, model?: string) => ({ url: `${context.baseURL}${fillModelPath(path, model)}`, headers: geminiHeaders(context) }),
  },
  surface: genaiSurface,
})

export { genaiSurface, registerGenAIRoutes, MODEL_PLACEHOLDER } from './surface.js'
export { replaceModelNames, usageFromGenerateContentData, geminiStreamErrorFrame } from './passthrough.js'

export { createGeminiChatCodec, createGeminiEmbeddingsCodec, createGeminiCountTokensCodec, geminiCountTokensRequest, geminiModelPath, checkModelName, type GeminiEndpoint, type GeminiMethod } from './codec.js'
export { toGenerateContentBody, thinkingBudgetForEffort, toolNamesOf } from './request.js'
export { parseGenerateContentRequest, type ParseGenerateContentOptions } from './request-parse.js'
export { parseGenerateContentResponse, renderGenerateContentResponse } from './response.js'
export { parseGenerateContentStream, renderGenerateContentStream, type RenderGenerateContentStreamOptions } from './stream.js'
export {
  toBatchEmbedContentsBody, parseBatchEmbedContentsRequest, parseEmbedContentRequest, parseBatchEmbedContentsResponse,
  renderBatchEmbedContentsResponse, renderEmbedContentResponse, floatsOfBase64,
} from './embeddings.js'
export { toCountTokensBody, toVertexCountTokensBody, parseCountTokensResponse, parseCountTokensRequest, renderCountTokensResponse, type CountTokensResult } from './count-tokens.js'
export { parseGeminiError, parseGeminiStreamError, renderGeminiError, toGeminiErrorBody, geminiErrorStatus, scrubGeminiSecrets } from './errors.js'
export { usageFromGemini, toGeminiUsage } from './usage.js'
export { mapGeminiFinishReason, mapGeminiBlockReason, toGeminiFinishReason } from './finish-reason.js'
export { toGeminiSchema, fromGeminiSchema, type SchemaConversion } from './schema.js'
export { partsFromGemini, partsToGemini, mediaTypeOfUrl } from './content.js'
export { syntheticToolCallId, isSyntheticToolCallId } from './wire.js'
