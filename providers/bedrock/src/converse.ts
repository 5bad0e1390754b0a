import { extraFor, localizeRequest, type ChatRequest, type ChatResponse, type Message, type ToolDefinition, type Warning } from '@switchyard/core'
import { CACHE_POINT, parseConverseBlocks, toConverseBlocks, UNMODELED_BLOCKS, type EncodeState } from './converse-content.js'
import { badRequest, CONVERSE_DIALECT, defined, isObject, malformed, mapConverseStopReason, restOf, string, unsupported, usageFromConverse, type Json } from './wire.js'

/**
 * The Bedrock Converse API, both directions: IR `ChatRequest` -> Converse body
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html) and the
 * Converse response -> IR `ChatResponse`. ConverseStream takes the same body.
 */

/** Anthropic Claude on Bedrock (`anthropic.claude-…`, `us.anthropic.claude-…`, ARNs naming it). */
export const isClaude = (model: string) => model.includes('anthropic.claude')
/** Amazon Nova (`amazon.nova-…`, `us.amazon.nova-…`). */
const isNova = (model: string) => model.includes('amazon.nova')

/** Thinking budget per reasoning effort (the same table as the Anthropic provider; 1024 is Claude's minimum). */
export function budgetForEffort(effort: 'minimal' | 'low' | 'medium' | 'high'): number {
  switch (effort) {
    case 'minimal': return 1024
    case 'low': return 2048
    case 'medium': return 8192
    case 'high': return 24576
  }
}

/** Room for the answer itself when `maxTokens` must be raised above a thinking budget. */
const ANSWER_TOKENS = 4096

interface Turn { role: 'user' | 'assistant'; content: Json[] }

/**
 * IR messages -> Converse `system` and `messages`. System and developer messages go to `system`
 * (a warning when one sat inside the conversation); tool messages are user turns of `toolResult`
 * blocks; consecutive turns of one role are joined, as Converse requires alternation.
 */
function toConversation(messages: readonly Message[], state: EncodeState): { system: Json[]; messages: Json[] } {
  const system: Json[] = []
  const turns: Turn[] = []
  messages.forEach((message, index) => {
    const path = `messages[${index}]`
    if (message.name !== undefined) unsupported(state.warnings, 'message name', `${path}: Converse messages have no participant name`)
    if (message.role === 'system' || message.role === 'developer') {
      if (turns.length > 0) state.warnings?.push({ type: 'other', message: `${path}: a ${message.role} message inside the conversation was moved to the Converse system prompt` })
      message.content.forEach((part, partIndex) => {
        if (part.type !== 'text') throw badRequest('Converse system prompts are text only', `${path}.content[${partIndex}]`)
        system.push(...toConverseBlocks(part, `${path}.content[${partIndex}]`, state))
      })
      return
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const content = message.content.flatMap((part, partIndex) => toConverseBlocks(part, `${path}.content[${partIndex}]`, state))
    const last = turns.at(-1)
    if (last?.role === role) last.content.push(...content)
    else turns.push({ role, content })
  })
  return { system, messages: turns.map((turn) => ({ role: turn.role, content: turn.content })) }
}

function toToolSpec(tool: ToolDefinition, index: number, warnings: Warning[] | undefined): Json[] {
  if (tool.strict) unsupported(warnings, 'strict', `tools[${index}]: Converse tool specs have no strict mode`)
  const spec = { toolSpec: defined({ name: tool.name, description: tool.description, inputSchema: { json: tool.parameters ?? { type: 'object', properties: {} } } }) }
  return tool.cache ? [spec, CACHE_POINT] : [spec]
}

const hasToolBlocks = (messages: readonly Json[]) =>
  messages.some((message) => (message.content as Json[]).some((block) => 'toolUse' in block || 'toolResult' in block))

/** `toolConfig`, or undefined when no tools go out. */
function toToolConfig(request: ChatRequest, messages: readonly Json[], warnings: Warning[] | undefined): Json | undefined {
  const tools = request.tools ?? []
  if (request.parallelToolCalls === false) unsupported(warnings, 'parallelToolCalls', 'Converse cannot turn parallel tool calls off')
  if (tools.length === 0) return undefined
  const choice = request.toolChoice
  if (choice === 'none') {
    // Converse has no "none"; leaving the tools out says it exactly, unless the history holds
    // tool blocks, which Converse accepts only with a toolConfig.
    if (!hasToolBlocks(messages)) return undefined
    unsupported(warnings, 'toolChoice', 'Converse has no tool_choice "none"; the tools stay available because the conversation has tool calls')
  }
  const toolChoice = choice === undefined || choice === 'none' ? undefined
    : choice === 'auto' ? { auto: {} }
    : choice === 'required' ? { any: {} }
    : { tool: { name: choice.name } }
  return defined({ tools: tools.flatMap((tool, index) => toToolSpec(tool, index, warnings)), toolChoice })
}

/**
 * IR `ChatRequest` -> Converse body. What Converse cannot express is reported in `warnings`;
 * what it cannot serve (n > 1, audio, URL images, invalid tool arguments) is a 400. `topK` and
 * Claude's thinking go in `additionalModelRequestFields`; `metadata` becomes `requestMetadata`.
 */
export function toConverseBody(source: ChatRequest, warnings?: Warning[]): Record<string, unknown> {
  const request = localizeRequest(source, CONVERSE_DIALECT, warnings)
  const extra = extraFor(CONVERSE_DIALECT, request, warnings)
  if (request.n !== undefined && request.n > 1) throw badRequest(`Bedrock returns one choice per request, not ${request.n}`, 'n')
  if (request.seed !== undefined) unsupported(warnings, 'seed')
  if (request.presencePenalty !== undefined) unsupported(warnings, 'presencePenalty')
  if (request.frequencyPenalty !== undefined) unsupported(warnings, 'frequencyPenalty')
  if (request.user !== undefined) unsupported(warnings, 'user', 'Converse has no end-user field')
  if (request.responseFormat && request.responseFormat.type !== 'text') unsupported(warnings, 'responseFormat', `Converse has no ${request.responseFormat.type} response format`)

  const state: EncodeState = { warnings, documentNames: new Set() }
  const conversation = toConversation(request.messages, state)
  const additional: Json = isObject(extra.additionalModelRequestFields) ? { ...extra.additionalModelRequestFields } : {}
  const claude = isClaude(request.model)

  let maxTokens = request.maxTokens
  const reasoning = request.reasoning
  if (reasoning && (reasoning.budgetTokens !== undefined || reasoning.effort !== undefined)) {
    if (claude) {
      const budget = reasoning.budgetTokens ?? budgetForEffort(reasoning.effort!)
      additional.thinking = { ...(isObject(additional.thinking) ? additional.thinking : {}), type: 'enabled', budget_tokens: budget }
      // Without maxTokens Bedrock applies the model's own limit, which Claude keeps above the budget.
      if (maxTokens !== undefined && maxTokens <= budget) {
        const raised = budget + ANSWER_TOKENS
        warnings?.push({ type: 'other', message: `maxTokens raised from ${maxTokens} to ${raised}: Claude needs it above the thinking budget (${budget})` })
        maxTokens = raised
      }
    } else {
      unsupported(warnings, 'reasoning', `no reasoning setting is known for ${request.model} on Bedrock`)
    }
  }
  if (request.topK !== undefined) {
    if (isNova(request.model)) additional.inferenceConfig = { ...(isObject(additional.inferenceConfig) ? additional.inferenceConfig : {}), topK: request.topK }
    else additional.top_k = request.topK
  }
  const inferenceConfig = defined({
    ...(isObject(extra.inferenceConfig) ? extra.inferenceConfig : {}),
    maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    stopSequences: request.stop,
  })
  const body = defined({
    messages: conversation.messages,
    system: conversation.system.length > 0 ? conversation.system : undefined,
    inferenceConfig: Object.keys(inferenceConfig).length > 0 ? inferenceConfig : undefined,
    toolConfig: toToolConfig(request, conversation.messages, warnings),
    additionalModelRequestFields: Object.keys(additional).length > 0 ? additional : undefined,
    requestMetadata: request.metadata,
  })
  for (const [key, value] of Object.entries(extra)) if (!(key in body) && key !== 'additionalModelRequestFields' && key !== 'inferenceConfig') body[key] = value
  return body
}

const RESPONSE_KEYS = new Set(['output', 'stopReason', 'usage'])

/**
 * Converse response -> IR `ChatResponse` (one choice). Converse names neither the response nor the
 * model and sends no timestamp: `id` and `model` are '' (renderers use the requested model) and
 * `created` is 0. `metrics`, `trace`, `additionalModelResponseFields` ... stay in `extra`.
 */
export function parseConverseResponse(json: unknown, provider = 'bedrock'): ChatResponse {
  if (!isObject(json)) throw malformed(provider, 'not a JSON object')
  const output = isObject(json.output) ? json.output : undefined
  const message = isObject(output?.message) ? output.message : undefined
  if (!message || !Array.isArray(message.content)) throw malformed(provider, 'output.message.content is missing')
  const { parts, unmodeled } = parseConverseBlocks(message.content)
  const extra = restOf(json, RESPONSE_KEYS)
  return {
    id: '',
    model: '',
    created: 0,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: parts, ...(unmodeled.length > 0 && { extra: { [UNMODELED_BLOCKS]: unmodeled } }) },
      finishReason: mapConverseStopReason(string(json.stopReason)),
    }],
    usage: usageFromConverse(json.usage),
    dialect: CONVERSE_DIALECT,
    ...(extra && { extra }),
  }
}
