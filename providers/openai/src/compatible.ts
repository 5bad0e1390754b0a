import { defineProvider, GatewayError, markTargetFault, type ChatRequest, type ChatResponse, type Operation, type OperationCodec, type ProviderCapabilities, type ProviderDefinition, type StreamEvent, type StreamUsageMode, type UpstreamContext, type Usage, type Warning } from '@switchyard/core'
import { parseChatResponse, toChatBody } from './chat.js'
import { parseChatStream } from './chat-stream.js'
import { parseCompletionResponse, parseCompletionStream, toCompletionBody } from './completions.js'
import { parseEmbeddingsResponse, toEmbeddingsBody } from './embeddings.js'
import { parseOpenAIError } from './errors.js'
import { parseResponsesResponse, toResponsesBody } from './responses.js'
import { parseResponsesStream } from './responses-stream.js'
import type { Json } from './wire.js'

/**
 * `defineOpenAICompatible`: one factory for every upstream that speaks OpenAI's chat completions
 * with its own base URL, auth and a few documented deviations ("quirks"). The presets (presets.ts),
 * the `ollama` package and config-only custom providers are all built with it. It reuses the OpenAI
 * codecs and passthrough: an OpenAI SDK caller's body is forwarded unchanged (dialect `openai`), and
 * callers of other dialects are translated through the IR, with the quirks applied to the body.
 */

/** How the key is sent: `Authorization: Bearer <key>` (default), or a header of the provider's own. */
export type OpenAICompatibleAuth = 'bearer' | { header: string; prefix?: string }

/**
 * Where an upstream departs from OpenAI's chat completions. Each applies to bodies the gateway
 * builds from the IR (callers of another dialect); the passthrough path forwards an OpenAI caller's
 * body as it was sent, except that the gateway never adds what `streamUsage` says the upstream rejects.
 */
export interface OpenAICompatibleQuirks {
  /** Name of the output-token limit. Default `max_completion_tokens` (OpenAI's current name). */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens'
  /** Top-level request fields the upstream spells differently, OpenAI name -> upstream name (`{ seed: 'random_seed' }`). */
  renameFields?: Readonly<Record<string, string>>
  /** Top-level request fields the upstream rejects: left out and reported as unsupported warnings. */
  dropFields?: readonly string[]
  /** How the upstream reports usage in a stream (see `upstream.streamUsage` in core). Default `on-request`. */
  streamUsage?: StreamUsageMode
  /** The upstream samples with `top_k`: IR `topK` is sent instead of being reported. */
  topK?: boolean
  /** The upstream rejects `name` on messages: left out with a warning. */
  dropMessageName?: boolean
  /**
   * Reasoning of earlier assistant turns: `reasoning_content` text (default), `reasoning_details`
   * with signatures (OpenRouter), or `drop` (left out with a warning: the upstream rejects the field).
   */
  reasoningHistory?: 'reasoning_content' | 'reasoning_details' | 'drop'
  /** The upstream reads Anthropic-style `cache_control` on content parts (OpenRouter). */
  cacheControl?: boolean
  /** Responses carry `reasoning_details` (signatures, encrypted blocks) to read into the IR (OpenRouter). */
  reasoningDetails?: boolean
  /** Reasoning is asked for with OpenRouter's `reasoning: { effort, max_tokens }` instead of `reasoning_effort`. */
  reasoningObject?: boolean
  /** Most choices per request (`n`); more is a 400 naming the provider. */
  maxChoices?: number
  /** Tool-call ids must be exactly 9 characters of `[a-zA-Z0-9]` (Mistral): other ids are mapped, the same id always to the same value. */
  alphanumericToolCallIds?: 9
  /** Usage reports cache hits as `prompt_cache_hit_tokens` (DeepSeek): used when `cached_tokens` is absent. */
  promptCacheHitTokens?: boolean
}

/**
 * The OpenAI endpoints an upstream serves besides chat completions, by operation: `embeddings`,
 * `completions`, `responses`, `imageGenerations` (`/images/generations`), `imageEdits`,
 * `imageVariations`, `speech` (`/audio/speech`), `transcriptions`, `translations`, `moderations`,
 * `rerank` (`/rerank`, the Cohere/Jina shape that Together and vLLM serve).
 */
export type OpenAICompatibleEndpoints = { readonly [K in Exclude<Operation, 'chat'>]?: boolean }

/** Options of {@link defineOpenAICompatible}. */
export interface OpenAICompatibleOptions {
  /** Provider id (`<id>/<model>`). */
  id: string
  /** API root, e.g. `https://api.mistral.ai/v1`. Without it the config must set `network_config.base_url`. */
  baseURL?: string
  /** Default true; false for local servers (keys are still sent when configured). */
  requiresKey?: boolean
  /** Environment variable with the key when no config file is used. */
  envKey?: string
  /** How the key is sent. Default `bearer`. */
  auth?: OpenAICompatibleAuth
  /**
   * Endpoints the upstream serves besides chat completions. Those take the passthrough path from
   * the OpenAI surface; `responses` otherwise goes through chat completions (translated), and the
   * others answer 400 naming the provider. Default none.
   */
  endpoints?: OpenAICompatibleEndpoints
  quirks?: OpenAICompatibleQuirks
  /** Declared capabilities (docs and tools). Default chat, stream, tools. */
  capabilities?: ProviderCapabilities
  /** Models listed on `GET /models` when no key lists any. */
  models?: readonly string[]
}

/** Headers for a call to an OpenAI-compatible upstream: the key in the provider's auth style, JSON. */
export function compatibleHeaders(context: UpstreamContext, auth: OpenAICompatibleAuth = 'bearer'): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  const key = context.key?.value
  if (!key) return headers
  if (auth === 'bearer') headers.authorization = `Bearer ${key}`
  else headers[auth.header] = `${auth.prefix ?? ''}${key}`
  return headers
}

function urlOf(context: UpstreamContext, path: string): string {
  if (!context.baseURL) {
    throw new GatewayError({ status: 500, code: 'internal', message: `[${context.providerId}] no base URL: set providers.${context.providerId}.network_config.base_url`, provider: context.providerId, retryable: false })
  }
  return `${context.baseURL}${path}`
}

/** Renames a member in place of the old one, keeping the key order (bodies stay readable in snapshots). */
function renameKey(body: Json, from: string, to: string): Json {
  if (!(from in body) || from === to) return body
  const out: Json = {}
  for (const [key, value] of Object.entries(body)) if (key !== to) out[key === from ? to : key] = value
  return out
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A 9-character `[a-zA-Z0-9]` id for `id` (kept when it already is one); the same input always gives the same id. */
export function alphanumericId(id: string, length = 9): string {
  if (new RegExp(`^[a-zA-Z0-9]{${length}}$`).test(id)) return id
  // Two FNV-1a 32-bit hashes with different seeds: 64 bits, plenty for ids within one conversation.
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x9e3779b9
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i)
    a = Math.imul(a ^ code, 0x01000193) >>> 0
    b = Math.imul(b ^ code, 0x01000193 + 2) >>> 0
  }
  let out = ''
  let value = BigInt(a) * 0x100000000n + BigInt(b)
  for (let i = 0; i < length; i++) {
    out += ALPHANUMERIC[Number(value % 62n)]
    value /= 62n
  }
  return out
}

/**
 * IR `ChatRequest` -> chat-completions body for an upstream with these quirks: OpenAI's encoding
 * (`toChatBody`), then each quirk. What is left out is reported in `warnings`; what the upstream
 * cannot do at all (too many choices) is a 400 naming `providerId`.
 */
export function toCompatibleChatBody(source: ChatRequest, warnings: Warning[], quirks: OpenAICompatibleQuirks = {}, providerId = 'openai-compatible'): Json {
  if (quirks.maxChoices !== undefined && source.n !== undefined && source.n > quirks.maxChoices) {
    throw markTargetFault(GatewayError.badRequest(`[${providerId}] n must be at most ${quirks.maxChoices}`, 'n'))
  }
  const reasoning = quirks.reasoningObject ? source.reasoning : undefined
  const request = reasoning ? { ...source, reasoning: undefined } : source
  let body = toChatBody(request, warnings, {
    topK: quirks.topK,
    cacheControl: quirks.cacheControl,
    reasoningHistory: quirks.reasoningHistory === 'reasoning_details' ? 'reasoning_details' : 'reasoning_content',
  })
  if (reasoning && (reasoning.effort !== undefined || reasoning.budgetTokens !== undefined)) {
    body.reasoning = { ...(reasoning.effort !== undefined && { effort: reasoning.effort }), ...(reasoning.budgetTokens !== undefined && { max_tokens: reasoning.budgetTokens }) }
  }
  for (const field of quirks.dropFields ?? []) {
    if (!(field in body)) continue
    delete body[field]
    warnings.push({ type: 'unsupported', feature: field, details: `${providerId} does not accept it` })
  }
  body = renameKey(body, 'max_completion_tokens', quirks.maxTokensField ?? 'max_completion_tokens')
  for (const [from, to] of Object.entries(quirks.renameFields ?? {})) body = renameKey(body, from, to)
  const streamUsage = quirks.streamUsage ?? 'on-request'
  if (streamUsage !== 'on-request' && 'stream_options' in body) {
    delete body.stream_options
    if (streamUsage === 'never' && source.streamUsage) warnings.push({ type: 'unsupported', feature: 'stream_options.include_usage', details: `${providerId} does not report usage in streams` })
  }
  if (Array.isArray(body.messages)) body.messages = body.messages.map((message) => adaptMessage(message as Json, quirks, warnings, providerId))
  return body
}

/** Message-level quirks: names, reasoning history, tool-call ids. Each kind of warning is given once. */
function adaptMessage(message: Json, quirks: OpenAICompatibleQuirks, warnings: Warning[], providerId: string): Json {
  const warnOnce = (feature: string, details: string) => {
    if (!warnings.some((warning) => warning.type === 'unsupported' && warning.feature === feature)) warnings.push({ type: 'unsupported', feature, details })
  }
  let out = message
  const edit = () => (out === message ? (out = { ...message }) : out)
  if (quirks.dropMessageName && 'name' in out) {
    delete edit().name
    warnOnce('messages[].name', `${providerId} does not accept message names`)
  }
  if (quirks.reasoningHistory === 'drop' && 'reasoning_content' in out) {
    delete edit().reasoning_content
    warnOnce('reasoning history', `${providerId} does not take earlier reasoning back; it was left out`)
  }
  const length = quirks.alphanumericToolCallIds
  if (length !== undefined) {
    if (typeof out.tool_call_id === 'string') edit().tool_call_id = alphanumericId(out.tool_call_id, length)
    if (Array.isArray(out.tool_calls)) {
      edit().tool_calls = (out.tool_calls as Json[]).map((call) => (typeof call.id === 'string' ? { ...call, id: alphanumericId(call.id, length) } : call))
    }
  }
  return out
}

/** DeepSeek-style usage: `prompt_cache_hit_tokens` is the cached part when `cached_tokens` is absent. */
function withCacheHits(usage: Usage | undefined): Usage | undefined {
  const hits = usage?.extra?.prompt_cache_hit_tokens
  if (!usage || usage.cachedInputTokens !== undefined || typeof hits !== 'number') return usage
  return { ...usage, cachedInputTokens: hits }
}

function fixStreamUsage(events: ReadableStream<StreamEvent>): ReadableStream<StreamEvent> {
  return events.pipeThrough(new TransformStream<StreamEvent, StreamEvent>({
    transform(event, controller) {
      if (event.type === 'usage') controller.enqueue({ ...event, usage: withCacheHits(event.usage)! })
      else if (event.type === 'finish') controller.enqueue({ ...event, usage: withCacheHits(event.usage) })
      else controller.enqueue(event)
    },
  }))
}

/** The chat-completions codec of an OpenAI-compatible upstream. */
export function compatibleChatCodec(quirks: OpenAICompatibleQuirks = {}, auth: OpenAICompatibleAuth = 'bearer'): OperationCodec<ChatRequest, ChatResponse> {
  const responseOptions = { reasoningDetails: quirks.reasoningDetails }
  return {
    request(request, context) {
      const warnings: Warning[] = []
      const body = toCompatibleChatBody(request, warnings, quirks, context.providerId)
      return { url: urlOf(context, '/chat/completions'), headers: compatibleHeaders(context, auth), body: JSON.stringify(body), warnings }
    },
    response(json) {
      const response = parseChatResponse(json, responseOptions)
      return quirks.promptCacheHitTokens ? { ...response, usage: withCacheHits(response.usage) } : response
    },
    stream(body) {
      const events = parseChatStream(body, responseOptions)
      return quirks.promptCacheHitTokens ? fixStreamUsage(events) : events
    },
  }
}

/**
 * A provider for an OpenAI-compatible upstream: OpenAI's codecs with `quirks` applied, the
 * passthrough path for the endpoints the upstream serves, and the Responses API translated to chat
 * completions where the upstream has no Responses API of its own.
 */
export function defineOpenAICompatible(options: OpenAICompatibleOptions): ProviderDefinition {
  const { id, quirks = {}, endpoints = {} } = options
  const auth = options.auth ?? 'bearer'
  const streamUsage = quirks.streamUsage ?? 'on-request'
  const chat = compatibleChatCodec(quirks, auth)
  const json = (context: UpstreamContext, path: string, body: Json) => ({ url: urlOf(context, path), headers: compatibleHeaders(context, auth), body: JSON.stringify(body) })
  const withoutStreamOptions = (body: Json) => {
    if (streamUsage !== 'on-request') delete body.stream_options
    return body
  }
  const passthroughOperations: Operation[] = ['chat']
  for (const [operation, served] of Object.entries(endpoints) as Array<[Operation, boolean | undefined]>) if (served) passthroughOperations.push(operation)
  const capabilities: ProviderCapabilities = options.capabilities ?? { chat: true, stream: true, tools: true, embeddings: endpoints.embeddings === true, completions: endpoints.completions === true, responses: true }
  return defineProvider({
    id,
    spec: 1,
    dialect: 'openai',
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : { requiresBaseURL: true }),
    requiresKey: options.requiresKey ?? true,
    ...(options.envKey && { envKey: options.envKey }),
    ...(options.models && { models: options.models }),
    capabilities: () => capabilities,
    upstream: {
      chat,
      responses: endpoints.responses
        ? {
            request: (request, context) => json(context, '/responses', toResponsesBody(request)),
            response: (body) => parseResponsesResponse(body),
            stream: (body) => parseResponsesStream(body),
          }
        : chat,
      ...(endpoints.completions && {
        completions: {
          request: (request, context) => json(context, '/completions', withoutStreamOptions(toCompletionBody(request))),
          response: (body) => parseCompletionResponse(body),
          stream: (body) => parseCompletionStream(body),
        },
      }),
      ...(endpoints.embeddings && {
        embeddings: {
          request: (request, context) => json(context, '/embeddings', toEmbeddingsBody(request)),
          response: (body) => parseEmbeddingsResponse(body),
        },
      }),
      error: (status, body, headers, context) => parseOpenAIError(status, body, headers, context),
      passthrough: (path, context) => ({ url: urlOf(context, path), headers: compatibleHeaders(context, auth) }),
      passthroughOperations,
      streamUsage,
    },
  })
}

/** A config-only OpenAI-compatible provider (`providers.<id>.custom` with `dialect: "openai"`): no quirks, keys optional. */
export function customOpenAIProvider(options: { id: string; baseURL: string }): ProviderDefinition {
  return defineOpenAICompatible({ id: options.id, baseURL: options.baseURL, requiresKey: false, endpoints: { embeddings: true, completions: true } })
}

