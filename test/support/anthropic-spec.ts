import * as v from 'valibot'

/**
 * Request-body rules of Anthropic's Messages API (`POST /v1/messages`) and token counting
 * (`POST /v1/messages/count_tokens`), for the mock upstream to check what the gateway sends.
 *
 * Anthropic publishes no machine-readable schema, so this one is written from the API reference
 * (https://docs.anthropic.com/en/api/messages, .../messages-count-tokens, the tool-use and
 * extended-thinking guides), covering the fields a gateway produces. Objects are strict where
 * the API rejects unknown members ("Extra inputs are not permitted"): the top level, `metadata`,
 * content blocks, sources. Rules that span fields (tool_use/tool_result pairing, thinking budget,
 * block order) are checked in code after the schema.
 *
 * Consecutive messages of the same role are accepted: the API merges them into one turn (the
 * recorded exchanges in fixtures/anthropic/messages-tool-runner.nock.json send `user, user` and
 * got 200). The pairing rules therefore apply to turns, i.e. runs of same-role messages.
 */

/** A string, or an array of `item`: issues inside the array are reported at their own path. */
const stringOr = <T extends v.GenericSchema>(item: T, message: string) =>
  v.lazy((input: unknown) => (typeof input === 'string' ? v.string() : Array.isArray(input) ? v.array(item) : v.string(message)))

const nonEmpty = (what: string) => v.pipe(v.string(), v.minLength(1, `${what} must be non-empty`))
const int = v.pipe(v.number(), v.integer())

const CacheControl = v.strictObject({
  type: v.literal('ephemeral'),
  ttl: v.optional(v.picklist(['5m', '1h'])),
})
const cache = { cache_control: v.optional(v.nullable(CacheControl)) }

const Citation = v.looseObject({ type: v.string() })
const TextBlock = v.strictObject({
  type: v.literal('text'),
  text: nonEmpty('text content blocks'),
  citations: v.optional(v.nullable(v.array(Citation))),
  ...cache,
})

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const
const base64 = v.pipe(v.string(), v.minLength(1, 'data must be non-empty'), v.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'data must be base64 (no data: URL prefix)'))
const ImageBlock = v.strictObject({
  type: v.literal('image'),
  source: v.variant('type', [
    v.strictObject({ type: v.literal('base64'), media_type: v.picklist(IMAGE_TYPES), data: base64 }),
    v.strictObject({ type: v.literal('url'), url: v.pipe(v.string(), v.url()) }),
    v.strictObject({ type: v.literal('file'), file_id: v.string() }),
  ]),
  ...cache,
})

const DocumentBlock = v.strictObject({
  type: v.literal('document'),
  source: v.variant('type', [
    v.strictObject({ type: v.literal('base64'), media_type: v.literal('application/pdf'), data: base64 }),
    v.strictObject({ type: v.literal('text'), media_type: v.literal('text/plain'), data: v.string() }),
    v.strictObject({ type: v.literal('url'), url: v.pipe(v.string(), v.url()) }),
    v.strictObject({ type: v.literal('content'), content: v.union([v.string(), v.array(v.looseObject({ type: v.string() }))]) }),
    v.strictObject({ type: v.literal('file'), file_id: v.string() }),
  ]),
  title: v.optional(v.nullable(v.string())),
  context: v.optional(v.nullable(v.string())),
  citations: v.optional(v.nullable(v.strictObject({ enabled: v.optional(v.boolean()) }))),
  ...cache,
})

const SearchResultBlock = v.strictObject({
  type: v.literal('search_result'),
  source: v.string(),
  title: v.string(),
  content: v.array(TextBlock),
  citations: v.optional(v.strictObject({ enabled: v.optional(v.boolean()) })),
  ...cache,
})

const ToolResultBlock = v.strictObject({
  type: v.literal('tool_result'),
  tool_use_id: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]+$/, 'tool_use_id must match ^[a-zA-Z0-9_-]+$')),
  content: v.optional(stringOr(v.variant('type', [TextBlock, ImageBlock, DocumentBlock, SearchResultBlock], 'tool_result content blocks are text, image, document or search_result'), 'tool_result content must be a string or an array of blocks')),
  is_error: v.optional(v.boolean()),
  ...cache,
})

const ToolUseBlock = v.strictObject({
  type: v.literal('tool_use'),
  id: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]+$/, 'tool_use id must match ^[a-zA-Z0-9_-]+$')),
  name: nonEmpty('tool_use name'),
  input: v.record(v.string(), v.unknown(), 'tool_use input must be an object'),
  ...cache,
})

const ThinkingBlock = v.strictObject({ type: v.literal('thinking'), thinking: v.string(), signature: nonEmpty('thinking signature') })
const RedactedThinkingBlock = v.strictObject({ type: v.literal('redacted_thinking'), data: nonEmpty('redacted_thinking data') })
/** Server tools' blocks: replayed from earlier answers, opaque here. */
const ServerToolUseBlock = v.looseObject({ type: v.literal('server_tool_use'), id: v.string(), name: v.string(), input: v.unknown() })
const WebSearchResultBlock = v.looseObject({ type: v.literal('web_search_tool_result'), tool_use_id: v.string(), content: v.unknown() })

const UserBlock = v.variant('type', [TextBlock, ImageBlock, DocumentBlock, ToolResultBlock, SearchResultBlock], 'user content blocks are text, image, document, tool_result or search_result')
const AssistantBlock = v.variant('type', [TextBlock, ToolUseBlock, ThinkingBlock, RedactedThinkingBlock, ServerToolUseBlock, WebSearchResultBlock], 'assistant content blocks are text, tool_use, thinking, redacted_thinking, server_tool_use or web_search_tool_result')

const Message = v.variant('role', [
  v.strictObject({ role: v.literal('user'), content: stringOr(UserBlock, 'content must be a string or an array of content blocks') }),
  v.strictObject({ role: v.literal('assistant'), content: stringOr(AssistantBlock, 'content must be a string or an array of content blocks') }),
], 'role must be "user" or "assistant" (system prompts go in the top-level `system`)')

const CustomTool = v.strictObject({
  type: v.optional(v.nullable(v.literal('custom'))),
  name: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]{1,128}$/, 'tool name must match ^[a-zA-Z0-9_-]{1,128}$')),
  description: v.optional(v.string()),
  input_schema: v.looseObject({ type: v.literal('object', 'input_schema.type must be "object"'), properties: v.optional(v.nullable(v.record(v.string(), v.unknown()))), required: v.optional(v.nullable(v.array(v.string()))) }),
  strict: v.optional(v.boolean()),
  ...cache,
})
/** Anthropic-defined tools (`web_search_20250305`, `bash_20250124` ...): versioned type plus a name. */
const ServerTool = v.looseObject({ type: v.pipe(v.string(), v.regex(/_\d{8}$/, 'server tool types end in a date')), name: v.string() })
const Tool = v.union([CustomTool, ServerTool])

const disable = { disable_parallel_tool_use: v.optional(v.boolean()) }
const ToolChoice = v.variant('type', [
  v.strictObject({ type: v.literal('auto'), ...disable }),
  v.strictObject({ type: v.literal('any'), ...disable }),
  v.strictObject({ type: v.literal('tool'), name: v.string(), ...disable }),
  v.strictObject({ type: v.literal('none') }),
], 'tool_choice.type must be auto, any, tool or none')

const Thinking = v.variant('type', [
  v.strictObject({ type: v.literal('enabled'), budget_tokens: v.pipe(int, v.minValue(1024, 'thinking.budget_tokens must be >= 1024')) }),
  v.strictObject({ type: v.literal('disabled') }),
  v.strictObject({ type: v.literal('adaptive') }),
])

const System = stringOr(TextBlock, 'system must be a string or an array of text blocks')

const common = {
  model: nonEmpty('model'),
  messages: v.array(Message, 'messages must be an array'),
  system: v.optional(System),
  tools: v.optional(v.array(Tool)),
  tool_choice: v.optional(ToolChoice),
  thinking: v.optional(Thinking),
  /** Accepted as-is: beta and newer request members seen in the recordings. */
  mcp_servers: v.optional(v.array(v.unknown())),
  context_management: v.optional(v.unknown()),
  output_config: v.optional(v.unknown()),
  output_format: v.optional(v.unknown()),
}

const MessagesRequest = v.strictObject({
  ...common,
  max_tokens: v.pipe(int, v.minValue(1, 'max_tokens must be >= 1')),
  metadata: v.optional(v.strictObject({ user_id: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))) })),
  stop_sequences: v.optional(v.array(v.pipe(v.string(), v.check((value) => value.trim().length > 0, 'stop_sequences must not be empty or whitespace')))),
  stream: v.optional(v.boolean()),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  top_p: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  top_k: v.optional(v.pipe(int, v.minValue(0))),
  service_tier: v.optional(v.picklist(['auto', 'standard_only'])),
  container: v.optional(v.unknown()),
  cache_control: v.optional(v.nullable(CacheControl)),
})

const CountTokensRequest = v.strictObject(common)

type Json = Record<string, any>

/** `messages[2].content[0].source`: where an issue is, as the API names it. */
function pathOf(issue: v.BaseIssue<unknown>): string {
  let out = ''
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key)
  }
  return out || '(body)'
}

/** Runs of same-role messages, as the API merges them. */
function turnsOf(messages: Json[]): Array<{ role: string; blocks: Json[]; first: number }> {
  const turns: Array<{ role: string; blocks: Json[]; first: number }> = []
  messages.forEach((message, index) => {
    const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content
    const last = turns.at(-1)
    if (last && last.role === message.role) last.blocks.push(...blocks)
    else turns.push({ role: message.role, blocks: [...blocks], first: index })
  })
  return turns
}

/** Rules across fields that a schema cannot say. */
function crossFieldErrors(body: Json, kind: 'messages' | 'count_tokens'): string[] {
  const errors: string[] = []
  const messages: Json[] = body.messages
  if (messages.length === 0) errors.push('messages: at least one message is required')
  messages.forEach((message, index) => {
    const empty = message.content === '' || (Array.isArray(message.content) && message.content.length === 0)
    if (empty && !(index === messages.length - 1 && message.role === 'assistant')) errors.push(`messages[${index}]: all messages must have non-empty content except for the optional final assistant message`)
  })
  const turns = turnsOf(messages)
  const seen = new Set<string>()
  turns.forEach((turn, position) => {
    const where = `messages[${turn.first}]`
    if (turn.role === 'assistant') {
      const ids = turn.blocks.filter((block) => block.type === 'tool_use').map((block) => block.id as string)
      for (const id of ids) {
        if (seen.has(id)) errors.push(`${where}: tool_use ids must be unique (${id})`)
        seen.add(id)
      }
      const next = turns[position + 1]
      if (next) {
        const answered = new Set(next.blocks.filter((block) => block.type === 'tool_result').map((block) => block.tool_use_id))
        const missing = ids.filter((id) => !answered.has(id))
        if (missing.length > 0) errors.push(`${where}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`)
      }
      return
    }
    const previous = turns[position - 1]
    const called = new Set(previous?.role === 'assistant' ? previous.blocks.filter((block) => block.type === 'tool_use').map((block) => block.id) : [])
    let afterOther = false
    for (const block of turn.blocks) {
      if (block.type !== 'tool_result') {
        afterOther = true
        continue
      }
      if (!called.has(block.tool_use_id)) errors.push(`${where}: unexpected tool_use_id found in tool_result blocks: ${block.tool_use_id}. Each tool_result block must have a corresponding tool_use block in the previous message`)
      if (afterOther) errors.push(`${where}: tool_result blocks must come first in the user turn, before any other content`)
    }
  })

  const tools: Json[] = body.tools ?? []
  const choice = body.tool_choice
  if (choice?.type === 'tool' && !tools.some((tool) => tool.name === choice.name)) errors.push(`tool_choice.name: no tool named ${choice.name}`)
  if (choice && choice.type !== 'none' && tools.length === 0) errors.push('tool_choice: may only be specified while providing tools')
  const names = tools.map((tool) => tool.name)
  if (new Set(names).size !== names.length) errors.push('tools: tool names must be unique')

  if (body.thinking?.type === 'enabled') {
    if (kind === 'messages' && body.thinking.budget_tokens >= body.max_tokens) errors.push('thinking.budget_tokens: must be less than max_tokens')
    if (body.temperature !== undefined && body.temperature !== 1) errors.push('temperature: may only be set to 1 when thinking is enabled')
    if (body.top_k !== undefined) errors.push('top_k: is not compatible with thinking')
    if (body.top_p !== undefined && body.top_p < 0.95) errors.push('top_p: must be between 0.95 and 1 when thinking is enabled')
    if (choice?.type === 'any' || choice?.type === 'tool') errors.push('tool_choice: thinking may not be enabled when tool_choice forces tool use')
    const lastAssistant = [...turns].reverse().find((turn) => turn.role === 'assistant')
    if (lastAssistant && lastAssistant.blocks.some((block) => block.type === 'tool_use')) {
      const first = lastAssistant.blocks[0]?.type
      if (first !== 'thinking' && first !== 'redacted_thinking') errors.push(`messages[${lastAssistant.first}]: when thinking is enabled, a final assistant message with tool_use must start with a thinking block (found ${first})`)
    }
  }
  return errors
}

function validate(schema: v.GenericSchema, body: unknown, kind: 'messages' | 'count_tokens'): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['(body): must be a JSON object']
  const result = v.safeParse(schema, body)
  if (!result.success) return [...new Set(result.issues.map((issue) => `${pathOf(issue)}: ${issue.message}`))].slice(0, 20)
  return crossFieldErrors(body as Json, kind)
}

/** Violations of the Messages API request rules (empty = valid). */
export function validateMessagesRequest(body: unknown): string[] {
  return validate(MessagesRequest, body, 'messages')
}

/** Violations of the count_tokens request rules (empty = valid). */
export function validateCountTokensRequest(body: unknown): string[] {
  return validate(CountTokensRequest, body, 'count_tokens')
}
