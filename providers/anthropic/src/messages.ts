import * as v from 'valibot'
import { extraFor, GatewayError, localizeResponse, type ChatRequest, type ChatResponse, type Message, type ToolDefinition, type Usage, type Warning } from '@switchyard/core'
import { mapAnthropicStopReason, toAnthropicStopReason } from './finish-reason.js'
import {
  ASSISTANT_BLOCKS, BLOCKS, defined, fail, isObject, isPlainText, parseBlocks, parseCacheControl, parseSystemContent, restOf, setShape, shapeOf,
  splitExtra, toBlocks, toCacheControl, unsupported, USER_BLOCKS, validateWire, type EncodeOptions, type Json, type WireShape,
} from './messages-content.js'
import { toAnthropicUsage, usageFromAnthropic } from './usage.js'

/**
 * The Anthropic Messages API, non-streaming, both directions: request body <-> IR `ChatRequest`,
 * `message` object <-> IR `ChatResponse`. https://docs.anthropic.com/en/api/messages
 */

// ---------------------------------------------------------------------------------------------
// Model defaults

/**
 * Max output tokens per model family, from the "max output" column of Anthropic's models overview
 * (https://docs.anthropic.com/en/docs/about-claude/models/overview). Matched on the name with
 * any date, version suffix or cloud prefix removed (`us.anthropic.claude-sonnet-4-20250514-v1:0`).
 */
const MAX_OUTPUT: ReadonlyArray<[RegExp, number]> = [
  [/^claude-3-(haiku|opus|sonnet)$/, 4096],
  [/^claude-3-5-(sonnet|haiku)$/, 8192],
  [/^claude-3-7-sonnet$/, 64000],
  [/^claude-sonnet-4(-|$)/, 64000],
  [/^claude-opus-4(-[01])?$/, 32000],
  [/^claude-opus-4-5$/, 64000],
  [/^claude-haiku-4-5$/, 64000],
]

/** The family's max output, or undefined for a model not in the table. */
function maxOutputOf(model: string): number | undefined {
  const start = model.indexOf('claude-')
  if (start === -1) return undefined
  const family = model.slice(start).replace(/[@-]\d{8}.*$/, '').replace(/(-v\d+)?(:\d+)?$/, '').replace(/-latest$/, '')
  return MAX_OUTPUT.find(([pattern]) => pattern.test(family))?.[1]
}

/**
 * `max_tokens` to send when the caller gave none (Anthropic requires it): the model's max output
 * (see `MAX_OUTPUT`), 4096 for a model not in the table.
 */
export function defaultMaxTokens(model: string): number {
  return maxOutputOf(model) ?? 4096
}

/** Thinking `budget_tokens` for a reasoning effort (1024 is Anthropic's minimum budget). */
export function budgetForEffort(effort: 'minimal' | 'low' | 'medium' | 'high'): number {
  switch (effort) {
    case 'minimal': return 1024
    case 'low': return 2048
    case 'medium': return 8192
    case 'high': return 24576
  }
}

// ---------------------------------------------------------------------------------------------
// Request: wire -> IR

const nullish = v.nullish
const int = v.pipe(v.number(), v.integer())

const MessageSchema = v.looseObject({
  role: v.picklist(['user', 'assistant', 'system'], 'role must be "user", "assistant" or "system"'),
  content: v.union([v.string(), v.array(v.unknown())], 'content must be a string or an array of content blocks'),
})

const CustomToolSchema = v.looseObject({
  name: v.pipe(v.string('name must be a string'), v.minLength(1, 'name must not be empty')),
  description: nullish(v.string()),
  input_schema: v.record(v.string(), v.unknown(), 'input_schema must be a JSON Schema object'),
  strict: nullish(v.boolean()),
})

const RequestSchema = v.looseObject({
  messages: v.pipe(v.array(v.unknown(), 'messages must be an array'), v.minLength(1, 'messages must not be empty')),
  system: nullish(v.union([v.string(), v.array(v.unknown())], 'system must be a string or an array of text blocks')),
  max_tokens: nullish(v.pipe(int, v.minValue(1, 'max_tokens must be at least 1'))),
  temperature: nullish(v.number()),
  top_p: nullish(v.number()),
  top_k: nullish(v.pipe(int, v.minValue(0))),
  stop_sequences: nullish(v.array(v.string(), 'stop_sequences must be an array of strings')),
  metadata: nullish(v.looseObject({ user_id: nullish(v.string()) })),
  stream: nullish(v.boolean()),
  tools: nullish(v.array(v.unknown(), 'tools must be an array')),
  tool_choice: nullish(v.variant('type', [
    v.looseObject({ type: v.picklist(['auto', 'any']), disable_parallel_tool_use: nullish(v.boolean()) }),
    v.looseObject({ type: v.literal('none') }),
    v.looseObject({ type: v.literal('tool'), name: v.string(), disable_parallel_tool_use: nullish(v.boolean()) }),
  ], 'tool_choice.type must be "auto", "any", "none" or "tool"')),
  thinking: nullish(v.looseObject({ type: v.string('thinking.type must be a string'), budget_tokens: v.optional(v.pipe(int, v.minValue(1))) })),
})
const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])

/**
 * `messages` -> IR messages. A user turn's `tool_result` blocks become `tool` messages, split in
 * order: `[tool_result, text]` is a tool message then a user message (re-joined on encode).
 */
function parseMessages(raw: readonly unknown[]): Message[] {
  const out: Message[] = []
  let previousRole: string | undefined
  raw.forEach((item, index) => {
    const path = `messages[${index}]`
    const wire = validateWire(MessageSchema, item, path)
    const first = out.length
    if (wire.role === 'system') {
      out.push({ role: 'system', content: parseSystemContent(wire.content, `${path}.content`) })
      setShape(out[first]!, { inMessages: true })
    } else if (typeof wire.content === 'string') {
      out.push({ role: wire.role, content: [{ type: 'text', text: wire.content }] })
    } else {
      const user = wire.role === 'user'
      const { parts, orphans } = parseBlocks(wire.content, `${path}.content`, { side: 'request', allowed: user ? USER_BLOCKS : ASSISTANT_BLOCKS, name: `${wire.role} messages` })
      for (const part of parts) {
        const role = user && part.type === 'tool-result' ? 'tool' : wire.role
        const last = out.length > first ? out.at(-1) : undefined
        if (last?.role === role) last.content.push(part)
        else out.push({ role, content: [part] })
      }
      if (out.length === first) out.push({ role: wire.role, content: [] })
      if (orphans.length > 0) out[first]!.extra = { [BLOCKS]: orphans }
    }
    const head = out[first]!
    const extra = restOf(wire, new Set(['role', 'content']))
    if (extra) head.extra = { ...head.extra, ...extra }
    setShape(head, { stringContent: typeof wire.content === 'string', ...(wire.role !== 'system' && wire.role === previousRole && { separateTurn: true }) })
    previousRole = wire.role
  })
  return out
}

function parseTools(tools: readonly unknown[], request: ChatRequest): void {
  const custom: ToolDefinition[] = []
  const server: Json[] = []
  const order: Array<'custom' | 'server'> = []
  tools.forEach((raw, index) => {
    const path = `tools[${index}]`
    if (!isObject(raw)) fail('request', 'each tool must be an object', path)
    if (raw.type != null && raw.type !== 'custom') {
      // Server and Anthropic-defined tools (web_search_20250305, bash_20250124 ...) travel verbatim.
      if (typeof raw.type !== 'string') fail('request', 'type must be a string', `${path}.type`)
      server.push(raw)
      order.push('server')
      return
    }
    const wire = validateWire(CustomToolSchema, raw, path)
    const known = new Set(['name', 'description', 'input_schema', 'strict'])
    const tool: ToolDefinition = { type: 'function', name: wire.name, parameters: wire.input_schema }
    if (wire.description != null) tool.description = wire.description
    if (wire.strict != null) tool.strict = wire.strict
    if (raw.cache_control != null) {
      tool.cache = parseCacheControl(raw.cache_control, `${path}.cache_control`, 'request')
      known.add('cache_control')
    }
    if (raw.type === 'custom') {
      known.add('type')
      setShape(tool, { customType: true })
    }
    const extra = restOf(raw, known)
    if (extra) tool.extra = extra
    custom.push(tool)
    order.push('custom')
  })
  if (custom.length > 0) request.tools = custom
  if (server.length > 0) request.extra.tools_server = server
  setShape(request, { toolOrder: order })
}

function parseBody(body: Record<string, unknown>, model: string, requireMaxTokens: boolean): ChatRequest {
  const wire = validateWire(RequestSchema, body, '')
  if (requireMaxTokens && wire.max_tokens == null) fail('request', 'max_tokens is required', 'max_tokens')
  const extra: Json = restOf(body, REQUEST_KEYS) ?? {}
  const messages: Message[] = []
  if (wire.system != null) {
    messages.push({ role: 'system', content: parseSystemContent(wire.system, 'system') })
    setShape(messages[0]!, { stringContent: typeof wire.system === 'string' })
  }
  messages.push(...parseMessages(wire.messages))
  const request: ChatRequest = { model, messages, dialect: 'anthropic', extra }
  if (wire.tools != null) parseTools(wire.tools, request)
  const choice = wire.tool_choice
  if (choice != null) {
    request.toolChoice = choice.type === 'tool' ? { type: 'tool', name: choice.name } : choice.type === 'any' ? 'required' : choice.type
    if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use != null) request.parallelToolCalls = !choice.disable_parallel_tool_use
  }
  if (wire.max_tokens != null) request.maxTokens = wire.max_tokens
  if (wire.temperature != null) request.temperature = wire.temperature
  if (wire.top_p != null) request.topP = wire.top_p
  if (wire.top_k != null) request.topK = wire.top_k
  if (wire.stop_sequences != null) request.stop = wire.stop_sequences
  if (wire.metadata != null) {
    const rest = wire.metadata.user_id == null ? wire.metadata : restOf(wire.metadata, new Set(['user_id']))
    if (wire.metadata.user_id != null) request.user = wire.metadata.user_id
    if (rest) extra.metadata = rest
  }
  const thinking = wire.thinking
  if (thinking?.type === 'enabled') {
    if (thinking.budget_tokens === undefined) fail('request', 'budget_tokens is required when thinking is enabled', 'thinking.budget_tokens')
    request.reasoning = { budgetTokens: thinking.budget_tokens }
    const rest = restOf(thinking, new Set(['type', 'budget_tokens']))
    if (rest) extra.thinking = rest
  } else if (thinking != null) extra.thinking = thinking
  if (wire.stream != null) request.stream = wire.stream
  return request
}

/**
 * Anthropic Messages request body -> IR `ChatRequest` for `model` (dialect `anthropic`). Fields
 * the IR does not model stay in `extra` (server tools in `extra.tools_server`). Bad input,
 * including a missing `max_tokens`, throws a 400 `GatewayError` whose `param` names the field.
 */
export function parseMessagesRequest(body: Record<string, unknown>, model: string): ChatRequest {
  return parseBody(body, model, true)
}

/** A count-tokens body: the Messages body without `max_tokens` and sampling fields. */
export function parseCountTokensBody(body: Record<string, unknown>, model: string): ChatRequest {
  return parseBody(body, model, false)
}

// ---------------------------------------------------------------------------------------------
// Request: IR -> wire

/** A string when the turn was one (or, from other dialects, is lone plain text); blocks otherwise. */
const spell = (content: Json[], shape: WireShape | undefined): string | Json[] =>
  shape?.stringContent !== false && content.length === 1 && isPlainText(content[0]!) ? (content[0]!.text as string) : content

/**
 * IR messages -> top-level `system` and `messages`. System and developer messages go to `system`;
 * consecutive turns of one role are joined (tool messages are user turns of `tool_result` blocks),
 * except turns an Anthropic caller sent apart.
 */
function toConversation(messages: readonly Message[], options: EncodeOptions): { system: string | Json[] | undefined; messages: Json[] } {
  let system: Json[] | undefined
  let systemShape: WireShape | undefined
  const turns: Array<{ role: string; content: Json[]; fields: Json; joined: boolean; shape: WireShape | undefined }> = []
  messages.forEach((message, index) => {
    const path = `messages[${index}]`
    const shape = shapeOf(message)
    if (message.name !== undefined) unsupported(options.warnings, 'message name', `${path}: Anthropic messages have no participant name`)
    const isSystem = message.role === 'system' || message.role === 'developer'
    if (isSystem) {
      const bad = message.content.findIndex((part) => part.type !== 'text')
      if (bad !== -1) throw GatewayError.badRequest(`Invalid '${path}.content[${bad}]': Anthropic system prompts are text only`, `${path}.content[${bad}]`)
    }
    const { fields, blocks } = splitExtra(message.extra, path, options)
    const content = message.content.flatMap((part, partIndex) => toBlocks(part, `${path}.content[${partIndex}]`, options))
    content.push(...blocks)
    if (isSystem && !shape?.inMessages) {
      if (turns.length > 0) options.warnings?.push({ type: 'other', message: `${path}: a ${message.role} message inside the conversation was moved to the top-level system prompt` })
      for (const key of Object.keys(fields)) unsupported(options.warnings, key, `${path}: system prompt blocks have no message fields`)
      if (system === undefined) systemShape = shape
      system = [...(system ?? []), ...content]
      return
    }
    // Every part was left out (with a warning): Anthropic refuses empty turns.
    if (content.length === 0 && message.content.length > 0) return
    const role = isSystem ? 'system' : message.role === 'assistant' ? 'assistant' : 'user'
    const last = turns.at(-1)
    if (last && last.role === role && role !== 'system' && !shape?.separateTurn) {
      last.content.push(...content)
      Object.assign(last.fields, fields)
      last.joined = true
    } else turns.push({ role, content, fields, joined: false, shape })
  })
  return {
    system: system && spell(system, systemShape),
    messages: turns.map((turn) => ({ role: turn.role, content: turn.joined ? turn.content : spell(turn.content, turn.shape), ...turn.fields })),
  }
}

function toTools(request: ChatRequest, options: EncodeOptions, server: Json[]): Json[] | undefined {
  const custom = (request.tools ?? []).map((tool, index) => defined({
    type: shapeOf(tool)?.customType ? 'custom' : undefined,
    name: tool.name,
    description: tool.description,
    input_schema: tool.parameters ?? { type: 'object', properties: {} },
    cache_control: tool.cache && toCacheControl(tool.cache),
    strict: tool.strict,
    ...splitExtra(tool.extra, `tools[${index}]`, options).fields,
  }))
  const order = shapeOf(request)?.toolOrder
  if (order && order.filter((kind) => kind === 'custom').length === custom.length && order.length === custom.length + server.length) {
    // The caller's order: tool order is part of Anthropic's prompt-cache prefix.
    let [nextCustom, nextServer] = [0, 0]
    return order.map((kind) => (kind === 'custom' ? custom[nextCustom++]! : server[nextServer++]!))
  }
  const tools = [...custom, ...server]
  return tools.length > 0 || request.tools !== undefined ? tools : undefined
}

function toToolChoice(request: ChatRequest): Json | undefined {
  const choice = request.toolChoice
  let wire: Json | undefined = choice === undefined ? undefined
    : typeof choice === 'object' ? { type: 'tool', name: choice.name }
    : { type: choice === 'required' ? 'any' : choice }
  if (request.parallelToolCalls === false) wire ??= { type: 'auto' }
  if (wire && wire.type !== 'none' && request.parallelToolCalls !== undefined) wire.disable_parallel_tool_use = !request.parallelToolCalls
  return wire
}

/** Body for `/v1/messages` or `/v1/messages/count_tokens` (no max_tokens, sampling or stream there). */
export function encodeMessagesBody(request: ChatRequest, warnings: Warning[] | undefined, target: 'messages' | 'count-tokens'): Record<string, unknown> {
  const counting = target === 'count-tokens'
  const extra = extraFor('anthropic', request, warnings)
  const options: EncodeOptions = { mode: 'request', warnings, copyExtra: request.dialect === undefined || request.dialect === 'anthropic', dialect: request.dialect }
  if (!counting) {
    if (request.n !== undefined && request.n > 1) throw GatewayError.badRequest(`Invalid 'n': Anthropic returns one choice per request, not ${request.n}`, 'n')
    if (request.temperature !== undefined && (request.temperature < 0 || request.temperature > 1)) {
      throw GatewayError.badRequest(`Invalid 'temperature': Anthropic takes a temperature from 0 to 1, not ${request.temperature}`, 'temperature')
    }
    if (request.seed !== undefined) unsupported(warnings, 'seed')
    if (request.presencePenalty !== undefined) unsupported(warnings, 'presencePenalty')
    if (request.frequencyPenalty !== undefined) unsupported(warnings, 'frequencyPenalty')
    if (request.metadata !== undefined) unsupported(warnings, 'metadata', 'Anthropic metadata carries user_id only')
  }
  if (request.responseFormat && request.responseFormat.type !== 'text') unsupported(warnings, 'responseFormat', `Anthropic has no ${request.responseFormat.type} response format`)
  const conversation = toConversation(request.messages, options)

  const reasoning = request.reasoning
  const budget = reasoning?.budgetTokens ?? (reasoning?.effort === undefined ? undefined : budgetForEffort(reasoning.effort))
  let maxTokens: number | undefined
  if (!counting) {
    maxTokens = request.maxTokens ?? defaultMaxTokens(request.model)
    if (budget !== undefined && maxTokens <= budget) {
      // Anthropic needs max_tokens above the thinking budget; stay within the model's output limit when known.
      const limit = maxOutputOf(request.model)
      const raised = limit !== undefined && limit > budget ? Math.min(budget + defaultMaxTokens(request.model), limit) : budget + defaultMaxTokens(request.model)
      warnings?.push({ type: 'other', message: `max_tokens raised from ${maxTokens} to ${raised}: Anthropic needs it above the thinking budget (${budget})` })
      maxTokens = raised
    }
  }
  const body = defined({
    model: request.model,
    max_tokens: maxTokens,
    system: conversation.system,
    messages: conversation.messages,
    tools: toTools(request, options, Array.isArray(extra.tools_server) ? (extra.tools_server as Json[]) : []),
    tool_choice: toToolChoice(request),
    temperature: counting ? undefined : request.temperature,
    top_p: counting ? undefined : request.topP,
    top_k: counting ? undefined : request.topK,
    stop_sequences: counting ? undefined : request.stop,
    metadata: counting || request.user === undefined ? undefined : { ...(isObject(extra.metadata) ? extra.metadata : {}), user_id: request.user },
    thinking: budget === undefined ? undefined : { ...(isObject(extra.thinking) ? extra.thinking : {}), type: 'enabled', budget_tokens: budget },
    stream: counting ? undefined : request.stream,
  })
  for (const [key, value] of Object.entries(extra)) if (key !== 'tools_server' && !(key in body)) body[key] = value
  return body
}

/**
 * IR `ChatRequest` -> Anthropic Messages body. `max_tokens` falls back to `defaultMaxTokens`;
 * reasoning becomes a thinking budget (`budgetForEffort`). What Anthropic cannot express is left
 * out and reported in `warnings`; what it cannot serve (n > 1, audio, invalid tool arguments) is
 * a 400. Same-dialect `extra` is copied back (`extraFor`).
 */
export function toMessagesBody(request: ChatRequest, warnings?: Warning[]): Record<string, unknown> {
  return encodeMessagesBody(request, warnings, 'messages')
}

// ---------------------------------------------------------------------------------------------
// Response: wire <-> IR

const ResponseSchema = v.looseObject({
  id: v.string(),
  model: nullish(v.string()),
  content: v.array(v.unknown()),
  stop_reason: nullish(v.string()),
  stop_sequence: nullish(v.string()),
  usage: nullish(v.looseObject({})),
})
const RESPONSE_KEYS = new Set(['id', 'type', 'role', 'model', 'content', 'stop_reason', 'stop_sequence', 'usage'])

/** `usageFromAnthropic` plus the thinking tokens (`output_tokens_details.thinking_tokens`). */
function usageOf(raw: unknown): Usage | undefined {
  const usage = usageFromAnthropic(raw)
  const details = isObject(raw) ? raw.output_tokens_details : undefined
  if (usage && isObject(details) && typeof details.thinking_tokens === 'number') usage.reasoningTokens = details.thinking_tokens
  return usage
}

/** `toAnthropicUsage` plus `output_tokens_details`, which it leaves out as another dialect's field. */
function renderUsage(usage: Usage | undefined): Json {
  const out = toAnthropicUsage(usage)
  const details = usage?.extra?.output_tokens_details
  const thinking = usage?.reasoningTokens === undefined ? {} : { thinking_tokens: usage.reasoningTokens }
  if (isObject(details) && 'thinking_tokens' in details) out.output_tokens_details = { ...details, ...thinking }
  else if (usage?.reasoningTokens !== undefined) out.output_tokens_details = thinking
  return out
}

/**
 * Anthropic `message` -> IR `ChatResponse`: one choice, blocks in order (server tool blocks kept in
 * part extra), `stop_sequence` in `extra` when set. Anthropic sends no creation time: `created` is 0.
 */
export function parseMessagesResponse(json: unknown): ChatResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response')
  const { parts, orphans } = parseBlocks(wire.content, 'content', { side: 'response', allowed: ASSISTANT_BLOCKS, name: 'a response' })
  const message: Message = { role: 'assistant', content: parts, ...(orphans.length > 0 && { extra: { [BLOCKS]: orphans } }) }
  const extra = restOf(wire, RESPONSE_KEYS) ?? {}
  if (wire.stop_sequence != null) extra.stop_sequence = wire.stop_sequence
  return {
    id: wire.id,
    model: wire.model ?? '',
    created: 0,
    choices: [{ index: 0, message, finishReason: mapAnthropicStopReason(wire.stop_reason) }],
    usage: usageOf(wire.usage),
    dialect: 'anthropic',
    ...(Object.keys(extra).length > 0 && { extra }),
  }
}

const RENDERED_PARTS = new Set(['text', 'refusal', 'reasoning', 'tool-call'])
const isEmpty = (value: unknown) => value == null || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0)

/**
 * IR `ChatResponse` -> Anthropic `message` object as the API returns it, reporting `model`. Refusals
 * become text with `stop_reason: "refusal"`; unsigned reasoning becomes thinking with an empty
 * signature; tool arguments that are not JSON become `input: {}`. What an Anthropic message cannot
 * hold (images, audio, files, more than one choice) is left out and reported in `warnings` when given.
 */
export function renderMessagesResponse(source: ChatResponse, model: string, warnings?: Warning[]): Record<string, unknown> {
  // Another dialect's extras (OpenAI's system_fingerprint, usage details ...) never reach an Anthropic body.
  const response = localizeResponse(source, 'anthropic')
  if (response.choices.length > 1) warnings?.push({ type: 'other', message: `an Anthropic message holds one choice; ${response.choices.length - 1} left out` })
  const choice = response.choices[0]
  const options: EncodeOptions = { mode: 'response', warnings, copyExtra: true }
  const content: Json[] = []
  let refused = false
  choice?.message.content.forEach((part, index) => {
    if (!RENDERED_PARTS.has(part.type)) return void unsupported(warnings, `${part.type} part in a response`, 'an Anthropic message cannot hold it; left out')
    if (part.type === 'refusal') refused = true
    content.push(...toBlocks(part, `content[${index}]`, options))
  })
  const { fields, blocks } = splitExtra(choice?.message.extra, 'message', options)
  content.push(...blocks)
  // Empty fields of other dialects (OpenAI's `annotations: []`, `refusal: null`) lose nothing.
  for (const [key, value] of Object.entries(fields)) if (!isEmpty(value)) unsupported(warnings, key, 'message field with no Anthropic equivalent')
  const { stop_sequence: stopSequence, ...extra } = response.extra ?? {}
  return {
    ...extra,
    id: response.id.startsWith('msg_') ? response.id : `msg_${response.id}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: refused ? 'refusal' : choice ? toAnthropicStopReason(choice.finishReason) : 'end_turn',
    stop_sequence: typeof stopSequence === 'string' ? stopSequence : null,
    usage: renderUsage(response.usage),
  }
}
