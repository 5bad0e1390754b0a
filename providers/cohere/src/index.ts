import { defineProvider, type ChatRequest, type ChatResponse, type OperationCodec, type UpstreamContext, type Warning } from '@switchyard/core'
import { parseCohereChatResponse, toCohereChatBody } from './chat.js'
import { parseCohereEmbedResponse, toCohereEmbedBody } from './embed.js'
import { parseCohereError } from './errors.js'
import { parseCohereRerankResponse, toCohereRerankBody } from './rerank.js'
import { parseCohereStream } from './stream.js'

/** Headers for a Cohere API call: bearer key, JSON (SSE when streaming). */
export function cohereHeaders(context: UpstreamContext, stream = false): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' }
  if (context.key?.value) headers.authorization = `Bearer ${context.key.value}`
  return headers
}

/** IR chat <-> `POST /v2/chat`. */
const chatCodec: OperationCodec<ChatRequest, ChatResponse> = {
  request(request, context) {
    const warnings: Warning[] = []
    const body = toCohereChatBody(request, warnings)
    return { url: `${context.baseURL}/chat`, headers: cohereHeaders(context, request.stream === true), body: JSON.stringify(body), warnings }
  },
  response: (json) => parseCohereChatResponse(json),
  stream: (body) => parseCohereStream(body),
}

/**
 * Cohere: the v2 chat API (`/v2/chat`: messages with tool calls and results, tools, documents and
 * citations, JSON output, thinking; streamed as typed SSE events), `/v2/embed` and `/v2/rerank`. Its own dialect
 * (`cohere`): every caller is translated through the IR. Base URL `https://api.cohere.com/v2`.
 */
export default defineProvider({
  id: 'cohere',
  spec: 1,
  dialect: 'cohere',
  baseURL: 'https://api.cohere.com/v2',
  envKey: 'COHERE_API_KEY',
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, responses: true, reasoning: true }),
  upstream: {
    chat: chatCodec,
    // The Responses API rides on the chat IR.
    responses: chatCodec,
    embeddings: {
      request(request, context) {
        const warnings: Warning[] = []
        const body = toCohereEmbedBody(request, warnings, { inputType: context.config.options?.input_type })
        return { url: `${context.baseURL}/embed`, headers: cohereHeaders(context), body: JSON.stringify(body), warnings }
      },
      response: (json) => parseCohereEmbedResponse(json),
    },
    rerank: {
      request(request, context) {
        const warnings: Warning[] = []
        const body = toCohereRerankBody(request, warnings)
        return { url: `${context.baseURL}/rerank`, headers: cohereHeaders(context), body: JSON.stringify(body), warnings }
      },
      response: (json) => parseCohereRerankResponse(json),
    },
    error: (status, body, headers, context) => parseCohereError(status, body, headers, context),
  },
})

export { toCohereChatBody, parseCohereChatResponse } from './chat.js'
export { toCohereMessages, type CohereMessages } from './messages.js'
export { parseCohereStream } from './stream.js'
export { toCohereEmbedBody, parseCohereEmbedResponse, COHERE_INPUT_TYPES } from './embed.js'
export { toCohereRerankBody, parseCohereRerankResponse } from './rerank.js'
export { parseCohereError, scrubCohereSecrets } from './errors.js'
export { usageFromCohere } from './usage.js'
export { mapCohereFinishReason } from './finish-reason.js'
