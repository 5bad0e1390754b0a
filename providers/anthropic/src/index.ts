import { defineProvider, type ChatRequest, type ChatResponse, type OperationCodec, type UpstreamContext, type Warning } from '@switchyard/core'
import { parseCountTokensResponse, toCountTokensBody } from './count-tokens.js'
import { parseAnthropicError } from './errors.js'
import { parseMessagesResponse, toMessagesBody } from './messages.js'
import { parseMessagesStream } from './stream.js'
import { anthropicSurface, DEFAULT_ANTHROPIC_VERSION } from './surface.js'

/**
 * Headers for an Anthropic API call: the key as `x-api-key`, the API version the codecs speak
 * (https://docs.anthropic.com/en/api/versioning), JSON.
 */
export function anthropicHeaders(context: UpstreamContext): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'anthropic-version': DEFAULT_ANTHROPIC_VERSION }
  if (context.key?.value) headers['x-api-key'] = context.key.value
  return headers
}

/** IR chat <-> `POST /v1/messages`. Also serves the Responses API, which rides on the chat IR. */
const messagesCodec: OperationCodec<ChatRequest, ChatResponse> = {
  request(request, context) {
    const warnings: Warning[] = []
    const body = toMessagesBody(request, warnings)
    const headers = anthropicHeaders(context)
    if (request.stream) headers.accept = 'text/event-stream'
    return { url: `${context.baseURL}/messages`, headers, body: JSON.stringify(body), warnings }
  },
  response: (json) => parseMessagesResponse(json),
  stream: (body, context) => parseMessagesStream(body, { provider: context.providerId }),
}

/** Anthropic: the `/anthropic` surface and the api.anthropic.com provider. */
export default defineProvider({
  id: 'anthropic',
  spec: 1,
  dialect: 'anthropic',
  baseURL: 'https://api.anthropic.com/v1',
  envKey: 'ANTHROPIC_API_KEY',
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, responses: true, reasoning: true }),
  upstream: {
    chat: messagesCodec,
    responses: messagesCodec,
    // Token counts for callers of other dialects (the /genai surface's countTokens).
    countTokens: {
      request(request, context) {
        const warnings: Warning[] = []
        const body = toCountTokensBody(request, warnings)
        return { url: `${context.baseURL}/messages/count_tokens`, headers: anthropicHeaders(context), body: JSON.stringify(body), warnings }
      },
      response: (json) => ({ inputTokens: parseCountTokensResponse(json) }),
    },
    error: (status, body, headers, context) => parseAnthropicError(status, body, headers, context),
    passthrough: (path, context) => ({ url: `${context.baseURL}${path}`, headers: anthropicHeaders(context) }),
  },
  surface: anthropicSurface,
})

export { anthropicSurface, registerAnthropicRoutes, DEFAULT_ANTHROPIC_VERSION } from './surface.js'
export { parseMessagesRequest, toMessagesBody, parseMessagesResponse, renderMessagesResponse, defaultMaxTokens, budgetForEffort } from './messages.js'
export { parseMessagesStream, renderMessagesStream } from './stream.js'
export { parseCountTokensRequest, toCountTokensBody, parseCountTokensResponse, renderCountTokensResponse, estimateTokens } from './count-tokens.js'
export { parseAnthropicError, renderAnthropicError, toAnthropicErrorBody, anthropicErrorType, scrubAnthropicSecrets } from './errors.js'
export { usageFromAnthropic, toAnthropicUsage } from './usage.js'
export { mapAnthropicStopReason, toAnthropicStopReason } from './finish-reason.js'
export { usageFromMessagesData, mergeAnthropicUsage } from './passthrough.js'
