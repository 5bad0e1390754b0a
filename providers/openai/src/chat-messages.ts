import * as v from 'valibot'
import { GatewayError, type ContentPart, type Message, type ReasoningPart, type Role, type Source, type TextPart, type Warning } from '@switchyard/core'
import { fromReasoningDetails, toReasoningDetails } from './reasoning-details.js'
import { defined, restOf, validateWire, type Json } from './wire.js'

/** Chat-completions messages <-> IR messages, both directions. */

const nullish = v.nullish
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const

const ToolCallSchema = v.looseObject({
  id: v.string(),
  type: v.optional(v.literal('function')),
  function: v.looseObject({ name: v.string(), arguments: v.string() }),
})

const MessageSchema = v.looseObject({
  role: v.picklist(ROLES, `role must be one of ${ROLES.join(', ')}`),
  content: nullish(v.union([v.string(), v.array(v.looseObject({}))], 'content must be a string or an array of content parts')),
  name: nullish(v.string()),
  refusal: nullish(v.string()),
  reasoning_content: nullish(v.string()),
  reasoning_details: nullish(v.array(v.unknown())),
  tool_calls: nullish(v.array(ToolCallSchema)),
  tool_call_id: nullish(v.pipe(v.string(), v.minLength(1))),
})

const PART_SCHEMAS = {
  // `type` may be missing on text parts; OpenAI accepts `{text}` alone.
  text: v.looseObject({ type: v.optional(v.literal('text')), text: v.string() }),
  image_url: v.looseObject({ type: v.literal('image_url'), image_url: v.looseObject({ url: v.string(), detail: nullish(v.string()) }) }),
  input_audio: v.looseObject({ type: v.literal('input_audio'), input_audio: v.looseObject({ data: v.string(), format: v.string() }) }),
  file: v.looseObject({ type: v.literal('file'), file: v.looseObject({ file_data: nullish(v.string()), file_id: nullish(v.string()), filename: nullish(v.string()) }) }),
  refusal: v.looseObject({ type: v.literal('refusal'), refusal: v.string() }),
}
type PartType = keyof typeof PART_SCHEMAS
const MESSAGE_KEYS = new Set(Object.keys(MessageSchema.entries))

/** Part types each role may send. */
const PARTS_BY_ROLE: Record<Role, readonly PartType[]> = {
  system: ['text'],
  developer: ['text'],
  user: ['text', 'image_url', 'input_audio', 'file'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
}

// ---------------------------------------------------------------------------------------------
// Request: wire -> IR

/** `data:<type>;base64,<data>` -> base64 source; any other URL -> url source. */
function sourceOf(url: string): Source {
  const comma = url.indexOf(',')
  if (url.startsWith('data:') && comma !== -1) {
    const meta = url.slice(5, comma).split(';')
    if (meta.at(-1) === 'base64') return { type: 'base64', mediaType: meta[0] || 'application/octet-stream', data: url.slice(comma + 1) }
  }
  return { type: 'url', url }
}

export function withExtra<T extends ContentPart>(part: T, extra: Json | undefined): T {
  if (!extra) return part
  // Anthropic's `cache_control` on an OpenAI part (the OpenRouter convention) is the IR cache hint.
  const cache = extra.cache_control as { type?: unknown; ttl?: unknown } | undefined
  if (cache && typeof cache === 'object' && cache.type === 'ephemeral') {
    const { cache_control: _, ...rest } = extra
    part.cache = { type: 'ephemeral', ...(typeof cache.ttl === 'string' && { ttl: cache.ttl }) }
    if (Object.keys(rest).length > 0) part.extra = rest
    return part
  }
  part.extra = extra
  return part
}

/**
 * What an OpenAI-compatible upstream understands beyond OpenAI's own chat completions messages
 * (the presets in compatible.ts set these; OpenAI itself uses the defaults).
 */
export interface ChatMessageOptions {
  /**
   * The upstream reads Anthropic-style `cache_control` on content parts (OpenRouter, which hands it
   * to Anthropic and Gemini models): IR cache hints are sent whatever dialect they came from.
   * Default: only for a request that came in through the OpenAI dialect.
   */
  cacheControl?: boolean
  /**
   * How reasoning of earlier assistant turns goes back: `reasoning_content` text (default; signatures
   * are reported as unsupported), or `reasoning_details` with signatures and redacted data kept
   * (OpenRouter's convention, see reasoning-details.ts).
   */
  reasoningHistory?: 'reasoning_content' | 'reasoning_details'
}

/** IR cache hint -> `cache_control` for an OpenAI-dialect caller's own request (or an upstream that reads it); otherwise a warning (OpenAI has no cache breakpoints). */
function cacheControlOf(part: ContentPart, local: boolean, warnings: Warning[] | undefined): Json | undefined {
  if (!part.cache) return undefined
  if (local) return { cache_control: defined({ type: part.cache.type, ttl: part.cache.ttl }) }
  unsupported(warnings, 'cache_control', 'OpenAI has no prompt-cache breakpoints; it caches prefixes automatically')
  return undefined
}

function parsePart(raw: Json, role: Role, path: string): ContentPart {
  const type = raw.type === undefined && typeof raw.text === 'string' ? 'text' : raw.type
  if (typeof type !== 'string' || !(PARTS_BY_ROLE[role] as readonly string[]).includes(type)) {
    throw GatewayError.badRequest(`Invalid '${path}.type': ${role} messages accept parts of type ${PARTS_BY_ROLE[role].join(', ')}`, `${path}.type`)
  }
  const partType = type as PartType
  // Each part keeps its payload under a member named like its type (`image_url`, `file` ...).
  const extra = restOf(raw, new Set(['type', partType]))
  switch (partType) {
    case 'text':
      return withExtra({ type: 'text', text: validateWire(PART_SCHEMAS.text, raw, path).text }, extra)
    case 'image_url': {
      const image = validateWire(PART_SCHEMAS.image_url, raw, path).image_url
      return withExtra({ type: 'image', source: sourceOf(image.url), ...(image.detail != null && { detail: image.detail }) }, extra)
    }
    case 'input_audio': {
      const audio = validateWire(PART_SCHEMAS.input_audio, raw, path).input_audio
      return withExtra({ type: 'audio', data: audio.data, format: audio.format }, extra)
    }
    case 'file': {
      const file = validateWire(PART_SCHEMAS.file, raw, path).file
      let source: Source
      if (file.file_data != null) {
        const parsed = sourceOf(file.file_data)
        source = parsed.type === 'url' ? { type: 'base64', mediaType: 'application/octet-stream', data: file.file_data } : parsed
      } else if (file.file_id != null) source = { type: 'file-id', id: file.file_id }
      else throw GatewayError.badRequest(`Invalid '${path}.file': one of file_data or file_id is required`, `${path}.file`)
      return withExtra({ type: 'file', source, ...(source.type === 'base64' && { mediaType: source.mediaType }), ...(file.filename != null && { filename: file.filename }) }, extra)
    }
    case 'refusal':
      return withExtra({ type: 'refusal', text: validateWire(PART_SCHEMAS.refusal, raw, path).refusal }, extra)
    default: {
      const unreachable: never = partType
      return unreachable
    }
  }
}

function parseContent(content: string | Json[] | null | undefined, role: Role, path: string): ContentPart[] {
  if (content == null) return []
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  return content.map((part, index) => parsePart(part, role, `${path}[${index}]`))
}

/** One chat-completions message (`messages[index]`) -> IR message; bad input is a 400 naming the field. */
export function parseChatMessage(raw: unknown, index: number): Message {
  const path = `messages[${index}]`
  const message = validateWire(MessageSchema, raw, path)
  const role = message.role
  const extra = restOf(message, MESSAGE_KEYS)
  if (role !== 'assistant' && message.content == null) throw GatewayError.badRequest(`Invalid '${path}.content': ${role} messages need content`, `${path}.content`)
  let content: ContentPart[]
  if (role === 'tool') {
    if (message.tool_call_id == null) throw GatewayError.badRequest(`Missing '${path}.tool_call_id': tool messages must answer a tool call`, `${path}.tool_call_id`)
    content = [{ type: 'tool-result', toolCallId: message.tool_call_id, content: parseContent(message.content, role, `${path}.content`) as TextPart[] }]
  } else if (role === 'assistant') {
    content = []
    // `reasoning_details` carries signatures (see reasoning-details.ts) and wins over the plain text.
    const detailed = fromReasoningDetails(message.reasoning_details)
    if (detailed) content.push(...detailed)
    else if (message.reasoning_content) content.push({ type: 'reasoning', text: message.reasoning_content })
    content.push(...parseContent(message.content, role, `${path}.content`))
    if (message.refusal != null) content.push({ type: 'refusal', text: message.refusal })
    for (const call of message.tool_calls ?? []) {
      content.push(withExtra({ type: 'tool-call', id: call.id, name: call.function.name, arguments: call.function.arguments }, restOf(call, new Set(['id', 'type', 'function']))))
    }
  } else {
    content = parseContent(message.content, role, `${path}.content`)
  }
  // Fields this codec reads only for some roles travel as extra on the others.
  const unread = role === 'tool' ? ['refusal', 'reasoning_content', 'reasoning_details', 'tool_calls'] : role === 'assistant' ? ['tool_call_id'] : ['refusal', 'reasoning_content', 'reasoning_details', 'tool_calls', 'tool_call_id']
  const kept: Json = { ...extra }
  for (const key of unread) if (message[key] != null) kept[key] = message[key]
  return { role, content, ...(message.name != null && { name: message.name }), ...(Object.keys(kept).length > 0 && { extra: kept }) }
}

// ---------------------------------------------------------------------------------------------
// IR -> wire

const toDataURL = (source: { mediaType: string; data: string }) => `data:${source.mediaType};base64,${source.data}`
export const unsupported = (warnings: Warning[] | undefined, feature: string, details?: string) => warnings?.push({ type: 'unsupported', feature, details })

/** One IR part -> OpenAI content part, or undefined (with a warning) when chat completions cannot say it. */
function toWirePart(part: ContentPart, role: Role, warnings: Warning[] | undefined, local: boolean): Json | undefined {
  const extra = { ...part.extra, ...cacheControlOf(part, local, warnings) }
  switch (part.type) {
    case 'text': return { type: 'text', text: part.text, ...extra }
    case 'refusal': return { type: 'refusal', refusal: part.text, ...extra }
    case 'image':
      if (part.source.type === 'file-id') return void unsupported(warnings, 'image file id', 'chat completions takes images as URLs or data URLs')
      return { type: 'image_url', image_url: defined({ url: part.source.type === 'url' ? part.source.url : toDataURL(part.source), detail: part.detail }), ...extra }
    case 'audio': return { type: 'input_audio', input_audio: { data: part.data, format: part.format }, ...extra }
    case 'file': {
      const file = part.source.type === 'file-id' ? { file_id: part.source.id } : part.source.type === 'base64' ? { file_data: toDataURL(part.source) } : undefined
      if (!file) return void unsupported(warnings, 'file URL', 'chat completions takes files as file_data or file_id')
      return { type: 'file', file: defined({ ...file, filename: part.filename }), ...extra }
    }
    case 'tool-call':
    case 'tool-result':
    case 'reasoning':
      return void unsupported(warnings, `${part.type} part in a ${role} message`)
    default: {
      const unreachable: never = part
      return unreachable
    }
  }
}

/** A single plain text part becomes a string, as the SDKs send it; anything else stays an array. */
function toWireContent(parts: Json[]): string | Json[] {
  const [first] = parts
  if (parts.length === 1 && first!.type === 'text' && Object.keys(first!).length === 2) return first!.text as string
  return parts
}

/**
 * One IR message -> chat-completions messages: tool results become `tool` messages of their own;
 * what chat completions cannot say is left out with a warning.
 */
/**
 * One IR message -> OpenAI messages. `local`: the request came from the OpenAI dialect, so its
 * cache hints go back as `cache_control`; `options`: what the upstream understands beyond OpenAI.
 */
export function toChatMessages(message: Message, warnings: Warning[] | undefined, local = true, options: ChatMessageOptions = {}): Json[] {
  // An upstream that reads cache_control gets the hints whatever their source.
  if (options.cacheControl) local = true
  const detailed = options.reasoningHistory === 'reasoning_details'
  const head = defined({ role: message.role, name: message.name })
  const extra = message.extra ?? {}
  const out: Json[] = []
  const parts: Json[] = []
  if (message.role === 'assistant') {
    const reasoning = message.content.filter((part): part is ReasoningPart => part.type === 'reasoning')
    const calls: Json[] = []
    let refusal: string | undefined
    for (const part of message.content) {
      if (part.type === 'tool-call') calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments }, ...part.extra })
      else if (part.type === 'refusal' && !part.extra && refusal === undefined) refusal = part.text
      else if (part.type === 'reasoning') { if ((part.signature || part.redacted) && !detailed) unsupported(warnings, 'reasoning signature') }
      else { const wire = toWirePart(part, 'assistant', warnings, local); if (wire) parts.push(wire) }
    }
    const reasoningText = reasoning.map((part) => part.text).join('')
    const details = detailed && reasoning.length > 0 ? toReasoningDetails(reasoning, { always: true }) : undefined
    out.push({
      ...head,
      content: parts.length === 0 ? null : toWireContent(parts),
      ...(refusal !== undefined && { refusal }),
      ...(calls.length > 0 && { tool_calls: calls }),
      ...(details ? { reasoning_details: details } : reasoningText && { reasoning_content: reasoningText }),
      ...extra,
    })
    return out
  }
  for (const part of message.content) {
    if (part.type === 'tool-result') {
      const content: Json[] = []
      for (const item of part.content) {
        if (item.type === 'text') content.push({ type: 'text', text: item.text, ...item.extra, ...cacheControlOf(item, local, warnings) })
        else unsupported(warnings, `${item.type} in a tool result`, 'chat completions tool messages carry text only')
      }
      if (part.isError) unsupported(warnings, 'tool-result isError')
      out.push({ role: 'tool', tool_call_id: part.toolCallId, content: content.length === 0 ? '' : toWireContent(content), ...part.extra, ...extra })
    } else {
      const wire = toWirePart(part, message.role, warnings, local)
      if (wire) parts.push(wire)
    }
  }
  if (message.role === 'tool' && parts.length > 0) unsupported(warnings, 'content outside a tool result in a tool message')
  if (message.role !== 'tool' && (parts.length > 0 || out.length === 0)) out.push({ ...head, content: toWireContent(parts), ...extra })
  return out
}

