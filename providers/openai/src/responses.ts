/**
 * OpenAI Responses API (`POST /v1/responses`) codec, both directions, non-streaming parts.
 * A Responses request rides on the chat IR; what the IR does not model stays in `extra`
 * so a same-dialect encode gives it back. https://platform.openai.com/docs/api-reference/responses
 *
 * Where Responses data lives in the IR:
 * - `instructions` is a leading system message marked `extra.instructions = true`.
 * - Assistant-side items (message, reasoning, function_call) in a row form one assistant message.
 *   Text/refusal parts keep their message item's fields (`id`, `status` ...) in `part.extra.item`;
 *   tool-call parts keep the `fc_` id in `part.extra.id`; reasoning parts keep `id` and
 *   `encrypted_content` in `part.extra`, and `signature` is the `encrypted_content` too.
 * - Input items the IR cannot express (`item_reference`, built-in tool calls ...) become an empty
 *   assistant message whose `extra.responses_item` is the item, written back unchanged.
 * - Non-function tools are `extra.tools_builtin`; other `tool_choice` forms are `extra.tool_choice`.
 */
import {
  extraFor,
  isLocalDialect,
  GatewayError, mapFinishReason, textOf,
  type ChatRequest, type ChatResponse, type ContentPart, type FilePart, type FinishReason, type ImagePart, type Message,
  type ReasoningPart, type ResponseFormat, type Source, type TextPart, type ToolCallPart, type ToolDefinition, type ToolResultPart,
} from '@switchyard/core'
import { toOpenAIResponsesUsage, usageFromOpenAI } from './usage.js'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const bad = (message: string, param: string) => GatewayError.badRequest(message, param)

/** The members of `object` not named in `keys`, or undefined when none are left. */
function rest(object: Json | undefined, keys: readonly string[]): Json | undefined {
  if (!object) return undefined
  let out: Json | undefined
  for (const [key, value] of Object.entries(object)) if (!keys.includes(key)) (out ??= {})[key] = value
  return out
}

function withExtra<T>(target: T, extra: Json | undefined): T {
  if (extra) (target as { extra?: Json }).extra = extra
  return target
}

type Kind = 'string' | 'boolean' | 'number' | 'integer' | 'object'
interface KindOf { string: string; boolean: boolean; number: number; integer: number; object: Json }
const TESTS: Record<Kind, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  boolean: (value) => typeof value === 'boolean',
  number: (value) => typeof value === 'number' && Number.isFinite(value),
  integer: Number.isInteger,
  object: isObject,
}

/** `value` when it is a `kind`, undefined when null or absent; otherwise a 400 naming `param`. */
function optional<K extends Kind>(value: unknown, param: string, kind: K): KindOf[K] | undefined {
  if (value == null) return undefined
  if (!TESTS[kind](value)) throw bad(`${param} must be ${kind === 'integer' || kind === 'object' ? 'an' : 'a'} ${kind}`, param)
  return value as KindOf[K]
}

/** Like `optional`, but absence is a 400 too. */
function required<K extends Kind = 'string'>(value: unknown, param: string, kind: K = 'string' as K): KindOf[K] {
  const out = optional(value, param, kind)
  if (out === undefined) throw bad(`${param} is required`, param)
  return out
}

/** Removes undefined members, so unset optional fields are absent rather than undefined. */
function defined<T extends object>(object: T): T {
  for (const [key, value] of Object.entries(object)) if (value === undefined) delete (object as Json)[key]
  return object
}

/** `data:<type>;base64,<data>` -> base64 source; anything else is a URL. */
function sourceFromUrl(url: string): Source {
  const comma = url.indexOf(',')
  if (url.startsWith('data:') && comma !== -1 && url.slice(0, comma).endsWith(';base64')) {
    return { type: 'base64', mediaType: url.slice(5, comma - 7), data: url.slice(comma + 1) }
  }
  return { type: 'url', url }
}

const dataUrl = (source: { mediaType: string; data: string }) => `data:${source.mediaType};base64,${source.data}`

// ---------------------------------------------------------------- request: wire -> IR

const REQUEST_KEYS = ['model', 'instructions', 'input', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_output_tokens', 'temperature', 'top_p', 'reasoning', 'text', 'user', 'metadata', 'stream']
const EFFORTS = ['minimal', 'low', 'medium', 'high']
type Effort = 'minimal' | 'low' | 'medium' | 'high'

/**
 * Responses API request body -> IR. `model` is the target's model name. Throws
 * `GatewayError.badRequest` (400) with the JSON path of the bad field as `param`.
 */
export function parseResponsesRequest(body: Record<string, unknown>, model: string): ChatRequest {
  const extra = rest(body, REQUEST_KEYS) ?? {}
  const messages: Message[] = []
  const instructions = optional(body.instructions, 'instructions', 'string')
  if (instructions !== undefined) messages.push({ role: 'system', content: [{ type: 'text', text: instructions }], extra: { instructions: true } })
  const input = body.input
  if (typeof input === 'string') messages.push({ role: 'user', content: [{ type: 'text', text: input }] })
  else if (Array.isArray(input)) input.forEach((item, index) => parseItem(item, `input[${index}]`, messages))
  else if (input != null) throw bad('input must be a string or an array of input items', 'input')

  const choice = body.tool_choice
  let toolChoice: ChatRequest['toolChoice']
  if (choice === 'auto' || choice === 'none' || choice === 'required') toolChoice = choice
  else if (isObject(choice) && choice.type === 'function') toolChoice = { type: 'tool', name: required(choice.name, 'tool_choice.name') }
  else if (isObject(choice) && typeof choice.type === 'string') extra.tool_choice = choice
  else if (choice != null) throw bad('tool_choice must be "auto", "none", "required" or a tool choice object', 'tool_choice')

  // Efforts the IR lacks ("none", "xhigh") stay in extra for a same-dialect encode.
  const reasoning = optional(body.reasoning, 'reasoning', 'object')
  const effort = optional(reasoning?.effort, 'reasoning.effort', 'string')
  const known = effort !== undefined && EFFORTS.includes(effort)
  const reasoningRest = rest(reasoning, known || reasoning?.effort === null ? ['effort'] : [])
  if (reasoningRest) extra.reasoning = reasoningRest
  const text = optional(body.text, 'text', 'object')
  const textRest = rest(text, ['format'])
  if (textRest) extra.text = textRest
  const metadata = optional(body.metadata, 'metadata', 'object')
  for (const [key, value] of Object.entries(metadata ?? {})) required(value, `metadata.${key}`)
  const stream = optional(body.stream, 'stream', 'boolean')

  return defined<ChatRequest>({
    model,
    messages,
    tools: parseTools(body.tools, extra),
    toolChoice,
    parallelToolCalls: optional(body.parallel_tool_calls, 'parallel_tool_calls', 'boolean'),
    maxTokens: optional(body.max_output_tokens, 'max_output_tokens', 'integer'),
    temperature: optional(body.temperature, 'temperature', 'number'),
    topP: optional(body.top_p, 'top_p', 'number'),
    responseFormat: text?.format == null ? undefined : parseFormat(text.format),
    reasoning: known ? { effort: effort as Effort } : undefined,
    user: optional(body.user, 'user', 'string'),
    metadata: metadata as Record<string, string> | undefined,
    stream,
    // The Responses API always reports usage in its last event.
    streamUsage: stream ? true : undefined,
    dialect: 'openai-responses',
    extra,
  })
}

/** Function tools -> IR; other tool types (web_search, file_search, mcp ...) -> `extra.tools_builtin`. */
function parseTools(value: unknown, extra: Json): ToolDefinition[] | undefined {
  if (value == null) return undefined
  if (!Array.isArray(value)) throw bad('tools must be an array', 'tools')
  const tools: ToolDefinition[] = []
  const builtin = value.filter((tool: unknown, index) => {
    const path = `tools[${index}]`
    if (!isObject(tool)) throw bad(`${path} must be an object`, path)
    if (required(tool.type, `${path}.type`) !== 'function') return true
    tools.push(withExtra(defined<ToolDefinition>({
      type: 'function',
      name: required(tool.name, `${path}.name`),
      description: optional(tool.description, `${path}.description`, 'string'),
      parameters: optional(tool.parameters, `${path}.parameters`, 'object'),
      strict: optional(tool.strict, `${path}.strict`, 'boolean'),
    }), rest(tool, ['type', 'name', 'description', 'parameters', 'strict'])))
    return false
  })
  if (builtin.length > 0) extra.tools_builtin = builtin
  return tools.length > 0 ? tools : undefined
}

function parseFormat(format: unknown): ResponseFormat {
  if (!isObject(format)) throw bad('text.format must be an object', 'text.format')
  switch (format.type) {
    case 'text': return { type: 'text' }
    case 'json_object': return { type: 'json' }
    case 'json_schema':
      return defined<ResponseFormat>({
        type: 'json-schema',
        name: required(format.name, 'text.format.name'),
        schema: required(format.schema, 'text.format.schema', 'object'),
        strict: optional(format.strict, 'text.format.strict', 'boolean'),
        description: optional(format.description, 'text.format.description', 'string'),
      })
    default: throw bad('text.format.type must be text, json_object or json_schema', 'text.format.type')
  }
}

/** The assistant message assistant-side items join: the last message when it is one. */
function assistantTail(messages: Message[]): Message {
  const last = messages.at(-1)
  if (last?.role === 'assistant' && !last.extra?.responses_item) return last
  const message: Message = { role: 'assistant', content: [] }
  messages.push(message)
  return message
}

function parseItem(item: unknown, path: string, messages: Message[]): void {
  if (!isObject(item)) throw bad(`${path} must be an object`, path)
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined)
  switch (type) {
    case 'message': {
      const role = item.role
      if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
        throw bad(`${path}.role must be user, assistant, system or developer`, `${path}.role`)
      }
      const content = parseContent(item.content, `${path}.content`)
      const others = rest(item, ['role', 'content'])
      if (role !== 'assistant') return void messages.push(withExtra({ role, content }, others))
      if (others) for (const part of content) part.extra = { ...part.extra, item: others }
      return void assistantTail(messages).content.push(...content)
    }
    case 'function_call': {
      const part: ToolCallPart = { type: 'tool-call', id: required(item.call_id, `${path}.call_id`), name: required(item.name, `${path}.name`), arguments: required(item.arguments, `${path}.arguments`) }
      return void assistantTail(messages).content.push(withExtra(part, rest(item, ['type', 'call_id', 'name', 'arguments'])))
    }
    case 'function_call_output': {
      const output = item.output
      let content: ToolResultPart['content']
      if (typeof output === 'string') content = [{ type: 'text', text: output }]
      else if (Array.isArray(output)) {
        content = output.map((part, index) => {
          const parsed = parsePart(part, `${path}.output[${index}]`)
          if (parsed.type === 'refusal') throw bad(`${path}.output[${index}].type must be input_text, input_image or input_file`, `${path}.output[${index}].type`)
          return parsed
        })
      } else throw bad(`${path}.output must be a string or an array of content parts`, `${path}.output`)
      const part: ToolResultPart = { type: 'tool-result', toolCallId: required(item.call_id, `${path}.call_id`), content }
      return void messages.push({ role: 'tool', content: [withExtra(part, rest(item, ['type', 'call_id', 'output']))] })
    }
    case 'reasoning': {
      const summary = item.summary ?? []
      if (!Array.isArray(summary)) throw bad(`${path}.summary must be an array`, `${path}.summary`)
      const texts = summary.map((entry, index) => required(isObject(entry) ? entry.text : undefined, `${path}.summary[${index}].text`))
      const part = defined<ReasoningPart>({ type: 'reasoning', text: texts.join('\n\n'), ...reasoningFromEncrypted(optional(item.encrypted_content, `${path}.encrypted_content`, 'string')) })
      // Several summary parts join into one text; the original array is kept to split them again.
      return void assistantTail(messages).content.push(withExtra(part, rest(item, summary.length > 1 ? ['type'] : ['type', 'summary'])))
    }
    default:
      if (typeof type !== 'string') throw bad(`${path}.type is required`, `${path}.type`)
      messages.push({ role: 'assistant', content: [], extra: { responses_item: item } })
  }
}

function parseContent(content: unknown, path: string): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw bad(`${path} must be a string or an array of content parts`, path)
  return content.map((part, index) => parsePart(part, `${path}[${index}]`))
}

function parsePart(part: unknown, path: string): TextPart | ImagePart | FilePart | Extract<ContentPart, { type: 'refusal' }> {
  if (!isObject(part)) throw bad(`${path} must be an object`, path)
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return withExtra({ type: 'text', text: required(part.text, `${path}.text`) }, rest(part, ['type', 'text']))
    case 'refusal':
      return withExtra({ type: 'refusal', text: required(part.refusal, `${path}.refusal`) }, rest(part, ['type', 'refusal']))
    case 'input_image': {
      let source: Source
      if (typeof part.image_url === 'string') source = sourceFromUrl(part.image_url)
      else if (typeof part.file_id === 'string') source = { type: 'file-id', id: part.file_id }
      else throw bad(`${path} needs an image_url or a file_id`, `${path}.image_url`)
      const image = defined<ImagePart>({ type: 'image', source, detail: optional(part.detail, `${path}.detail`, 'string') })
      return withExtra(image, rest(part, ['type', 'image_url', 'file_id', 'detail']))
    }
    case 'input_file': {
      let source: Source
      let extra = rest(part, ['type', 'file_data', 'file_id', 'file_url', 'filename'])
      const filename = optional(part.filename, `${path}.filename`, 'string')
      if (typeof part.file_data === 'string') {
        source = sourceFromUrl(part.file_data)
        if (source.type === 'url') {
          // Bare base64 without a data: prefix; written back bare.
          source = { type: 'base64', mediaType: filename?.toLowerCase().endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream', data: part.file_data }
          extra = { ...extra, raw_file_data: true }
        }
      } else if (typeof part.file_id === 'string') source = { type: 'file-id', id: part.file_id }
      else if (typeof part.file_url === 'string') source = { type: 'url', url: part.file_url }
      else throw bad(`${path} needs file_data, file_id or file_url`, `${path}.file_data`)
      return withExtra(defined<FilePart>({ type: 'file', source, mediaType: source.type === 'base64' ? source.mediaType : undefined, filename }), extra)
    }
    default:
      throw bad(`${path}.type ${JSON.stringify(part.type)} is not supported`, `${path}.type`)
  }
}

// ---------------------------------------------------------------- request: IR -> wire

const UNSUPPORTED = [['stop', 'stop'], ['seed', 'seed'], ['topK', 'top_k'], ['presencePenalty', 'presence_penalty'], ['frequencyPenalty', 'frequency_penalty']] as const

/** IR -> Responses API request body. Throws a 400 for what the Responses API cannot express. */
export function toResponsesBody(request: ChatRequest): Record<string, unknown> {
  const body: Json = { model: request.model }
  const input: unknown[] = []
  request.messages.forEach((message, index) => {
    if (index === 0 && message.extra?.instructions === true) body.instructions = textOf(message.content)
    else if (message.extra?.responses_item !== undefined) input.push(message.extra.responses_item)
    else encodeMessage(message, `messages[${index}]`, input)
  })
  body.input = input
  return Object.assign(body, settingsOf(request))
}

/** Everything but `model`, `instructions` and `input`; also what a response echoes. */
function settingsOf(request: ChatRequest): Json {
  for (const [name, param] of UNSUPPORTED) {
    if (request[name] !== undefined) throw bad(`${param} is not supported by the Responses API`, param)
  }
  if (request.n !== undefined && request.n !== 1) throw bad('n is not supported by the Responses API', 'n')
  if (request.reasoning?.budgetTokens !== undefined) throw bad('reasoning.budget_tokens is not supported by the Responses API; use reasoning.effort', 'reasoning')
  const { tools_builtin: builtin, ...extra } = extraFor('openai-responses', request, undefined)
  const tools: unknown[] = (request.tools ?? []).map((tool) =>
    defined({ type: 'function', ...tool.extra, name: tool.name, description: tool.description, parameters: tool.parameters, strict: tool.strict }))
  if (Array.isArray(builtin)) tools.push(...builtin)
  const choice = request.toolChoice
  const format = request.responseFormat
  return Object.assign({ ...extra }, defined({
    tools: tools.length > 0 ? tools : undefined,
    tool_choice: choice === undefined || typeof choice === 'string' ? choice : { type: 'function', name: choice.name },
    parallel_tool_calls: request.parallelToolCalls,
    max_output_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    reasoning: request.reasoning?.effort === undefined ? undefined : { ...(extra.reasoning as Json | undefined), effort: request.reasoning.effort },
    text: format === undefined ? undefined : {
      ...(extra.text as Json | undefined),
      format: format.type === 'text' ? { type: 'text' } : format.type === 'json' ? { type: 'json_object' }
        : defined({ type: 'json_schema', name: format.name, schema: format.schema, strict: format.strict, description: format.description }),
    },
    user: request.user,
    metadata: request.metadata,
    stream: request.stream,
  }))
}

/** One IR message -> input items, in order: message items, function calls, outputs, reasoning. */
function encodeMessage(message: Message, path: string, input: unknown[]): void {
  const assistant = message.role === 'assistant'
  let group: unknown[] | undefined
  let groupKey: string | undefined
  message.content.forEach((part, index) => {
    const param = `${path}.content[${index}]`
    switch (part.type) {
      case 'text':
      case 'refusal':
      case 'image':
      case 'file': {
        if (message.role === 'tool') throw bad(`${param}: a tool message may only hold tool results`, param)
        if (assistant && (part.type === 'image' || part.type === 'file')) throw bad(`${param}: assistant messages cannot hold ${part.type}s in the Responses API`, param)
        const item = assistant ? (part.extra?.item as Json | undefined) : undefined
        const key = JSON.stringify(item ?? null)
        if (!group || key !== groupKey) {
          group = []
          groupKey = key
          input.push(assistant ? { ...item, role: 'assistant', content: group } : { ...message.extra, role: message.role, content: group })
        }
        group.push(encodePart(part, assistant))
        return
      }
      case 'tool-call':
        group = undefined
        return void input.push({ type: 'function_call', ...part.extra, call_id: part.id, name: part.name, arguments: part.arguments })
      case 'tool-result': {
        group = undefined
        const plain = part.content.length === 1 && part.content[0]!.type === 'text' && !part.content[0]!.extra
        const output = plain ? textOf(part.content) : part.content.map((inner) => encodePart(inner, false))
        return void input.push({ type: 'function_call_output', ...part.extra, call_id: part.toolCallId, output })
      }
      case 'reasoning': {
        group = undefined
        // Only reasoning that came from the Responses API (it has an rs_ id) can be sent back.
        if (typeof part.extra?.id !== 'string') return
        const encrypted = part.signature ?? part.extra.encrypted_content
        const item: Json = { type: 'reasoning', ...part.extra, summary: summaryOf(part) }
        if (encrypted !== undefined) item.encrypted_content = encrypted
        return void input.push(item)
      }
      case 'audio':
        throw bad(`${param}: audio input is not supported by the Responses API`, param)
      default: {
        const unreachable: never = part
        throw bad(`${param}: unsupported content part ${JSON.stringify((unreachable as { type: unknown }).type)}`, param)
      }
    }
  })
  // A message of one plain text part is written in the short string form.
  const only = message.content[0]
  if (message.content.length === 1 && only!.type === 'text' && !only!.extra && message.role !== 'tool') (input.at(-1) as Json).content = only!.text
}

function encodePart(part: TextPart | ImagePart | FilePart | Extract<ContentPart, { type: 'refusal' }>, assistant: boolean): Json {
  const extra = rest(part.extra, ['item', 'raw_file_data'])
  switch (part.type) {
    case 'text': return { ...extra, type: assistant ? 'output_text' : 'input_text', text: part.text }
    case 'refusal': return { ...extra, type: 'refusal', refusal: part.text }
    case 'image': {
      const source = part.source
      const location = source.type === 'file-id' ? { file_id: source.id } : { image_url: source.type === 'url' ? source.url : dataUrl(source) }
      return defined({ ...extra, type: 'input_image', ...location, detail: part.detail })
    }
    case 'file': {
      const source = part.source
      const location = source.type === 'file-id' ? { file_id: source.id } : source.type === 'url' ? { file_url: source.url }
        : { file_data: part.extra?.raw_file_data === true ? source.data : dataUrl(source) }
      return defined({ ...extra, type: 'input_file', ...location, filename: part.filename })
    }
  }
}

/** The summary array of a reasoning part: the kept original when it still matches the text. */
function summaryOf(part: ReasoningPart): unknown[] {
  const kept = part.extra?.summary
  if (Array.isArray(kept) && kept.map((entry) => (entry as Json).text).join('\n\n') === part.text) return kept
  return part.text === '' ? [] : [{ type: 'summary_text', text: part.text }]
}

// ---------------------------------------------------------------- response: wire -> IR

const RESPONSE_KEYS = ['id', 'object', 'created_at', 'status', 'model', 'output', 'usage', 'incomplete_details']
const INCOMPLETE_REASONS = { max_output_tokens: 'length', content_filter: 'content-filter' } as const

const upstreamError = (message: string) =>
  new GatewayError({ status: 502, code: 'upstream', provider: 'openai', message: `[openai] invalid Responses API response: ${message}` })

/** Finish reason of a Response object; `raw` is its status or incomplete reason. */
function finishOf(status: unknown, incomplete: unknown, calledTools: boolean): FinishReason {
  if (status === 'completed') return { unified: calledTools ? 'tool-calls' : 'stop', raw: 'completed' }
  if (status === 'incomplete') return mapFinishReason(isObject(incomplete) && typeof incomplete.reason === 'string' ? incomplete.reason : 'incomplete', INCOMPLETE_REASONS)
  if (status === 'failed') return { unified: 'error', raw: 'failed' }
  return { unified: 'other', raw: typeof status === 'string' ? status : undefined }
}

/** Responses API Response object -> IR, one choice. Output item ids stay in `part.extra`. */
export function parseResponsesResponse(json: unknown): ChatResponse {
  if (!isObject(json) || !Array.isArray(json.output)) throw upstreamError('expected an object with an output array')
  const content: ContentPart[] = []
  const other: Array<{ index: number; item: unknown }> = []
  json.output.forEach((item, index) => {
    if (!isObject(item)) throw upstreamError(`output[${index}] is not an object`)
    switch (item.type) {
      case 'message': {
        const itemExtra = rest(item, ['type', 'role', 'content'])
        for (const part of Array.isArray(item.content) ? item.content : []) {
          if (!isObject(part)) continue
          const text = part.type === 'output_text' ? part.text : part.type === 'refusal' ? part.refusal : undefined
          if (typeof text !== 'string') continue
          const partExtra = { ...rest(part, ['type', 'text', 'refusal']), ...(itemExtra && { item: itemExtra }) }
          content.push(withExtra({ type: part.type === 'refusal' ? 'refusal' : 'text', text }, Object.keys(partExtra).length > 0 ? partExtra : undefined))
        }
        return
      }
      case 'function_call': {
        const part: ToolCallPart = { type: 'tool-call', id: String(item.call_id ?? item.id ?? ''), name: String(item.name ?? ''), arguments: typeof item.arguments === 'string' ? item.arguments : '' }
        return void content.push(withExtra(part, rest(item, ['type', 'call_id', 'name', 'arguments'])))
      }
      case 'reasoning': {
        const summary = Array.isArray(item.summary) ? item.summary : []
        const part: ReasoningPart = { type: 'reasoning', text: summary.map((entry) => (isObject(entry) && typeof entry.text === 'string' ? entry.text : '')).join('\n\n') }
        if (typeof item.encrypted_content === 'string') Object.assign(part, reasoningFromEncrypted(item.encrypted_content))
        return void content.push(withExtra(part, rest(item, summary.length > 1 ? ['type'] : ['type', 'summary'])))
      }
      default:
        other.push({ index, item })
    }
  })
  const extra = rest(json, RESPONSE_KEYS) ?? {}
  if (other.length > 0) extra.output_other = other
  const response: ChatResponse = {
    id: typeof json.id === 'string' ? json.id : '',
    model: typeof json.model === 'string' ? json.model : '',
    created: typeof json.created_at === 'number' ? json.created_at : 0,
    choices: [{ index: 0, message: { role: 'assistant', content }, finishReason: finishOf(json.status, json.incomplete_details, content.some((part) => part.type === 'tool-call')) }],
    usage: usageFromOpenAI(json.usage),
    dialect: 'openai-responses',
  }
  if (Object.keys(extra).length > 0) response.extra = extra
  return response
}

// ---------------------------------------------------------------- response: IR -> wire

/** Request fields a Response object echoes back, as OpenAI does. */
const ECHOED = ['background', 'conversation', 'max_output_tokens', 'max_tool_calls', 'parallel_tool_calls', 'previous_response_id', 'prompt', 'prompt_cache_key', 'prompt_cache_retention', 'reasoning', 'safety_identifier', 'service_tier', 'store', 'temperature', 'text', 'tool_choice', 'tools', 'top_logprobs', 'top_p', 'truncation', 'user', 'metadata']

/** Response status for an IR finish reason. */
function statusOf(finish: FinishReason): string {
  switch (finish.unified) {
    case 'length':
    case 'content-filter': return 'incomplete'
    case 'error': return 'failed'
    case 'other': return finish.raw === 'cancelled' || finish.raw === 'queued' || finish.raw === 'in_progress' ? finish.raw : 'completed'
    default: return 'completed'
  }
}

/**
 * IR -> Response object (`object: "response"`), as the official SDKs parse it. Keeps a `resp_`
 * id and the item ids found in `part.extra`; `extra` and part extras are written back only for a
 * response decoded from the Responses API (`dialect`). `request` settings are echoed.
 */
export function renderResponsesResponse(response: ChatResponse, options: { model: string; request?: ChatRequest }): Record<string, unknown> {
  const own = isLocalDialect('openai-responses', response.dialect)
  const id = response.id.startsWith('resp_') ? response.id : `resp_${response.id}`
  const choice = response.choices[0]
  const finish = choice?.finishReason ?? { unified: 'other', raw: undefined }
  const status = statusOf(finish)
  const out: Json = {
    id, object: 'response', created_at: response.created, status, background: false, error: null, incomplete_details: null,
    instructions: null, max_output_tokens: null, model: options.model, output: [], parallel_tool_calls: true, previous_response_id: null,
    reasoning: { effort: null, summary: null }, temperature: null, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [],
    top_p: null, truncation: 'disabled', usage: null, user: null, metadata: {},
  }
  const request = options.request
  if (request) {
    const first = request.messages[0]
    if (first?.extra?.instructions === true) out.instructions = textOf(first.content)
    const settings = settingsOf(request)
    for (const key of ECHOED) if (settings[key] !== undefined) out[key] = settings[key]
  }
  if (own && response.extra) for (const [key, value] of Object.entries(response.extra)) if (key !== 'output_other' && !RESPONSE_KEYS.includes(key)) out[key] = value
  const output = renderOutput(choice?.message.content ?? [], id.slice(5), own)
  const other = own ? response.extra?.output_other : undefined
  if (Array.isArray(other)) for (const { index, item } of other as Array<{ index: number; item: Json }>) output.splice(index, 0, item)
  out.output = output
  out.usage = response.usage ? toOpenAIResponsesUsage(response.usage) : null
  if (status === 'incomplete') out.incomplete_details = { reason: finish.unified === 'length' ? 'max_output_tokens' : 'content_filter' }
  if (status === 'failed' && out.error == null) out.error = { code: 'server_error', message: 'The model failed to generate a response.' }
  return out
}

/** Assistant parts -> output items. Consecutive text/refusal parts of one message item share it. */
function renderOutput(parts: readonly ContentPart[], core: string, own: boolean): Json[] {
  const output: Json[] = []
  let message: Json[] | undefined
  let messageKey: string | undefined
  const idOf = (value: unknown, prefix: string) => (typeof value === 'string' && value.length > 0 ? value : `${prefix}_${core}_${output.length}`)
  for (const part of parts) {
    const extra = own ? part.extra : undefined
    switch (part.type) {
      case 'text':
      case 'refusal': {
        const item = extra?.item as Json | undefined
        const key = JSON.stringify(item ?? null)
        if (!message || key !== messageKey) {
          message = []
          messageKey = key
          output.push({ id: idOf(item?.id, 'msg'), type: 'message', status: 'completed', ...item, role: 'assistant', content: message })
        }
        const partExtra = rest(extra, ['item'])
        message.push(part.type === 'text' ? { type: 'output_text', annotations: [], logprobs: [], ...partExtra, text: part.text } : { type: 'refusal', ...partExtra, refusal: part.text })
        break
      }
      case 'tool-call':
        message = undefined
        output.push({ id: idOf(extra?.id, 'fc'), type: 'function_call', status: 'completed', ...extra, arguments: part.arguments, call_id: part.id, name: part.name })
        break
      case 'reasoning': {
        message = undefined
        const item: Json = { id: idOf(extra?.id, 'rs'), type: 'reasoning', ...rest(extra, ['summary', 'encrypted_content']), summary: summaryOf(part) }
        const encrypted = encryptedOf(part) ?? extra?.encrypted_content
        if (encrypted !== undefined) item.encrypted_content = encrypted
        output.push(item)
        break
      }
      default:
        // Images, audio and tool results have no Response output item.
        break
    }
  }
  return output
}

/**
 * Reasoning from another provider rides in a reasoning item's opaque `encrypted_content`: an
 * Anthropic signature as is, redacted thinking behind this prefix, so a client that sends the
 * item back gives the upstream its original block. OpenAI's own values never start with it.
 */
export const REDACTED_REASONING_PREFIX = 'switchyard-redacted:'

/** A reasoning part's opaque value for `encrypted_content`. */
export function encryptedOf(part: ReasoningPart): string | undefined {
  return part.redacted !== undefined ? REDACTED_REASONING_PREFIX + part.redacted : part.signature
}

/** `encrypted_content` -> the reasoning part's `signature` or `redacted` data. */
export function reasoningFromEncrypted(value: string | undefined): Pick<ReasoningPart, 'signature' | 'redacted'> {
  if (value === undefined) return {}
  return value.startsWith(REDACTED_REASONING_PREFIX) ? { redacted: value.slice(REDACTED_REASONING_PREFIX.length) } : { signature: value }
}
