import * as v from 'valibot'
import { extraFor, GatewayError, localizeRequest, markTargetFault, type ChatRequest, type ChatResponse, type ContentPart, type ToolDefinition, type Warning } from '@switchyard/core'
import { mapCohereFinishReason } from './finish-reason.js'
import { toCohereMessages } from './messages.js'
import { usageFromCohere } from './usage.js'
import { defined, readWire, restOf, type Json } from './wire.js'

/**
 * Cohere v2 chat (`POST /v2/chat`, https://docs.cohere.com/reference/chat) <-> IR.
 *
 * Request names: `p` is top-p, `k` top-k, `stop_sequences`, `tool_choice` is `REQUIRED` or `NONE`
 * (no named tool: a named choice sends only that tool, `REQUIRED`), `strict_tools` is one switch
 * for all tools, `response_format` is `text` or `json_object` with an optional `json_schema`,
 * `thinking: { type: 'enabled', token_budget }` asks for reasoning. There is no `n`, no
 * `parallel_tool_calls`, no `user` or `metadata`.
 */

/**
 * IR `ChatRequest` -> Cohere v2 chat body. What Cohere cannot say is left out and reported in
 * `warnings`; more than one choice is a 400 (there is no `n`).
 */
export function toCohereChatBody(source: ChatRequest, warnings: Warning[]): Json {
  const request = localizeRequest(source, 'cohere', warnings)
  if (request.n !== undefined && request.n > 1) throw markTargetFault(GatewayError.badRequest('[cohere] Cohere returns one choice per request; n must be 1', 'n'))
  const unsupported = (feature: string, details?: string) => warnings.push({ type: 'unsupported', feature, details })
  const { messages, documents } = toCohereMessages(request.messages, warnings)

  let tools = request.tools
  let toolChoice: string | undefined
  const choice = request.toolChoice
  if (choice === 'none') toolChoice = 'NONE'
  else if (choice === 'required') toolChoice = 'REQUIRED'
  else if (typeof choice === 'object') {
    // Forcing one tool = offering only that tool and requiring a call.
    tools = tools?.filter((tool) => tool.name === choice.name)
    toolChoice = 'REQUIRED'
    warnings.push({ type: 'other', message: `tool_choice "${choice.name}" sent as tool_choice REQUIRED with only that tool` })
  }
  if (request.parallelToolCalls === false) unsupported('parallel_tool_calls', 'Cohere may call several tools at once')
  if (tools?.some((tool) => tool.cache)) unsupported('cache_control on tools')
  if (request.user !== undefined) unsupported('user')
  if (request.metadata !== undefined) unsupported('metadata')

  const format = request.responseFormat
  const reasoning = request.reasoning
  let thinking: Json | undefined
  if (reasoning?.budgetTokens !== undefined) thinking = { type: 'enabled', token_budget: reasoning.budgetTokens }
  else if (reasoning?.effort !== undefined) {
    thinking = { type: 'enabled' }
    warnings.push({ type: 'other', message: `reasoning effort "${reasoning.effort}" sent as thinking enabled (Cohere has no effort levels)` })
  }

  const body = defined({
    model: request.model,
    messages,
    documents: documents.length > 0 ? documents : undefined,
    tools: tools?.map(toCohereTool),
    strict_tools: tools?.some((tool) => tool.strict) ? true : undefined,
    tool_choice: toolChoice,
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    p: request.topP,
    k: request.topK,
    stop_sequences: request.stop,
    seed: request.seed,
    presence_penalty: request.presencePenalty,
    frequency_penalty: request.frequencyPenalty,
    response_format: format === undefined ? undefined
      : format.type === 'text' ? { type: 'text' }
        : format.type === 'json' ? { type: 'json_object' }
          : { type: 'json_object', json_schema: format.schema },
    thinking,
    stream: request.stream,
  })
  for (const [key, value] of Object.entries(extraFor('cohere', request, warnings))) if (!(key in body)) body[key] = value
  return body
}

function toCohereTool(tool: ToolDefinition): Json {
  return { type: 'function', function: defined({ name: tool.name, description: tool.description, parameters: tool.parameters ?? { type: 'object', properties: {} } }) }
}

// ---------------------------------------------------------------------------------------------
// Response

const ResponseSchema = v.looseObject({
  id: v.nullish(v.string()),
  finish_reason: v.nullish(v.string()),
  message: v.looseObject({
    content: v.nullish(v.array(v.looseObject({ type: v.string() }))),
    tool_plan: v.nullish(v.string()),
    tool_calls: v.nullish(v.array(v.looseObject({
      id: v.string(),
      function: v.looseObject({ name: v.string(), arguments: v.nullish(v.string()) }),
    }))),
  }),
  usage: v.nullish(v.unknown()),
})
const RESPONSE_KEYS = new Set(['id', 'finish_reason', 'message', 'usage'])
const MESSAGE_KEYS = new Set(['role', 'content', 'tool_plan', 'tool_calls'])

/**
 * Cohere v2 chat response -> IR: `thinking` items as reasoning, `tool_plan` as text before the tool
 * calls, `text` items as text. `citations` (and anything else unmodeled) stay in the message's
 * `extra`; content items of unknown types in `extra.content`. Cohere sends no model name and no
 * creation time: `model` is '' (the surface reports the requested one) and `created` 0.
 */
export function parseCohereChatResponse(json: unknown): ChatResponse {
  const wire = readWire(ResponseSchema, json, 'chat response')
  const message = wire.message
  const content: ContentPart[] = []
  const unknown: unknown[] = []
  if (message.tool_plan) content.push({ type: 'text', text: message.tool_plan })
  for (const item of message.content ?? []) {
    if (item.type === 'text' && typeof item.text === 'string') content.push({ type: 'text', text: item.text })
    else if (item.type === 'thinking' && typeof item.thinking === 'string') content.push({ type: 'reasoning', text: item.thinking })
    else unknown.push(item)
  }
  for (const call of message.tool_calls ?? []) content.push({ type: 'tool-call', id: call.id, name: call.function.name, arguments: call.function.arguments ?? '' })
  const messageExtra: Json = { ...restOf(message, MESSAGE_KEYS), ...(unknown.length > 0 && { content: unknown }) }
  const extra = restOf(wire, RESPONSE_KEYS)
  return {
    id: wire.id ?? '',
    model: '',
    created: 0,
    choices: [{
      index: 0,
      message: { role: 'assistant', content, ...(Object.keys(messageExtra).length > 0 && { extra: messageExtra }) },
      finishReason: mapCohereFinishReason(wire.finish_reason),
    }],
    usage: usageFromCohere(wire.usage),
    dialect: 'cohere',
    ...(extra && { extra }),
  }
}
