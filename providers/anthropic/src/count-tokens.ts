import * as v from 'valibot'
import type { ChatRequest, ContentPart, Warning } from '@switchyard/core'
import { encodeMessagesBody, parseCountTokensBody } from './messages.js'
import { BLOCKS, BLOCKS_AFTER, BLOCKS_BEFORE, textOfBase64, validateWire } from './messages-content.js'

/**
 * Anthropic's token counting endpoint (`POST /v1/messages/count_tokens`) both ways, and a local
 * estimate for providers that have no counting endpoint.
 * https://docs.anthropic.com/en/api/messages-count-tokens
 */

/**
 * Count-tokens request body -> IR `ChatRequest`: the Messages body shape (`messages`, `system`,
 * `tools`, `tool_choice`, `thinking` ...) without the `max_tokens` requirement.
 */
export function parseCountTokensRequest(body: Record<string, unknown>, model: string): ChatRequest {
  return parseCountTokensBody(body, model)
}

/**
 * IR `ChatRequest` -> count-tokens body. Fields that do not change the prompt (`max_tokens`,
 * sampling, `stop_sequences`, `metadata`, `stream`) are not part of that endpoint and are left out;
 * everything else maps as in `toMessagesBody`.
 */
export function toCountTokensBody(request: ChatRequest, warnings?: Warning[]): Record<string, unknown> {
  return encodeMessagesBody(request, warnings, 'count-tokens')
}

const CountSchema = v.looseObject({ input_tokens: v.pipe(v.number(), v.integer(), v.minValue(0)) })

/** Count-tokens response (`{"input_tokens": n}`) -> n; anything else is a 502. */
export function parseCountTokensResponse(json: unknown): number {
  return validateWire(CountSchema, json, '', 'response').input_tokens
}

/** n -> the count-tokens response body Anthropic sends. */
export function renderCountTokensResponse(count: number): { input_tokens: number } {
  return { input_tokens: count }
}

/** Characters per token: the usual rule of thumb for English text and code. */
const CHARS_PER_TOKEN = 4
/**
 * Tokens per image of unknown size: about what Anthropic bills for an image at the size it scales
 * images down to (~1.15 megapixels, width × height / 750 ≈ 1600 tokens).
 */
const IMAGE_TOKENS = 1600
/** Tokens per PDF or audio attachment of unknown length: roughly one PDF page of text and image. */
const MEDIA_TOKENS = 1500
/** Tokens per message for role and turn markers. */
const MESSAGE_TOKENS = 4

/**
 * Estimates the prompt tokens of `request` for providers with no counting endpoint: characters / 4
 * over all text (system, messages, reasoning, tool calls and results, tool definitions as JSON,
 * verbatim Anthropic blocks as JSON), plus `IMAGE_TOKENS` per image, `MEDIA_TOKENS` per PDF or audio
 * attachment (plain-text files count by their text) and `MESSAGE_TOKENS` per message. A heuristic:
 * expect ±30% on prose, more on code or non-Latin scripts.
 */
export function estimateTokens(request: ChatRequest): number {
  let characters = 0
  let media = 0
  const countExtra = (extra: Record<string, unknown> | undefined) => {
    for (const key of [BLOCKS_BEFORE, BLOCKS_AFTER, BLOCKS]) if (extra?.[key] !== undefined) characters += JSON.stringify(extra[key]).length
  }
  const countPart = (part: ContentPart): void => {
    countExtra(part.extra)
    switch (part.type) {
      case 'text':
      case 'refusal':
      case 'reasoning':
        characters += part.text.length
        return
      case 'tool-call':
        characters += part.name.length + part.arguments.length
        return
      case 'tool-result':
        part.content.forEach(countPart)
        return
      case 'image':
        media += IMAGE_TOKENS
        return
      case 'audio':
        media += MEDIA_TOKENS
        return
      case 'file': {
        const text = part.source.type === 'base64' && (part.mediaType ?? part.source.mediaType).startsWith('text/') ? textOfBase64(part.source.data) : undefined
        if (text === undefined) media += MEDIA_TOKENS
        else characters += text.length
        return
      }
      default: {
        const unreachable: never = part
        return unreachable
      }
    }
  }
  for (const message of request.messages) {
    countExtra(message.extra)
    message.content.forEach(countPart)
  }
  for (const tool of request.tools ?? []) characters += JSON.stringify({ name: tool.name, description: tool.description, parameters: tool.parameters }).length
  if (request.extra.tools_server !== undefined) characters += JSON.stringify(request.extra.tools_server).length
  return Math.ceil(characters / CHARS_PER_TOKEN) + media + MESSAGE_TOKENS * request.messages.length
}
