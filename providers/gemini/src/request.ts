import { extraFor, GatewayError, localizeRequest, type ChatRequest, type Message, type ToolDefinition, type Warning } from '@switchyard/core'
import { partsToGemini, type EncodeOptions } from './content.js'
import { toGeminiSchema } from './schema.js'
import { defined, isObject, mergeExtra, PARTS, shapeOf, SYNTHETIC, unsupported, unsupportedOnce, type Json } from './wire.js'

/**
 * IR `ChatRequest` -> the body of `POST /models/{model}:generateContent` (and
 * `:streamGenerateContent`, same body). https://ai.google.dev/api/generate-content
 */

/**
 * `thinkingBudget` for an IR reasoning effort. 128 is the smallest budget every thinking model
 * takes (Gemini 2.5 Pro cannot turn thinking off); the others match the Anthropic codec's budgets.
 */
export function thinkingBudgetForEffort(effort: 'minimal' | 'low' | 'medium' | 'high'): number {
  switch (effort) {
    case 'minimal': return 128
    case 'low': return 1024
    case 'medium': return 8192
    case 'high': return 24576
  }
}

/** Every tool call id of the conversation -> its function name (function responses name the function). */
export function toolNamesOf(messages: readonly Message[]): Map<string, string> {
  const names = new Map<string, string>()
  for (const message of messages) for (const part of message.content) if (part.type === 'tool-call') names.set(part.id, part.name)
  return names
}

interface Content {
  role: 'user' | 'model'
  parts: Json[]
  fields: Json
  hasToolResults: boolean
  noRole: boolean
}

/**
 * IR messages -> `systemInstruction` and `contents`. System and developer messages go to
 * `systemInstruction`. Tool messages are `user` contents of function responses, joined with the
 * user content around them (Gemini wants all responses to one turn's calls in one content); other
 * consecutive messages stay separate contents, as a Gemini caller sent them.
 */
function toContents(messages: readonly Message[], options: EncodeOptions): { system: Json | undefined; contents: Json[] } {
  let system: Json | undefined
  const contents: Content[] = []
  messages.forEach((message, index) => {
    const path = `messages[${index}]`
    const shape = shapeOf(message)
    if (message.name !== undefined) unsupported(options.warnings, 'message name', `${path}: Gemini contents have no participant name`)
    const fields = { ...message.extra }
    for (const key of SYNTHETIC) delete fields[key]
    const verbatim = Array.isArray(message.extra?.[PARTS]) ? (message.extra[PARTS] as Json[]) : []
    if (message.role === 'system' || message.role === 'developer') {
      const bad = message.content.findIndex((part) => part.type !== 'text')
      if (bad !== -1) throw GatewayError.badRequest(`Invalid '${path}.content[${bad}]': Gemini system instructions are text only`, `${path}.content[${bad}]`)
      if (contents.length > 0) options.warnings?.push({ type: 'other', message: `${path}: a ${message.role} message inside the conversation was moved to systemInstruction` })
      const parts = partsToGemini(message.content, `${path}.content`, options)
      if (system === undefined) system = { parts, ...(shape?.systemRole !== undefined && { role: shape.systemRole }), ...fields }
      else system.parts = [...(system.parts as Json[]), ...parts]
      return
    }
    const parts = [...partsToGemini(message.content, `${path}.content`, options), ...verbatim]
    // Every part was left out (with a warning): Gemini refuses a content without parts.
    if (parts.length === 0 && message.content.length > 0) return
    const role = message.role === 'assistant' ? 'model' : 'user'
    const last = contents.at(-1)
    const isTool = message.role === 'tool'
    const join = shape?.continues !== undefined
      ? shape.continues
      : last?.role === 'user' && role === 'user' && (isTool || last.hasToolResults)
    if (last && join && last.role === role) {
      last.parts.push(...parts)
      Object.assign(last.fields, fields)
      last.hasToolResults ||= isTool
    } else contents.push({ role, parts, fields, hasToolResults: isTool, noRole: shape?.noRole === true })
  })
  return {
    system,
    contents: contents.map((content) => (content.noRole ? { parts: content.parts, ...content.fields } : { parts: content.parts, role: content.role, ...content.fields })),
  }
}

/** Tool schema -> Gemini `parameters` (the caller's own spelling when it was Gemini's). */
function toDeclaration(tool: ToolDefinition, index: number, warnings: Warning[] | undefined): Json {
  const path = `tools[${index}]`
  const declaration: Json = defined({ name: tool.name, description: tool.description })
  const shape = shapeOf(tool)?.parameters
  if (shape && shape.ir === tool.parameters) declaration[shape.key] = shape.wire
  else if (tool.parameters !== undefined) {
    const { schema, dropped } = toGeminiSchema(tool.parameters)
    declaration.parameters = schema
    if (dropped.length > 0) unsupported(warnings, 'tool parameters schema', `${path} (${tool.name}): Gemini function schemas have no ${dropped.join('; ')}`)
  }
  if (tool.strict) unsupported(warnings, 'strict', `${path} (${tool.name}): Gemini does not guarantee schema-exact function arguments`)
  if (tool.cache) unsupportedOnce(warnings, 'cache_control', `${path} (${tool.name}): Gemini caches prompts implicitly (or through cachedContent); cache hints are left out`)
  return mergeExtra(declaration, tool.extra)
}

function toToolConfig(request: ChatRequest): Json | undefined {
  const choice = request.toolChoice
  if (choice === undefined) return undefined
  if (typeof choice === 'object') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } }
  const mode = choice === 'auto' ? 'AUTO' : choice === 'none' ? 'NONE' : 'ANY'
  return { functionCallingConfig: { mode } }
}

function toGenerationConfig(request: ChatRequest, extra: Json, warnings: Warning[] | undefined): Json {
  const config: Json = defined({
    candidateCount: request.n,
    stopSequences: request.stop,
    maxOutputTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    topK: request.topK,
    seed: request.seed,
    presencePenalty: request.presencePenalty,
    frequencyPenalty: request.frequencyPenalty,
  })
  const format = request.responseFormat
  if (format?.type === 'json' || format?.type === 'json-schema') config.responseMimeType = 'application/json'
  if (format?.type === 'json-schema') {
    const shape = shapeOf(request)?.responseSchema
    if (shape && shape.ir === format.schema) config[shape.key] = shape.wire
    else {
      const { schema, dropped } = toGeminiSchema(format.schema)
      if (format.description !== undefined && schema.description === undefined) schema.description = format.description
      config.responseSchema = schema
      if (dropped.length > 0) unsupported(warnings, 'response schema', `Gemini response schemas have no ${dropped.join('; ')}`)
    }
  }
  const reasoning = request.reasoning
  if (reasoning?.budgetTokens !== undefined || reasoning?.effort !== undefined) {
    const thinking: Json = {}
    if (reasoning.budgetTokens !== undefined) thinking.thinkingBudget = reasoning.budgetTokens
    else if (shapeOf(request)?.thinkingLevel) thinking.thinkingLevel = reasoning.effort
    else thinking.thinkingBudget = thinkingBudgetForEffort(reasoning.effort!)
    // A caller of another dialect that asks for reasoning gets it back, as from Anthropic.
    if (request.dialect !== 'gemini') thinking.includeThoughts = true
    config.thinkingConfig = thinking
  }
  return mergeExtra(config, isObject(extra.generationConfig) ? extra.generationConfig : undefined)
}

/** Top-level `extra` members the encoder places itself. */
const HANDLED = new Set(['generationConfig', 'toolConfig', 'tools_other'])

/**
 * IR chat request -> Gemini `GenerateContentRequest` body. Unsupported fields are reported in
 * `warnings`; tool calls of the conversation give function responses their names (a response to
 * an unknown call is a 400).
 */
export function toGenerateContentBody(source: ChatRequest, warnings?: Warning[]): Json {
  const request = localizeRequest(source, 'gemini', warnings)
  const extra = extraFor('gemini', request, warnings)
  const options: EncodeOptions = { mode: 'request', warnings, names: toolNamesOf(request.messages), keepIds: request.dialect === 'gemini' }
  const { system, contents } = toContents(request.messages, options)
  const body: Json = { contents }
  if (system) body.systemInstruction = system

  const declarations = (request.tools ?? []).map((tool, index) => toDeclaration(tool, index, warnings))
  const others = Array.isArray(extra.tools_other) ? (extra.tools_other as Json[]) : []
  if (declarations.length > 0 || others.length > 0) body.tools = [...(declarations.length > 0 ? [{ functionDeclarations: declarations }] : []), ...others]
  const toolConfig = mergeExtra(toToolConfig(request) ?? {}, isObject(extra.toolConfig) ? extra.toolConfig : undefined)
  if (Object.keys(toolConfig).length > 0) body.toolConfig = toolConfig
  if (request.parallelToolCalls === false) unsupported(warnings, 'parallel_tool_calls', 'Gemini has no switch for parallel function calls')

  const generationConfig = toGenerationConfig(request, extra, warnings)
  if (Object.keys(generationConfig).length > 0 || shapeOf(request)?.generationConfig) body.generationConfig = generationConfig
  if (request.user !== undefined) unsupported(warnings, 'user', 'Gemini has no end-user id')
  if (request.metadata !== undefined) unsupported(warnings, 'metadata', 'Gemini has no request metadata')
  return mergeExtra(body, extra, HANDLED)
}
