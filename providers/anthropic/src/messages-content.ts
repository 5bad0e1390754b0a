import * as v from 'valibot'
import { GatewayError, type CacheHint, type ContentPart, type FilePart, type ImagePart, type Source, type TextPart, type Warning } from '@switchyard/core'

/**
 * Anthropic content blocks <-> IR content parts, both directions, and the small wire helpers the
 * Messages codec shares (validation with `param` paths, pass-through of unmodeled members).
 * https://docs.anthropic.com/en/api/messages
 */

export type Json = Record<string, unknown>
export type Side = 'request' | 'response'

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Request input is the caller's fault (400 naming the field); a bad upstream body is a 502. */
export function fail(side: Side, message: string, param: string | undefined): never {
  if (side === 'request') throw GatewayError.badRequest(param ? `Invalid '${param}': ${message}` : message, param)
  throw new GatewayError({ status: 502, code: 'upstream', message: `[anthropic] malformed response from upstream${param ? ` at '${param}'` : ''}: ${message}` })
}

/** Validates `value` against a valibot wire schema; a failure names the bad field's path under `base`. */
export function validateWire<S extends v.GenericSchema>(schema: S, value: unknown, base: string, side: Side = 'request'): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (result.success) return result.output
  const issue = result.issues[0]
  let param = base
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    param += typeof key === 'number' ? `[${key}]` : param ? `.${String(key)}` : String(key)
  }
  return fail(side, issue.message, param || undefined)
}

/** The members of `object` whose names are not in `known`, or undefined when there are none. */
export function restOf(object: Json, known: ReadonlySet<string>): Json | undefined {
  let rest: Json | undefined
  for (const key of Object.keys(object)) if (!known.has(key)) (rest ??= {})[key] = object[key]
  return rest
}

/** Copies defined values only, so no `undefined` member reaches the wire. */
export function defined(object: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value
  return out
}

// ---------------------------------------------------------------------------------------------
// Wire spelling the IR does not distinguish

/**
 * How an Anthropic body spelled something that means the same either way: `content` as a string
 * or as one text block, two consecutive same-role turns (Anthropic joins them), a `system` entry
 * inside `messages`, an explicit `type: "custom"` tool, the order of custom and server tools.
 * Kept beside the IR objects (not in `extra`, where other dialects' encoders would copy it onto
 * their wire) so an Anthropic encode of an Anthropic-parsed request is byte-for-byte the same
 * body. A copied IR object has no entry and gets the canonical spelling.
 */
export interface WireShape {
  stringContent?: boolean
  separateTurn?: boolean
  inMessages?: boolean
  customType?: boolean
  toolOrder?: ReadonlyArray<'custom' | 'server'>
}
const shapes = new WeakMap<object, WireShape>()
export const shapeOf = (target: object): WireShape | undefined => shapes.get(target)
export function setShape(target: object, shape: WireShape): void {
  shapes.set(target, { ...shapes.get(target), ...shape })
}

/**
 * Blocks the IR has no part for (server tool use and results, search results, container uploads,
 * future types) are kept verbatim: in the extra of the next modeled part, of the last one when
 * they trail, or of the message / tool result when it has no modeled part at all.
 */
export const BLOCKS_BEFORE = 'anthropic_blocks_before'
export const BLOCKS_AFTER = 'anthropic_blocks_after'
export const BLOCKS = 'anthropic_blocks'
const SYNTHETIC = new Set([BLOCKS_BEFORE, BLOCKS_AFTER, BLOCKS])

// ---------------------------------------------------------------------------------------------
// Wire -> IR

const nullish = v.nullish
const CacheSchema = v.looseObject({ type: v.literal('ephemeral', 'cache_control.type must be "ephemeral"'), ttl: nullish(v.string()) })
const ImageSourceSchema = v.variant('type', [
  v.looseObject({ type: v.literal('base64'), media_type: v.string(), data: v.string() }),
  v.looseObject({ type: v.literal('url'), url: v.string() }),
  v.looseObject({ type: v.literal('file'), file_id: v.string() }),
], 'image source type must be "base64", "url" or "file"')
const DocumentSourceSchema = v.variant('type', [
  v.looseObject({ type: v.literal('base64'), media_type: v.string(), data: v.string() }),
  v.looseObject({ type: v.literal('text'), media_type: v.string(), data: v.string() }),
  v.looseObject({ type: v.literal('url'), url: v.string() }),
  v.looseObject({ type: v.literal('file'), file_id: v.string() }),
  v.looseObject({ type: v.literal('content'), content: v.union([v.string(), v.array(v.looseObject({}))], 'content must be a string or an array of blocks') }),
], 'document source type must be "base64", "text", "url", "file" or "content"')

const BLOCK_SCHEMAS = {
  text: v.looseObject({ text: v.string('text must be a string') }),
  image: v.looseObject({ source: ImageSourceSchema }),
  document: v.looseObject({ source: DocumentSourceSchema }),
  tool_use: v.looseObject({ id: v.string(), name: v.string(), input: v.unknown() }),
  tool_result: v.looseObject({
    tool_use_id: v.string(),
    content: v.optional(v.union([v.string(), v.array(v.unknown())], 'content must be a string or an array of blocks')),
    is_error: nullish(v.boolean()),
  }),
  thinking: v.looseObject({ thinking: v.string(), signature: v.string() }),
  redacted_thinking: v.looseObject({ data: v.string() }),
}
type BlockType = keyof typeof BLOCK_SCHEMAS
const MODELED = new Set(Object.keys(BLOCK_SCHEMAS))

/** Where a list of blocks sits: which modeled types it may hold (others are an error there). */
export interface BlockContext {
  side: Side
  allowed: ReadonlySet<string>
  /** For messages: "user messages", "tool_result content" ... */
  name: string
}
export const USER_BLOCKS = new Set(['text', 'image', 'document', 'tool_result'])
export const ASSISTANT_BLOCKS = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use'])
const TOOL_RESULT_BLOCKS = new Set(['text', 'image', 'document'])

/** UTF-8 text -> base64 (Web APIs only). */
export function base64OfText(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (let index = 0; index < bytes.length; index += 0x8000) binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000))
  return btoa(binary)
}

/** base64 -> UTF-8 text, or undefined when it is not base64. */
export function textOfBase64(data: string): string | undefined {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(data), (char) => char.charCodeAt(0)))
  } catch {
    return undefined
  }
}

function withExtra<T extends ContentPart>(part: T, block: Json, known: string[]): T {
  const extra = restOf(block, new Set(known))
  if (extra) part.extra = { ...part.extra, ...extra }
  return part
}

/** A `cache_control` object -> IR cache hint. */
export function parseCacheControl(value: unknown, path: string, side: Side): CacheHint {
  const cache = validateWire(CacheSchema, value, path, side)
  return cache.ttl == null ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: cache.ttl }
}

/** `cache_control` -> part.cache; a null stays in extra (it is spelled, so it round trips). */
function withCache<T extends ContentPart>(part: T, block: Json, path: string, side: Side, known: string[]): T {
  if (block.cache_control != null) {
    part.cache = parseCacheControl(block.cache_control, `${path}.cache_control`, side)
    known.push('cache_control')
  }
  return withExtra(part, block, known)
}

function parseDocument(block: Json, path: string, side: Side): FilePart {
  const source = validateWire(BLOCK_SCHEMAS.document, block, path, side).source
  let part: FilePart
  switch (source.type) {
    case 'base64':
      part = { type: 'file', source: { type: 'base64', mediaType: source.media_type, data: source.data }, mediaType: source.media_type }
      break
    case 'text':
      part = { type: 'file', source: { type: 'base64', mediaType: source.media_type, data: base64OfText(source.data) }, mediaType: source.media_type }
      break
    // Anthropic fetches only PDFs by URL.
    case 'url':
      part = { type: 'file', source: { type: 'url', url: source.url }, mediaType: 'application/pdf' }
      break
    case 'file':
      part = { type: 'file', source: { type: 'file-id', id: source.file_id } }
      break
    case 'content': {
      // Custom-content documents: other dialects see their text; an Anthropic encode uses the source verbatim.
      const text = typeof source.content === 'string' ? source.content
        : source.content.map((item) => (item.type === 'text' && typeof item.text === 'string' ? item.text : '')).filter(Boolean).join('\n')
      part = { type: 'file', source: { type: 'base64', mediaType: 'text/plain', data: base64OfText(text) }, mediaType: 'text/plain', extra: { source } }
      break
    }
  }
  return withCache(part, block, path, side, ['type', 'source'])
}

function parseImageSource(block: Json, path: string, side: Side): Source {
  const source = validateWire(BLOCK_SCHEMAS.image, block, path, side).source
  if (source.type === 'base64') return { type: 'base64', mediaType: source.media_type, data: source.data }
  if (source.type === 'url') return { type: 'url', url: source.url }
  return { type: 'file-id', id: source.file_id }
}

/** One modeled block (type already checked) -> IR part. */
function parseBlock(block: Json, type: BlockType, path: string, side: Side): ContentPart {
  switch (type) {
    case 'text':
      return withCache({ type: 'text', text: validateWire(BLOCK_SCHEMAS.text, block, path, side).text }, block, path, side, ['type', 'text'])
    case 'image':
      return withCache({ type: 'image', source: parseImageSource(block, path, side) } satisfies ImagePart, block, path, side, ['type', 'source'])
    case 'document':
      return parseDocument(block, path, side)
    case 'tool_use': {
      const wire = validateWire(BLOCK_SCHEMAS.tool_use, block, path, side)
      if (side === 'request' && !isObject(wire.input)) fail(side, 'input must be an object', `${path}.input`)
      return withCache({ type: 'tool-call', id: wire.id, name: wire.name, arguments: JSON.stringify(wire.input ?? {}) }, block, path, side, ['type', 'id', 'name', 'input'])
    }
    case 'tool_result': {
      const wire = validateWire(BLOCK_SCHEMAS.tool_result, block, path, side)
      const part: ContentPart = { type: 'tool-result', toolCallId: wire.tool_use_id, content: [] }
      if (typeof wire.content === 'string') {
        part.content = [{ type: 'text', text: wire.content }]
        setShape(part, { stringContent: true })
      } else if (wire.content !== undefined) {
        const { parts, orphans } = parseBlocks(wire.content, `${path}.content`, { side, allowed: TOOL_RESULT_BLOCKS, name: 'tool_result content' })
        part.content = parts as Array<TextPart | ImagePart | FilePart>
        if (orphans.length > 0) part.extra = { [BLOCKS]: orphans }
        setShape(part, { stringContent: false })
      }
      const known = ['type', 'tool_use_id', 'content']
      if (wire.is_error != null) {
        part.isError = wire.is_error
        known.push('is_error')
      }
      return withCache(part, block, path, side, known)
    }
    case 'thinking': {
      const wire = validateWire(BLOCK_SCHEMAS.thinking, block, path, side)
      return withExtra({ type: 'reasoning', text: wire.thinking, signature: wire.signature }, block, ['type', 'thinking', 'signature'])
    }
    case 'redacted_thinking':
      return withExtra({ type: 'reasoning', text: '', redacted: validateWire(BLOCK_SCHEMAS.redacted_thinking, block, path, side).data }, block, ['type', 'data'])
    default: {
      const unreachable: never = type
      return unreachable
    }
  }
}

/**
 * A list of blocks (`messages[i].content`, tool_result content, response content) -> IR parts in
 * order. Unmodeled blocks ride in part extra (see `BLOCKS_BEFORE`); `orphans` are those left
 * when there is no modeled part to carry them.
 */
export function parseBlocks(blocks: readonly unknown[], base: string, context: BlockContext): { parts: ContentPart[]; orphans: Json[] } {
  const parts: ContentPart[] = []
  let pending: Json[] = []
  blocks.forEach((block, index) => {
    const path = `${base}[${index}]`
    if (!isObject(block)) return fail(context.side, 'each content block must be an object', path)
    if (typeof block.type !== 'string') return fail(context.side, 'type must be a string', `${path}.type`)
    if (!MODELED.has(block.type)) {
      pending.push(block)
      return
    }
    if (!context.allowed.has(block.type)) return fail(context.side, `${context.name} cannot contain ${block.type} blocks`, `${path}.type`)
    const part = parseBlock(block, block.type as BlockType, path, context.side)
    if (pending.length > 0) {
      part.extra = { ...part.extra, [BLOCKS_BEFORE]: pending }
      pending = []
    }
    parts.push(part)
  })
  const last = parts.at(-1)
  if (last && pending.length > 0) {
    last.extra = { ...last.extra, [BLOCKS_AFTER]: pending }
    pending = []
  }
  return { parts, orphans: pending }
}

/** System text (top-level `system` or a `system` entry of `messages`): a string or text blocks. */
export function parseSystemContent(content: string | readonly unknown[], base: string): TextPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  content.forEach((block, index) => {
    if (isObject(block) && block.type !== 'text') fail('request', 'system accepts text blocks only', `${base}[${index}].type`)
  })
  return parseBlocks(content, base, { side: 'request', allowed: new Set(['text']), name: 'system' }).parts as TextPart[]
}

// ---------------------------------------------------------------------------------------------
// IR -> wire

export interface EncodeOptions {
  /** `request`: a body for Anthropic (bad parts are a 400); `response`: a message for an Anthropic client (best effort, with warnings). */
  mode: Side
  warnings: Warning[] | undefined
  /** Whether part extra belongs to Anthropic (same dialect) and is copied; otherwise each field is a warning. */
  copyExtra: boolean
  dialect?: string
}

export const unsupported = (warnings: Warning[] | undefined, feature: string, details?: string) => {
  warnings?.push(details === undefined ? { type: 'unsupported', feature } : { type: 'unsupported', feature, details })
}

export const toCacheControl = (cache: CacheHint): Json => (cache.ttl === undefined ? { type: cache.type } : { type: cache.type, ttl: cache.ttl })

/** Splits an extra bag into its copyable fields and the verbatim blocks around a part. */
export function splitExtra(extra: Json | undefined, path: string, options: EncodeOptions): { fields: Json; before: Json[]; after: Json[]; blocks: Json[] } {
  const fields: Json = {}
  const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : [])
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (SYNTHETIC.has(key)) continue
    if (options.copyExtra) fields[key] = value
    else unsupported(options.warnings, key, `${options.dialect ?? 'another dialect'} field at ${path} has no anthropic equivalent`)
  }
  if (!options.copyExtra) return { fields, before: [], after: [], blocks: [] }
  return { fields, before: list(extra?.[BLOCKS_BEFORE]), after: list(extra?.[BLOCKS_AFTER]), blocks: list(extra?.[BLOCKS]) }
}

const badPart = (options: EncodeOptions, message: string, path: string): undefined => {
  if (options.mode === 'request') throw GatewayError.badRequest(`Invalid '${path}': ${message}`, path)
  options.warnings?.push({ type: 'other', message: `${path}: ${message}; left out` })
  return undefined
}

/** IR source of an image -> Anthropic image source. */
function imageSource(source: Source, path: string, options: EncodeOptions): Json | undefined {
  if (source.type === 'base64') return { type: 'base64', media_type: source.mediaType, data: source.data }
  if (source.type === 'file-id') return { type: 'file', file_id: source.id }
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(source.url)
  if (data) return { type: 'base64', media_type: data[1], data: data[2] }
  if (/^https?:\/\//i.test(source.url)) return { type: 'url', url: source.url }
  return badPart(options, 'Anthropic takes images as base64 data, http(s) URLs or file ids', `${path}.source`)
}

/** IR file -> Anthropic document source (PDF or plain text), or an image block for image files. */
function fileBlock(part: FilePart, path: string, options: EncodeOptions): Json | undefined {
  const mediaType = part.mediaType ?? (part.source.type === 'base64' ? part.source.mediaType : undefined)
  if (mediaType?.startsWith('image/')) {
    const source = imageSource(part.source, path, options)
    return source && { type: 'image', source }
  }
  let source: Json | undefined
  if (part.source.type === 'file-id') source = { type: 'file', file_id: part.source.id }
  else if (part.source.type === 'url') source = { type: 'url', url: part.source.url }
  else if (mediaType === 'application/pdf') source = { type: 'base64', media_type: mediaType, data: part.source.data }
  else if (mediaType?.startsWith('text/')) {
    const text = textOfBase64(part.source.data)
    if (text === undefined) return badPart(options, 'file data is not valid base64', `${path}.source.data`)
    source = { type: 'text', media_type: 'text/plain', data: text }
  } else return badPart(options, `Anthropic documents are PDF or plain text, not ${mediaType ?? 'an unknown media type'}`, path)
  // OpenAI's filename is the closest thing Anthropic has to a document title.
  return defined({ type: 'document', source, title: part.filename })
}

/** Tool arguments (JSON text) -> `input`; an empty string means no arguments. */
export function parseArguments(text: string): { input: unknown; valid: boolean } {
  if (text.trim() === '') return { input: {}, valid: true }
  try {
    return { input: JSON.parse(text), valid: true }
  } catch {
    return { input: {}, valid: false }
  }
}

/** The block of one part, without extra and cache; undefined when it has none (with a warning or a 400). */
function blockOf(part: ContentPart, path: string, options: EncodeOptions): Json | undefined {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text }
    case 'refusal':
      // What the assistant said; Anthropic marks refusals by stop_reason only.
      return { type: 'text', text: part.text }
    case 'image': {
      if (part.detail !== undefined && part.detail !== 'auto') unsupported(options.warnings, 'image detail', `${path}: Anthropic has no image detail setting`)
      const source = imageSource(part.source, path, options)
      return source && { type: 'image', source }
    }
    case 'audio':
      return badPart(options, 'Anthropic has no audio input', path)
    case 'file':
      return fileBlock(part, path, options)
    case 'tool-call': {
      const { input, valid } = parseArguments(part.arguments)
      if (!valid) {
        if (options.mode === 'request') throw GatewayError.badRequest(`Invalid '${path}.arguments': tool call arguments must be valid JSON`, `${path}.arguments`)
        options.warnings?.push({ type: 'other', message: `${path}: tool call arguments are not valid JSON; sent as an empty input` })
      }
      return { type: 'tool_use', id: part.id, name: part.name, input }
    }
    case 'tool-result': {
      const shape = shapeOf(part)
      const content = part.content.flatMap((item, index) => toBlocks(item, `${path}.content[${index}]`, options))
      const { blocks } = splitExtra(part.extra, path, { ...options, warnings: undefined })
      content.push(...blocks)
      // A string when it was one (or, for other dialects, when it is lone plain text); omitted when empty.
      let wireContent: unknown = content
      if (shape?.stringContent !== false && content.length === 1 && isPlainText(content[0]!)) wireContent = content[0]!.text
      else if (shape === undefined && content.length === 0) wireContent = undefined
      return defined({ type: 'tool_result', tool_use_id: part.toolCallId, content: wireContent, is_error: part.isError })
    }
    case 'reasoning':
      if (part.redacted !== undefined) return { type: 'redacted_thinking', data: part.redacted }
      if (part.signature) return { type: 'thinking', thinking: part.text, signature: part.signature }
      // A client can show unsigned reasoning; Anthropic refuses thinking without a valid signature.
      if (options.mode === 'response') return { type: 'thinking', thinking: part.text, signature: '' }
      options.warnings?.push({ type: 'unsupported', feature: 'reasoning without signature', details: `${path}: Anthropic accepts only signed thinking back; left out` })
      return undefined
    default: {
      const unreachable: never = part
      return unreachable
    }
  }
}

export const isPlainText = (block: Json): boolean => block.type === 'text' && Object.keys(block).length === 2

/**
 * OpenAI callers put Anthropic's own `cache_control` on content parts (the OpenRouter convention);
 * the OpenAI codec keeps it in extra. It means exactly a cache hint here, so it is used, not warned about.
 */
function foreignCacheControl(part: ContentPart): Json | undefined {
  const value = part.extra?.cache_control
  if (part.cache || !isObject(value) || value.type !== 'ephemeral') return undefined
  return typeof value.ttl === 'string' ? { type: 'ephemeral', ttl: value.ttl } : { type: 'ephemeral' }
}
function withoutCacheControl(extra: Json): Json {
  const { cache_control: _used, ...rest } = extra
  return rest
}

/** One IR part -> its Anthropic block, with the verbatim blocks that surround it. */
export function toBlocks(part: ContentPart, path: string, options: EncodeOptions): Json[] {
  const block = blockOf(part, path, options)
  const borrowed = options.copyExtra ? undefined : foreignCacheControl(part)
  const { fields, before, after } = splitExtra(borrowed ? withoutCacheControl(part.extra!) : part.extra, path, options)
  if (!block) return [...before, ...after]
  if (borrowed && options.mode === 'request') block.cache_control = borrowed
  if (part.cache) {
    if (part.type === 'reasoning') unsupported(options.warnings, 'cache hint on reasoning', path)
    else if (options.mode === 'request') block.cache_control = toCacheControl(part.cache)
  }
  return [...before, { ...block, ...fields }, ...after]
}
