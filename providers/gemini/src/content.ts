import { GatewayError, type ContentPart, type FilePart, type ImagePart, type Source, type TextPart, type Warning } from '@switchyard/core'
import {
  fail, isObject, isSyntheticToolCallId, mergeExtra, parseJson, PARTS_AFTER, PARTS_BEFORE, restOf, setShape, shapeOf, SYNTHETIC,
  syntheticToolCallId, unsupportedOnce, type Json, type Side,
} from './wire.js'

/**
 * Gemini `Part`s <-> IR content parts, both directions (https://ai.google.dev/api/caching#Part).
 *
 * Thought signatures: Gemini puts an opaque `thoughtSignature` on a part, which must come back on
 * the same part in later turns (Gemini 3 refuses a function call turn without it).
 * - On a thought part (`thought: true`) it is that reasoning part's `signature`.
 * - On any other part (text, function call ...) it becomes a signature-only reasoning part
 *   (`{type: "reasoning", text: "", signature}`) placed just before the part, so it crosses dialects
 *   the way Anthropic signatures do (OpenAI `reasoning_details`, Anthropic thinking blocks); an
 *   empty text part that only carries a signature is just that reasoning part.
 * - Encoding, a signature-only reasoning part goes onto the part that follows it, or, when none
 *   follows, onto an empty text part of its own.
 *
 * Function calls carry no id on the Gemini API: the IR gets a stable made-up one
 * (`call_<n>_<name>`, see `syntheticToolCallId`), and an `id` Gemini sends is kept. Function
 * responses name the function, not the call: encoding looks the name up from the calls in the
 * conversation (`EncodeOptions.names`).
 */

const PART_KEYS = {
  text: new Set(['text', 'thought', 'thoughtSignature']),
  inlineData: new Set(['inlineData', 'thoughtSignature']),
  fileData: new Set(['fileData', 'thoughtSignature']),
  functionCall: new Set(['functionCall', 'thoughtSignature']),
  functionResponse: new Set(['functionResponse', 'thoughtSignature']),
}
type PartKind = keyof typeof PART_KEYS

const kindOf = (part: Json): PartKind | undefined => {
  if (typeof part.text === 'string') return 'text'
  if (isObject(part.functionCall)) return 'functionCall'
  if (isObject(part.functionResponse)) return 'functionResponse'
  if (isObject(part.inlineData)) return 'inlineData'
  if (isObject(part.fileData)) return 'fileData'
  return undefined
}

/** Media type -> IR audio `format` (the subtype: `audio/wav` -> `wav`). */
const audioFormat = (mimeType: string) => mimeType.slice('audio/'.length).split(';')[0]!

/** IR audio `format` -> media type (`mp3` -> `audio/mp3`, as Gemini spells it). */
const audioMimeType = (format: string) => (format.includes('/') ? format : `audio/${format}`)

const EXTENSIONS: Readonly<Record<string, string>> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', heif: 'image/heif',
  pdf: 'application/pdf', txt: 'text/plain', md: 'text/markdown', html: 'text/html', csv: 'text/csv',
  mp3: 'audio/mp3', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg', aac: 'audio/aac',
  mp4: 'video/mp4', mov: 'video/mov', webm: 'video/webm',
}

/** A media type guessed from a URL's file extension, or undefined. */
export function mediaTypeOfUrl(url: string): string | undefined {
  const path = url.split(/[?#]/)[0]!
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase()
  return path.includes('.') ? EXTENSIONS[extension] : undefined
}

// ---------------------------------------------------------------------------------------------
// Gemini -> IR

/** Where a list of parts sits, and how function calls and responses get their ids. */
export interface DecodeContext {
  side: Side
  /** Provider id named in errors about a bad upstream body (default `gemini`). */
  provider?: string
  /** Path of the list in the body, for errors (`contents[2].parts`). */
  base: string
  /** Counts the function calls of one turn, for made-up ids. */
  calls: { count: number }
  /** The id for a function response that came without one: the matching earlier call's. */
  callIdFor?(name: string): string | undefined
  /** Told about each function call (its id), so later responses can find it. */
  onCall?(name: string, id: string): void
}

/** The result of {@link partsFromGemini}: IR parts in order, and unmodeled parts left with no modeled part to carry them. */
export interface DecodedParts {
  parts: ContentPart[]
  orphans: Json[]
}

/** Gemini parts -> IR parts (see the module comment for signatures and ids). */
export function partsFromGemini(wire: readonly unknown[], context: DecodeContext): DecodedParts {
  const parts: ContentPart[] = []
  let pending: Json[] = []
  const push = (part: ContentPart) => {
    if (pending.length > 0) {
      part.extra = { ...part.extra, [PARTS_BEFORE]: pending }
      pending = []
    }
    parts.push(part)
  }
  wire.forEach((raw, index) => {
    const path = `${context.base}[${index}]`
    if (!isObject(raw)) return fail(context.side, 'each part must be an object', path, context.provider)
    const kind = kindOf(raw)
    if (kind === undefined) {
      pending.push(raw)
      return
    }
    const signature = typeof raw.thoughtSignature === 'string' ? raw.thoughtSignature : undefined
    const extra = restOf(raw, PART_KEYS[kind])
    if (kind === 'text' && raw.thought === true) {
      const text = raw.text as string
      const previous = parts.at(-1)
      // An empty thought part that only carries a signature signs the thought before it.
      if (text === '' && signature !== undefined && !extra && pending.length === 0 && previous?.type === 'reasoning' && previous.text !== '' && previous.signature === undefined) {
        previous.signature = signature
        return
      }
      return push(withExtra({ type: 'reasoning', text, ...(signature !== undefined && { signature }) }, extra))
    }
    if (signature !== undefined) push({ type: 'reasoning', text: '', signature })
    const part = partOf(raw, kind, path, context)
    if (part) push(withExtra(part, extra))
  })
  const last = parts.at(-1)
  if (last && pending.length > 0) {
    last.extra = { ...last.extra, [PARTS_AFTER]: pending }
    pending = []
  }
  return { parts, orphans: pending }
}

function withExtra<T extends ContentPart>(part: T, extra: Json | undefined): T {
  if (extra) part.extra = { ...part.extra, ...extra }
  return part
}

/** One modeled, non-thought part -> its IR part; undefined for an empty text part that only carried a signature. */
function partOf(raw: Json, kind: PartKind, path: string, context: DecodeContext): ContentPart | undefined {
  switch (kind) {
    case 'text':
      if (raw.text === '' && typeof raw.thoughtSignature === 'string') return undefined
      return { type: 'text', text: raw.text as string }
    case 'inlineData': {
      const data = raw.inlineData as Json
      if (typeof data.mimeType !== 'string' || typeof data.data !== 'string') return fail(context.side, 'inlineData needs mimeType and data strings', `${path}.inlineData`, context.provider)
      const rest = restOf(data, new Set(['mimeType', 'data']))
      const extra = rest && { inlineData: rest }
      if (data.mimeType.startsWith('image/')) return withExtra({ type: 'image', source: { type: 'base64', mediaType: data.mimeType, data: data.data } } satisfies ImagePart, extra)
      if (data.mimeType.startsWith('audio/')) return withExtra({ type: 'audio', data: data.data, format: audioFormat(data.mimeType) }, extra)
      return withExtra({ type: 'file', source: { type: 'base64', mediaType: data.mimeType, data: data.data }, mediaType: data.mimeType } satisfies FilePart, extra)
    }
    case 'fileData': {
      const data = raw.fileData as Json
      if (typeof data.fileUri !== 'string') return fail(context.side, 'fileData needs a fileUri string', `${path}.fileData.fileUri`, context.provider)
      const mimeType = typeof data.mimeType === 'string' ? data.mimeType : undefined
      const rest = restOf(data, new Set(['fileUri', 'mimeType']))
      if (mimeType?.startsWith('image/')) {
        // The IR image has no media type: Gemini's rides in extra, for a Gemini encode.
        return withExtra({ type: 'image', source: { type: 'url', url: data.fileUri } } satisfies ImagePart, { fileData: { ...rest, mimeType } })
      }
      return withExtra({ type: 'file', source: { type: 'url', url: data.fileUri }, ...(mimeType !== undefined && { mediaType: mimeType }) } satisfies FilePart, rest && { fileData: rest })
    }
    case 'functionCall': {
      const call = raw.functionCall as Json
      if (typeof call.name !== 'string' || call.name === '') return fail(context.side, 'functionCall needs a name', `${path}.functionCall.name`, context.provider)
      if (call.args !== undefined && call.args !== null && !isObject(call.args)) return fail(context.side, 'functionCall.args must be an object', `${path}.functionCall.args`, context.provider)
      const index = context.calls.count++
      const given = typeof call.id === 'string' && call.id !== '' ? call.id : undefined
      const id = given ?? syntheticToolCallId(index, call.name)
      context.onCall?.(call.name, id)
      const rest = restOf(call, new Set(['name', 'args', 'id']))
      const part: ContentPart = { type: 'tool-call', id, name: call.name, arguments: JSON.stringify(call.args ?? {}) }
      if (!given) setShape(part, { syntheticId: true })
      return withExtra(part, rest && { functionCall: rest })
    }
    case 'functionResponse': {
      const response = raw.functionResponse as Json
      if (typeof response.name !== 'string' || response.name === '') return fail(context.side, 'functionResponse needs a name', `${path}.functionResponse.name`, context.provider)
      const given = typeof response.id === 'string' && response.id !== '' ? response.id : undefined
      const id = given ?? context.callIdFor?.(response.name) ?? syntheticToolCallId(0, response.name)
      const rest = restOf(response, new Set(['name', 'response', 'id']))
      const text: TextPart = { type: 'text', text: JSON.stringify(response.response ?? {}) }
      const part: ContentPart = { type: 'tool-result', toolCallId: id, content: [text] }
      setShape(part, { toolName: response.name, ...(!given && { syntheticId: true }) })
      return withExtra(part, rest && { functionResponse: rest })
    }
    default: {
      const unreachable: never = kind
      return unreachable
    }
  }
}

// ---------------------------------------------------------------------------------------------
// IR -> Gemini

export interface EncodeOptions {
  /** `request`: parts for Gemini (bad parts are a 400); `response`: parts for a Gemini client (best effort, with warnings). */
  mode: Side
  warnings: Warning[] | undefined
  /** Tool call id -> function name, from every call in the conversation (for function responses). */
  names: ReadonlyMap<string, string>
  /** Put tool call ids on the wire (made-up ones never go). */
  keepIds: boolean
}

/** Where Gemini API file names (`files/<id>`) live: `fileData.fileUri` wants the full URI. */
const GEMINI_FILES_ROOT = 'https://generativelanguage.googleapis.com/v1beta'

const badPart = (options: EncodeOptions, message: string, path: string): undefined => {
  if (options.mode === 'request') throw GatewayError.badRequest(`Invalid '${path}': ${message}`, path)
  options.warnings?.push({ type: 'other', message: `${path}: ${message}; left out` })
  return undefined
}

/** An IR source -> `inlineData` or `fileData`. */
function mediaPart(source: Source, mediaType: string | undefined, path: string, options: EncodeOptions): Json | undefined {
  switch (source.type) {
    case 'base64':
      return { inlineData: { mimeType: mediaType ?? source.mediaType, data: source.data } }
    case 'url': {
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(source.url)
      if (data) return { inlineData: { mimeType: data[1], data: data[2] } }
      if (!/^(https?|gs):\/\//i.test(source.url)) return badPart(options, 'Gemini takes media as base64 data or http(s) / gs:// URLs', `${path}.source`)
      const mimeType = mediaType ?? mediaTypeOfUrl(source.url)
      return { fileData: mimeType === undefined ? { fileUri: source.url } : { mimeType, fileUri: source.url } }
    }
    case 'file-id':
      // A Gemini Files API name (`files/abc`) stands for its URI; other providers' file ids mean nothing here.
      if (/^files\/[\w-]+$/.test(source.id)) return { fileData: { fileUri: `${GEMINI_FILES_ROOT}/${source.id}`, ...(mediaType !== undefined && { mimeType: mediaType }) } }
      return badPart(options, `file id "${source.id}" is not a Gemini file (files/...)`, `${path}.source`)
  }
}

/** Tool arguments text -> the `args` object; not a JSON object: a 400, or (rendering) `{}` with a warning. */
function argsOf(text: string, path: string, options: EncodeOptions): Json {
  if (text.trim() === '') return {}
  const parsed = parseJson(text)
  if (parsed && isObject(parsed.value)) return parsed.value
  if (options.mode === 'request') throw GatewayError.badRequest(`Invalid '${path}.arguments': tool call arguments must be a JSON object`, `${path}.arguments`)
  options.warnings?.push({ type: 'other', message: `${path}: tool call arguments are not a JSON object; sent as {}` })
  return {}
}

/** A tool result's text -> `response`: the JSON object it holds, or `{output}` / `{error}` around plain text. */
function responseOf(content: readonly (TextPart | ImagePart | FilePart)[], isError: boolean | undefined): Json {
  let text = ''
  for (const item of content) if (item.type === 'text') text += item.text
  const parsed = parseJson(text)
  if (parsed && isObject(parsed.value) && !isError) return parsed.value
  const value = parsed && text.trim() !== '' ? parsed.value : text
  // Gemini's documented convention: "output" for the result, "error" for a failure.
  return isError ? { error: value } : { output: value }
}

/** One IR part -> its Gemini part(s), without extra; empty when it has none (with a warning or a 400). */
function wireOf(part: ContentPart, path: string, options: EncodeOptions): Json[] {
  switch (part.type) {
    case 'text':
    case 'refusal':
      return [{ text: part.text }]
    case 'reasoning':
      return [{ text: part.text, thought: true }]
    case 'image': {
      if (part.detail !== undefined && part.detail !== 'auto') options.warnings?.push({ type: 'unsupported', feature: 'image detail', details: `${path}: Gemini has no image detail setting` })
      const mimeType = part.source.type === 'url' && isObject(part.extra?.fileData) && typeof part.extra.fileData.mimeType === 'string' ? part.extra.fileData.mimeType : undefined
      const wire = mediaPart(part.source, mimeType, path, options)
      return wire ? [wire] : []
    }
    case 'audio':
      return [{ inlineData: { mimeType: audioMimeType(part.format), data: part.data } }]
    case 'file': {
      const wire = mediaPart(part.source, part.mediaType, path, options)
      return wire ? [wire] : []
    }
    case 'tool-call': {
      const args = argsOf(part.arguments, path, options)
      const call: Json = { name: part.name, args }
      if (options.keepIds && !shapeOf(part)?.syntheticId && !isSyntheticToolCallId(part.id, part.name)) call.id = part.id
      return [{ functionCall: call }]
    }
    case 'tool-result': {
      const shape = shapeOf(part)
      const name = options.names.get(part.toolCallId) ?? shape?.toolName
      if (name === undefined) {
        badPart(options, `no tool call with id "${part.toolCallId}" earlier in the conversation: Gemini function responses need the function's name`, path)
        return []
      }
      const response: Json = { name, response: responseOf(part.content, part.isError) }
      if (options.keepIds && !shape?.syntheticId && !isSyntheticToolCallId(part.toolCallId, name)) response.id = part.toolCallId
      const out: Json[] = [{ functionResponse: response }]
      part.content.forEach((item, index) => {
        if (item.type === 'text') return
        // Media in a result: sent beside the function response, in the same turn.
        options.warnings?.push({ type: 'other', message: `${path}.content[${index}]: a ${item.type} in a tool result is sent as a separate part after the function response` })
        out.push(...wireOf(item, `${path}.content[${index}]`, options))
      })
      return out
    }
    default: {
      const unreachable: never = part
      return unreachable
    }
  }
}

/** The part members kept in extra, copied back (the verbatim unmodeled parts are spliced in instead). */
function withPartExtra(wire: Json, part: ContentPart): Json {
  return mergeExtra(wire, part.extra, SYNTHETIC)
}

const listOf = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : [])

/**
 * IR parts -> Gemini parts: signatures placed (see the module comment), verbatim unmodeled parts
 * put back around their neighbours, `extra` copied. Callers localize the IR first, so any extra
 * left is Gemini's own.
 */
export function partsToGemini(parts: readonly ContentPart[], base: string, options: EncodeOptions): Json[] {
  const out: Json[] = []
  let signature: string | undefined
  const flush = () => {
    if (signature === undefined) return
    out.push({ text: '', thoughtSignature: signature })
    signature = undefined
  }
  parts.forEach((part, index) => {
    const path = `${base}[${index}]`
    out.push(...listOf(part.extra?.[PARTS_BEFORE]))
    if (part.cache) unsupportedOnce(options.warnings, 'cache_control', `${path}: Gemini caches prompts implicitly (or through cachedContent); cache hints are left out`)
    if (part.type === 'reasoning') {
      if (part.redacted !== undefined) {
        options.warnings?.push({ type: 'unsupported', feature: 'redacted reasoning', details: `${path}: Gemini has no redacted thinking; left out` })
      } else if (part.text === '' && part.signature && !part.extra) {
        flush()
        signature = part.signature
      } else {
        // An empty signature (an Anthropic client's unsigned thinking block) is no signature.
        const wire = withPartExtra({ text: part.text, thought: true }, part)
        const own = part.signature || signature
        if (part.signature) flush()
        else signature = undefined
        if (own !== undefined) wire.thoughtSignature = own
        out.push(wire)
      }
      out.push(...listOf(part.extra?.[PARTS_AFTER]))
      return
    }
    const wires = wireOf(part, path, options)
    wires.forEach((wire, position) => {
      const complete = position === 0 ? withPartExtra(wire, part) : wire
      if (signature !== undefined) {
        complete.thoughtSignature = signature
        signature = undefined
      }
      out.push(complete)
    })
    out.push(...listOf(part.extra?.[PARTS_AFTER]))
  })
  flush()
  return out
}
