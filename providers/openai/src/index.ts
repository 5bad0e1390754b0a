import { defineProvider, type Operation, type UpstreamContext, type Warning } from '@switchyard/core'
import { parseChatResponse, toChatBody } from './chat.js'
import { parseChatStream } from './chat-stream.js'
import { parseCompletionResponse, parseCompletionStream, toCompletionBody } from './completions.js'
import { parseEmbeddingsResponse, toEmbeddingsBody } from './embeddings.js'
import { parseOpenAIError } from './errors.js'
import { inputTokensCodec } from './input-tokens.js'
import { parseResponsesResponse, toResponsesBody } from './responses.js'
import { parseResponsesStream } from './responses-stream.js'
import { openaiSurface } from './surface.js'

/** Headers for an OpenAI-style upstream call: bearer auth plus JSON. */
export function openAIHeaders(context: UpstreamContext): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  if (context.key?.value) headers.authorization = `Bearer ${context.key.value}`
  return headers
}

const json = (context: UpstreamContext, path: string, body: unknown) => ({
  url: `${context.baseURL}${path}`,
  headers: openAIHeaders(context),
  body: JSON.stringify(body),
})

/**
 * The operations api.openai.com serves, all forwarded byte for byte from the `/openai` surface.
 * It has no rerank endpoint: `/rerank` toward `openai` is a 400 naming the provider.
 */
export const OPENAI_OPERATIONS: readonly Operation[] = ['chat', 'completions', 'embeddings', 'responses', 'imageGenerations', 'imageEdits', 'imageVariations', 'speech', 'transcriptions', 'translations', 'moderations']

/** OpenAI: the `/openai` surface and the api.openai.com provider. */
export default defineProvider({
  id: 'openai',
  spec: 1,
  dialect: 'openai',
  baseURL: 'https://api.openai.com/v1',
  envKey: 'OPENAI_API_KEY',
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, responses: true, reasoning: true }),
  upstream: {
    chat: {
      request: (request, context) => {
        const warnings: Warning[] = []
        return { ...json(context, '/chat/completions', toChatBody(request, warnings)), warnings }
      },
      response: (body) => parseChatResponse(body),
      stream: (body) => parseChatStream(body),
    },
    completions: {
      request: (request, context) => json(context, '/completions', toCompletionBody(request)),
      response: (body) => parseCompletionResponse(body),
      stream: (body) => parseCompletionStream(body),
    },
    embeddings: {
      request: (request, context) => json(context, '/embeddings', toEmbeddingsBody(request)),
      response: (body) => parseEmbeddingsResponse(body),
    },
    responses: {
      request: (request, context) => json(context, '/responses', toResponsesBody(request)),
      response: (body) => parseResponsesResponse(body),
      stream: (body) => parseResponsesStream(body),
    },
    // Token counts for callers of other dialects (the /genai surface's countTokens).
    countTokens: inputTokensCodec(openAIHeaders),
    error: (status, body, headers, context) => parseOpenAIError(status, body, headers, context),
    passthrough: (path, context) => ({ url: `${context.baseURL}${path}`, headers: openAIHeaders(context) }),
    passthroughOperations: OPENAI_OPERATIONS,
  },
  surface: openaiSurface,
})

export { parseChatRequest, toChatBody, parseChatResponse, renderChatResponse } from './chat.js'
export { parseChatStream, renderChatStream } from './chat-stream.js'
export { parseCompletionRequest, toCompletionBody, parseCompletionResponse, renderCompletionResponse, parseCompletionStream, renderCompletionStream } from './completions.js'
export { parseEmbeddingsRequest, toEmbeddingsBody, parseEmbeddingsResponse, renderEmbeddingsResponse } from './embeddings.js'
export { parseResponsesRequest, toResponsesBody, parseResponsesResponse, renderResponsesResponse } from './responses.js'
export { parseResponsesStream, renderResponsesStream } from './responses-stream.js'
export { parseOpenAIError, renderOpenAIError, toOpenAIErrorBody, scrubSecrets } from './errors.js'
export { usageFromOpenAI, toOpenAIChatUsage, toOpenAIResponsesUsage } from './usage.js'
export { passthroughBody } from './passthrough.js'
export { toInputTokensBody, parseInputTokensResponse, inputTokensCodec } from './input-tokens.js'
export { parseRerankRequest, renderRerankResponse } from './rerank.js'
export { parseMultipart, spliceMultipartValue, boundaryOf, type MultipartForm, type PartRange } from './multipart.js'
export { openAIStreamErrorFrame } from './errors.js'
export { defineOpenAICompatible, compatibleChatCodec, compatibleHeaders, toCompatibleChatBody, alphanumericId, type OpenAICompatibleOptions, type OpenAICompatibleQuirks, type OpenAICompatibleAuth, type OpenAICompatibleEndpoints } from './compatible.js'
export type { ChatBodyOptions, ChatResponseOptions } from './chat.js'
export type { ChatMessageOptions } from './chat-messages.js'
/** OpenAI-compatible presets by id (mistral, groq, deepseek ...): the gateway loads `providers.<id>` from here when no package of its own exists. */
export { presets } from './presets.js'
/** Config-only OpenAI-compatible providers (`providers.<id>.custom` with `dialect: "openai"`). */
export { customOpenAIProvider as customProvider } from './compatible.js'
