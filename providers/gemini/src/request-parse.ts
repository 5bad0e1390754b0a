import * as v from 'valibot'
import type { ChatRequest, Message, ResponseFormat, ToolDefinition } from '@switchyard/core'
import { partsFromGemini } from './content.js'
import { fromGeminiSchema } from './schema.js'
import { fail, isObject, PARTS, restOf, setShape, validateWire, type Json } from './wire.js'

/**
 * A Gemini `GenerateContentRequest` body (what `@google/genai` sends) -> IR `ChatRequest`, for
 * the `/genai` surface. https://ai.google.dev/api/generate-content#request-body
 */

const nullish = v.nullish
const int = v.pipe(v.number(), v.integer())

const ContentSchema = v.looseObject({
  role: nullish(v.picklist(['user', 'model', 'function'], 'role must be "user" or "model"')),
  parts: v.array(v.unknown(), 'parts must be an array'),
})

const GenerationConfigSchema = v.looseObject({
  candidateCount: nullish(v.pipe(int, v.minValue(1, 'candidateCount must be at least 1'))),
  stopSequences: nullish(v.array(v.string(), 'stopSequences must be an array of strings')),
  maxOutputTokens: nullish(v.pipe(int, v.minValue(1, 'maxOutputTokens must be at least 1'))),
  temperature: nullish(v.number()),
  topP: nullish(v.number()),
  topK: nullish(v.number()),
  seed: nullish(int),
  presencePenalty: nullish(v.number()),
  frequencyPenalty: nullish(v.number()),
  responseMimeType: nullish(v.string()),
  responseSchema: nullish(v.looseObject({})),
  responseJsonSchema: nullish(v.unknown()),
  thinkingConfig: nullish(v.looseObject({ thinkingBudget: nullish(int), thinkingLevel: nullish(v.string()) })),
})

const RequestSchema = v.looseObject({
  contents: v.array(v.unknown(), 'contents must be an array'),
  systemInstruction: nullish(v.looseObject({ parts: v.array(v.unknown(), 'parts must be an array') }, 'systemInstruction must be a Content object')),
  tools: nullish(v.array(v.unknown(), 'tools must be an array')),
  toolConfig: nullish(v.looseObject({
    functionCallingConfig: nullish(v.looseObject({
      mode: nullish(v.string()),
      allowedFunctionNames: nullish(v.array(v.string(), 'allowedFunctionNames must be an array of strings')),
    })),
  })),
  generationConfig: nullish(GenerationConfigSchema),
})
const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])
const EFFORTS = new Set(['minimal', 'low', 'medium', 'high'])

/** `contents` -> IR messages (see {@link parseGenerateContentRequest}). */
function parseContents(raw: readonly unknown[]): Message[] {
  const out: Message[] = []
  /** Calls not answered yet, per function name: function responses without an id take the first. */
  const open = new Map<string, string[]>()
  raw.forEach((item, index) => {
    const path = `contents[${index}]`
    const wire = validateWire(ContentSchema, item, path)
    const role = wire.role === 'model' ? 'assistant' : 'user'
    const { parts, orphans } = partsFromGemini(wire.parts, {
      side: 'request',
      base: `${path}.parts`,
      calls: { count: 0 },
      onCall: (name, id) => open.set(name, [...(open.get(name) ?? []), id]),
      callIdFor: (name) => open.get(name)?.shift(),
    })
    const first = out.length
    for (const part of parts) {
      const messageRole = role === 'user' && part.type === 'tool-result' ? 'tool' : role
      const last = out.length > first ? out.at(-1) : undefined
      if (last?.role === messageRole) last.content.push(part)
      else out.push({ role: messageRole, content: [part] })
    }
    if (out.length === first) out.push({ role, content: [] })
    const head = out[first]!
    const extra = restOf(wire, new Set(['role', 'parts']))
    if (extra || orphans.length > 0) head.extra = { ...extra, ...(orphans.length > 0 && { [PARTS]: orphans }) }
    setShape(head, { continues: false, ...(wire.role == null && { noRole: true }) })
    for (const message of out.slice(first + 1)) setShape(message, { continues: true })
  })
  return out
}

function parseSystem(system: { parts: unknown[] } & Json): Message {
  const { parts, orphans } = partsFromGemini(system.parts, { side: 'request', base: 'systemInstruction.parts', calls: { count: 0 } })
  parts.forEach((part, index) => {
    if (part.type !== 'text') fail('request', 'systemInstruction accepts text parts only', `systemInstruction.parts[${index}]`)
  })
  const message: Message = { role: 'system', content: parts }
  const extra = restOf(system, new Set(['parts', 'role']))
  if (extra || orphans.length > 0) message.extra = { ...extra, ...(orphans.length > 0 && { [PARTS]: orphans }) }
  if (typeof system.role === 'string') setShape(message, { systemRole: system.role })
  return message
}

/** `tools`: function declarations become IR tools; other tools (`googleSearch`, `codeExecution` ...) travel in `extra.tools_other`. */
function parseTools(tools: readonly unknown[], request: ChatRequest): void {
  const declared: ToolDefinition[] = []
  const others: Json[] = []
  tools.forEach((tool, index) => {
    const path = `tools[${index}]`
    if (!isObject(tool)) fail('request', 'each tool must be an object', path)
    const rest = restOf(tool, new Set(['functionDeclarations']))
    if (rest) others.push(rest)
    if (tool.functionDeclarations == null) return
    if (!Array.isArray(tool.functionDeclarations)) fail('request', 'functionDeclarations must be an array', `${path}.functionDeclarations`)
    tool.functionDeclarations.forEach((raw, position) => {
      const at = `${path}.functionDeclarations[${position}]`
      if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '') fail('request', 'a function declaration needs a name', `${at}.name`)
      const declaration: ToolDefinition = { type: 'function', name: raw.name }
      if (typeof raw.description === 'string') declaration.description = raw.description
      const key = raw.parametersJsonSchema != null ? 'parametersJsonSchema' : raw.parameters != null ? 'parameters' : undefined
      if (key !== undefined) {
        const wire = raw[key]
        if (!isObject(wire)) fail('request', `${key} must be a schema object`, `${at}.${key}`)
        // `parameters` is Gemini's OpenAPI subset, `parametersJsonSchema` already JSON Schema.
        declaration.parameters = key === 'parameters' ? fromGeminiSchema(wire) : wire
        setShape(declaration, { parameters: { key, wire, ir: declaration.parameters } })
      }
      const extra = restOf(raw, new Set(['name', 'description', 'parameters', 'parametersJsonSchema']))
      if (extra) declaration.extra = extra
      declared.push(declaration)
    })
  })
  if (declared.length > 0) request.tools = declared
  if (others.length > 0) request.extra.tools_other = others
}

function parseToolConfig(config: NonNullable<v.InferOutput<typeof RequestSchema>['toolConfig']>, request: ChatRequest): void {
  const calling = config.functionCallingConfig
  const rest = restOf(config, new Set(['functionCallingConfig']))
  const extra: Json = { ...rest }
  if (calling != null) {
    const names = calling.allowedFunctionNames
    const left = restOf(calling, new Set(['mode', 'allowedFunctionNames']))
    if (calling.mode === 'AUTO' && names == null) request.toolChoice = 'auto'
    else if (calling.mode === 'NONE' && names == null) request.toolChoice = 'none'
    else if (calling.mode === 'ANY' && names?.length === 1) request.toolChoice = { type: 'tool', name: names[0]! }
    else if (calling.mode === 'ANY') {
      request.toolChoice = 'required'
      if (names != null) extra.functionCallingConfig = { ...left, allowedFunctionNames: names }
    } else extra.functionCallingConfig = calling
    if (left && extra.functionCallingConfig === undefined) extra.functionCallingConfig = left
  }
  if (Object.keys(extra).length > 0) request.extra.toolConfig = extra
}

const GENERATION_KEYS = new Set(Object.keys(GenerationConfigSchema.entries))

function parseGenerationConfig(config: NonNullable<v.InferOutput<typeof RequestSchema>['generationConfig']>, request: ChatRequest): void {
  setShape(request, { generationConfig: true })
  const extra: Json = { ...restOf(config, GENERATION_KEYS) }
  if (config.candidateCount != null) request.n = config.candidateCount
  if (config.stopSequences != null) request.stop = config.stopSequences
  if (config.maxOutputTokens != null) request.maxTokens = config.maxOutputTokens
  if (config.temperature != null) request.temperature = config.temperature
  if (config.topP != null) request.topP = config.topP
  if (config.topK != null) request.topK = config.topK
  if (config.seed != null) request.seed = config.seed
  if (config.presencePenalty != null) request.presencePenalty = config.presencePenalty
  if (config.frequencyPenalty != null) request.frequencyPenalty = config.frequencyPenalty

  const mime = config.responseMimeType
  let format: ResponseFormat | undefined
  if (mime === 'application/json' && config.responseSchema != null) {
    format = { type: 'json-schema', name: 'response', schema: fromGeminiSchema(config.responseSchema) }
    setShape(request, { responseSchema: { key: 'responseSchema', wire: config.responseSchema, ir: format.schema } })
  } else if (mime === 'application/json' && isObject(config.responseJsonSchema)) {
    format = { type: 'json-schema', name: 'response', schema: config.responseJsonSchema }
    setShape(request, { responseSchema: { key: 'responseJsonSchema', wire: config.responseJsonSchema, ir: format.schema } })
  } else if (mime === 'application/json') format = { type: 'json' }
  else if (mime === 'text/plain' && config.responseSchema == null && config.responseJsonSchema == null) format = { type: 'text' }
  else {
    // Enum output (`text/x.enum`) and the like: Gemini-only.
    for (const key of ['responseMimeType', 'responseSchema', 'responseJsonSchema'] as const) if (config[key] != null) extra[key] = config[key]
  }
  if (format) request.responseFormat = format

  const thinking = config.thinkingConfig
  if (thinking != null) {
    const rest: Json = { ...restOf(thinking, new Set(['thinkingBudget', 'thinkingLevel'])) }
    // 0 (off) and -1 (dynamic) have no IR budget: they stay Gemini's.
    if (thinking.thinkingBudget != null && thinking.thinkingBudget > 0) request.reasoning = { budgetTokens: thinking.thinkingBudget }
    else if (thinking.thinkingBudget != null) rest.thinkingBudget = thinking.thinkingBudget
    if (thinking.thinkingLevel != null && EFFORTS.has(thinking.thinkingLevel.toLowerCase()) && request.reasoning === undefined) {
      request.reasoning = { effort: thinking.thinkingLevel.toLowerCase() as 'minimal' | 'low' | 'medium' | 'high' }
      setShape(request, { thinkingLevel: true })
    } else if (thinking.thinkingLevel != null) rest.thinkingLevel = thinking.thinkingLevel
    if (Object.keys(rest).length > 0) extra.thinkingConfig = rest
  }
  if (Object.keys(extra).length > 0) request.extra.generationConfig = extra
}

/** Options of {@link parseGenerateContentRequest}. */
export interface ParseGenerateContentOptions {
  /** The call came to `:streamGenerateContent` (Gemini says "stream" in the URL, not the body). */
  stream?: boolean
}

/**
 * Gemini `GenerateContentRequest` body -> IR `ChatRequest` for `model` (dialect `gemini`).
 * `systemInstruction` is the first message; a `user` content holding function responses becomes
 * `tool` messages (and a `user` message for its other parts), in order. Function calls without an
 * id get `call_<n>_<name>`, and a function response without one takes the id of the earliest
 * unanswered call of that name. Fields the IR does not model stay in `extra` (`safetySettings`,
 * `cachedContent`, non-function tools in `extra.tools_other`, unmodeled `generationConfig` and
 * `toolConfig` members under those names). Bad input throws a 400 `GatewayError` naming the field.
 */
export function parseGenerateContentRequest(body: Record<string, unknown>, model: string, options: ParseGenerateContentOptions = {}): ChatRequest {
  const wire = validateWire(RequestSchema, body, '')
  const messages: Message[] = []
  if (wire.systemInstruction != null) messages.push(parseSystem(wire.systemInstruction))
  messages.push(...parseContents(wire.contents))
  const request: ChatRequest = { model, messages, dialect: 'gemini', extra: restOf(body, REQUEST_KEYS) ?? {} }
  if (wire.tools != null) parseTools(wire.tools, request)
  if (wire.toolConfig != null) parseToolConfig(wire.toolConfig, request)
  if (wire.generationConfig != null) parseGenerationConfig(wire.generationConfig, request)
  if (options.stream) request.stream = true
  return request
}

