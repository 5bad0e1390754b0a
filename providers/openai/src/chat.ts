import * as v from 'valibot'
import { extraFor, isLocalDialect, localizeRequest, localizeResponse, type ReasoningPart, type ChatChoice, type ChatRequest, type ChatResponse, type ContentPart, type ResponseFormat, type ToolChoice, type ToolDefinition, type Warning } from '@switchyard/core'
import { parseChatMessage, toChatMessages, unsupported, withExtra, type ChatMessageOptions } from './chat-messages.js'
import { fromReasoningDetails, toReasoningDetails } from './reasoning-details.js'
import { toOpenAIChatUsage, usageFromOpenAI } from './usage.js'
import { defined, mapOpenAIFinishReason, restOf, toOpenAIFinishReason, validateWire, type Json } from './wire.js'

// ---------------------------------------------------------------------------------------------
// Wire schemas: only the fields read here; everything else passes through.

const nullish = v.nullish
const int = v.pipe(v.number(), v.integer())

const ToolSchema = v.looseObject({
  type: v.literal('function', 'only tools of type "function" are supported'),
  function: v.looseObject({
    name: v.pipe(v.string(), v.minLength(1)),
    description: nullish(v.string()),
    parameters: nullish(v.record(v.string(), v.unknown())),
    strict: nullish(v.boolean()),
  }),
})

const RequestSchema = v.looseObject({
  messages: v.pipe(v.array(v.unknown(), 'messages must be an array'), v.minLength(1, 'messages must not be empty')),
  tools: nullish(v.array(ToolSchema)),
  tool_choice: nullish(v.union([
    v.picklist(['auto', 'none', 'required']),
    v.looseObject({ type: v.literal('function'), function: v.looseObject({ name: v.string() }) }),
  ], 'tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":...}}')),
  parallel_tool_calls: nullish(v.boolean()),
  max_tokens: nullish(int),
  max_completion_tokens: nullish(int),
  temperature: nullish(v.number()),
  top_p: nullish(v.number()),
  stop: nullish(v.union([v.string(), v.array(v.string())], 'stop must be a string or an array of strings')),
  seed: nullish(int),
  n: nullish(v.pipe(int, v.minValue(1))),
  presence_penalty: nullish(v.number()),
  frequency_penalty: nullish(v.number()),
  response_format: nullish(v.variant('type', [
    v.looseObject({ type: v.literal('text') }),
    v.looseObject({ type: v.literal('json_object') }),
    v.looseObject({
      type: v.literal('json_schema'),
      json_schema: v.looseObject({
        name: v.string(),
        schema: nullish(v.record(v.string(), v.unknown())),
        strict: nullish(v.boolean()),
        description: nullish(v.string()),
      }),
    }),
  ], 'response_format.type must be "text", "json_object" or "json_schema"')),
  reasoning_effort: nullish(v.string()),
  user: nullish(v.string()),
  metadata: nullish(v.record(v.string(), v.string())),
  stream: nullish(v.boolean()),
  stream_options: nullish(v.looseObject({ include_usage: nullish(v.boolean()) })),
})

const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])
const EFFORTS = new Set(['minimal', 'low', 'medium', 'high'])

/**
 * OpenAI chat-completions request body -> IR `ChatRequest` for `model`.
 * Fields the IR does not model stay in `extra`. Bad input throws a 400 `GatewayError` whose
 * `param` names the field. https://platform.openai.com/docs/api-reference/chat/create
 */
export function parseChatRequest(body: Record<string, unknown>, model: string): ChatRequest {
  const wire = validateWire(RequestSchema, body)
  const extra: Json = restOf(body, REQUEST_KEYS) ?? {}
  const request: ChatRequest = { model, messages: wire.messages.map(parseChatMessage), dialect: 'openai', extra }
  if (wire.tools) {
    request.tools = wire.tools.map((tool): ToolDefinition => {
      const fn = tool.function
      const toolExtra = restOf(fn, new Set(['name', 'description', 'parameters', 'strict']))
      return {
        type: 'function',
        name: fn.name,
        ...(fn.description != null && { description: fn.description }),
        ...(fn.parameters != null && { parameters: fn.parameters }),
        ...(fn.strict != null && { strict: fn.strict }),
        ...(toolExtra && { extra: toolExtra }),
      }
    })
  }
  const choice = wire.tool_choice
  if (choice != null) request.toolChoice = typeof choice === 'string' ? choice : { type: 'tool', name: choice.function.name }
  if (wire.parallel_tool_calls != null) request.parallelToolCalls = wire.parallel_tool_calls
  const maxTokens = wire.max_completion_tokens ?? wire.max_tokens
  if (maxTokens != null) request.maxTokens = maxTokens
  if (wire.temperature != null) request.temperature = wire.temperature
  if (wire.top_p != null) request.topP = wire.top_p
  if (wire.stop != null) request.stop = typeof wire.stop === 'string' ? [wire.stop] : wire.stop
  if (wire.seed != null) request.seed = wire.seed
  if (wire.n != null) request.n = wire.n
  if (wire.presence_penalty != null) request.presencePenalty = wire.presence_penalty
  if (wire.frequency_penalty != null) request.frequencyPenalty = wire.frequency_penalty
  const format = wire.response_format
  if (format != null) {
    request.responseFormat = format.type === 'text' ? { type: 'text' } : format.type === 'json_object' ? { type: 'json' }
      : defined({ type: 'json-schema', name: format.json_schema.name, schema: format.json_schema.schema ?? {}, strict: format.json_schema.strict ?? undefined, description: format.json_schema.description ?? undefined }) as ResponseFormat
  }
  // Efforts the IR does not name ("none", "xhigh" ...) reach OpenAI unchanged through extra.
  if (wire.reasoning_effort != null) {
    if (EFFORTS.has(wire.reasoning_effort)) request.reasoning = { effort: wire.reasoning_effort as 'low' }
    else extra.reasoning_effort = wire.reasoning_effort
  }
  if (wire.user != null) request.user = wire.user
  if (wire.metadata != null) request.metadata = wire.metadata
  if (wire.stream != null) request.stream = wire.stream
  if (wire.stream_options != null) {
    if (wire.stream_options.include_usage != null) request.streamUsage = wire.stream_options.include_usage
    const options = restOf(wire.stream_options, new Set(['include_usage']))
    if (options) extra.stream_options = options
  }
  return request
}

/** What an OpenAI-compatible upstream accepts beyond OpenAI's chat completions (presets set these). */
export interface ChatBodyOptions extends ChatMessageOptions {
  /** The upstream samples with `top_k` (Together, Fireworks, vLLM ...): IR `topK` is sent, not reported. */
  topK?: boolean
}

/**
 * IR `ChatRequest` -> OpenAI chat-completions body; `extra` is copied back. A stream always asks
 * for usage (`stream_options.include_usage`). What chat completions cannot express is left out
 * and reported in `warnings` when given. `options` widen that for OpenAI-compatible upstreams.
 */
export function toChatBody(source: ChatRequest, warnings?: Warning[], options: ChatBodyOptions = {}): Record<string, unknown> {
  const local = isLocalDialect('openai', source.dialect)
  const request = localizeRequest(source, 'openai', warnings)
  if (!local && request.tools?.some((tool) => tool.cache)) unsupported(warnings, 'cache_control on tools')
  if (request.topK !== undefined && !options.topK) unsupported(warnings, 'topK')
  const effort = request.reasoning?.effort ?? effortForBudget(request.reasoning?.budgetTokens, warnings)
  const format = request.responseFormat
  const choice: ToolChoice | undefined = request.toolChoice
  const body = defined({
    model: request.model,
    messages: request.messages.flatMap((message) => toChatMessages(message, warnings, local, options)),
    tools: request.tools?.map((tool) => ({
      type: 'function',
      function: defined({ name: tool.name, description: tool.description, parameters: tool.parameters, strict: tool.strict, ...tool.extra }),
    })),
    tool_choice: typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice,
    parallel_tool_calls: request.parallelToolCalls,
    max_completion_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    top_k: options.topK ? request.topK : undefined,
    stop: request.stop,
    seed: request.seed,
    n: request.n,
    presence_penalty: request.presencePenalty,
    frequency_penalty: request.frequencyPenalty,
    response_format: format === undefined ? undefined : format.type === 'text' ? { type: 'text' } : format.type === 'json' ? { type: 'json_object' }
      : { type: 'json_schema', json_schema: defined({ name: format.name, schema: format.schema, strict: format.strict, description: format.description }) },
    reasoning_effort: effort,
    user: request.user,
    metadata: request.metadata,
    stream: request.stream,
  })
  const extra = extraFor('openai', request, warnings)
  for (const [key, value] of Object.entries(extra)) if (!(key in body)) body[key] = value
  if (request.stream) body.stream_options = { ...(extra.stream_options as Json | undefined), include_usage: true }
  return body
}

// ---------------------------------------------------------------------------------------------
// Response: wire <-> IR

const ResponseSchema = v.looseObject({
  id: nullish(v.string()),
  created: nullish(v.number()),
  model: nullish(v.string()),
  choices: v.array(v.looseObject({
    index: nullish(v.number()),
    finish_reason: nullish(v.string()),
    message: v.looseObject({
      content: v.optional(v.unknown()),
      refusal: nullish(v.string()),
      reasoning_content: nullish(v.string()),
      reasoning: nullish(v.string()),
      tool_calls: nullish(v.array(v.looseObject({ id: v.string(), function: v.looseObject({ name: v.string(), arguments: v.unknown() }) }))),
    }),
  })),
})
const RESPONSE_KEYS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage'])
const RESPONSE_MESSAGE_KEYS = new Set(['role', 'content', 'refusal', 'reasoning_content', 'reasoning', 'tool_calls'])
const DETAILED_MESSAGE_KEYS = new Set([...RESPONSE_MESSAGE_KEYS, 'reasoning_details'])

/** Mistral answers with content arrays: `text` items and `thinking` items holding text items. */
function contentItemsOf(content: unknown): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) return []
  const parts: ContentPart[] = []
  for (const item of content as Json[]) {
    if (item?.type === 'text' && typeof item.text === 'string') parts.push({ type: 'text', text: item.text })
    else if (item?.type === 'thinking' && Array.isArray(item.thinking)) {
      const text = (item.thinking as Json[]).map((inner) => (typeof inner?.text === 'string' ? inner.text : '')).join('')
      parts.push({ type: 'reasoning', text })
    }
  }
  return parts
}

/** Options of {@link parseChatResponse} and `parseChatStream` for OpenAI-compatible upstreams. */
export interface ChatResponseOptions {
  /**
   * Read `reasoning_details` (OpenRouter) into reasoning parts, signatures and redacted data
   * included, instead of the plain `reasoning` text; they then leave the message's `extra`.
   */
  reasoningDetails?: boolean
}

/** OpenAI `chat.completion` (or a compatible provider's) -> IR `ChatResponse`. */
export function parseChatResponse(json: unknown, options: ChatResponseOptions = {}): ChatResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response')
  const choices = wire.choices.map((choice, position): ChatChoice => {
    const message = choice.message
    const content: ContentPart[] = []
    const detailed = options.reasoningDetails ? fromReasoningDetails(message.reasoning_details) : undefined
    const reasoning = message.reasoning_content ?? message.reasoning
    if (detailed) content.push(...detailed)
    else if (reasoning) content.push({ type: 'reasoning', text: reasoning })
    content.push(...contentItemsOf(message.content))
    if (message.refusal != null) content.push({ type: 'refusal', text: message.refusal })
    for (const call of message.tool_calls ?? []) {
      const args = call.function.arguments
      content.push(withExtra({ type: 'tool-call', id: call.id, name: call.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) }, restOf(call, new Set(['id', 'type', 'function', 'index']))))
    }
    const extra = restOf(message, detailed ? DETAILED_MESSAGE_KEYS : RESPONSE_MESSAGE_KEYS)
    return {
      index: choice.index ?? position,
      message: { role: 'assistant', content, ...(extra && { extra }) },
      finishReason: mapOpenAIFinishReason(choice.finish_reason),
      ...(choice.logprobs != null && { logprobs: choice.logprobs }),
    }
  })
  const extra = restOf(wire, RESPONSE_KEYS)
  return { id: wire.id ?? '', model: wire.model ?? '', created: wire.created ?? 0, choices, usage: usageFromOpenAI(wire.usage), dialect: 'openai', ...(extra && { extra }) }
}

/** IR `ChatResponse` -> `chat.completion` object as OpenAI sends it, reporting `model`. */
export function renderChatResponse(source: ChatResponse, model: string): Record<string, unknown> {
  const response = localizeResponse(source, 'openai')
  const choices = response.choices.map((choice) => {
    let text: string | null = null
    let refusal: string | null = null
    let reasoning = ''
    const calls: Json[] = []
    for (const part of choice.message.content) {
      if (part.type === 'text') text = (text ?? '') + part.text
      else if (part.type === 'refusal') refusal = (refusal ?? '') + part.text
      else if (part.type === 'reasoning') reasoning += part.text
      else if (part.type === 'tool-call') calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments }, ...part.extra })
    }
    const details = toReasoningDetails(choice.message.content.filter((part): part is ReasoningPart => part.type === 'reasoning'))
    const message = {
      role: 'assistant',
      content: text,
      refusal,
      ...(calls.length > 0 && { tool_calls: calls }),
      ...(reasoning && { reasoning_content: reasoning }),
      ...(details && { reasoning_details: details }),
      ...choice.message.extra,
    }
    return { index: choice.index, message, logprobs: choice.logprobs ?? null, finish_reason: toOpenAIFinishReason(choice.finishReason) }
  })
  return {
    id: response.id,
    object: 'chat.completion',
    created: response.created,
    model,
    choices,
    ...(response.usage && { usage: toOpenAIChatUsage(response.usage) }),
    ...response.extra,
  }
}

/**
 * A thinking budget (Anthropic) has no OpenAI equivalent; the nearest reasoning effort is sent
 * instead (the inverse of the Anthropic codec's budgets: <= 2048 low, <= 8192 medium, else high)
 * and the approximation is reported.
 */
export function effortForBudget(budget: number | undefined, warnings: Warning[] | undefined): 'low' | 'medium' | 'high' | undefined {
  if (budget === undefined) return undefined
  const effort = budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high'
  warnings?.push({ type: 'other', message: `thinking budget ${budget} sent as reasoning_effort "${effort}"` })
  return effort
}
