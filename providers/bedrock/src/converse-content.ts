import { type ContentPart, type FilePart, type ImagePart, type Source, type Warning } from '@switchyard/core'
import { badRequest, defined, isObject, string, type Json } from './wire.js'

/**
 * IR content parts <-> Converse content blocks
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html).
 */

/** Converse image formats by media type. */
const IMAGE_FORMATS: Readonly<Record<string, string>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' }

/** Converse document formats by media type. */
const DOCUMENT_FORMATS: Readonly<Record<string, string>> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
}

const MEDIA_TYPES: Readonly<Record<string, string>> = Object.fromEntries([
  ...Object.entries(DOCUMENT_FORMATS).map(([type, format]) => [format, type]),
  ...Object.entries(IMAGE_FORMATS).map(([type, format]) => [format, type]),
])

/** The cache breakpoint block Converse puts after the content it caches. */
export const CACHE_POINT: Json = { cachePoint: { type: 'default' } }

export interface EncodeState {
  warnings: Warning[] | undefined
  /** Document names used so far in the request (Converse wants each unique). */
  documentNames: Set<string>
}

/** `data:` URL -> media type and base64, or undefined. */
function dataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  return match ? { mediaType: match[1]!.toLowerCase(), data: match[2]! } : undefined
}

/** A binary source -> Converse `source` (`bytes` as base64, or an `s3Location`). */
function sourceOf(source: Source, mediaType: string | undefined, path: string, what: string): { source: Json; mediaType: string | undefined } {
  if (source.type === 'base64') return { source: { bytes: source.data }, mediaType: mediaType ?? source.mediaType.toLowerCase() }
  if (source.type === 'file-id') throw badRequest(`Bedrock has no file store; send the ${what} as data or an s3:// URL`, path)
  const data = dataUrl(source.url)
  if (data) return { source: { bytes: data.data }, mediaType: mediaType ?? data.mediaType }
  if (source.url.startsWith('s3://')) return { source: { s3Location: { uri: source.url } }, mediaType }
  throw badRequest(`Bedrock takes ${what}s as base64 data or s3:// locations, not URLs it would have to fetch`, path)
}

function imageBlock(part: ImagePart | FilePart, path: string, state: EncodeState): Json {
  const mediaType = part.type === 'file' ? part.mediaType : undefined
  const { source, mediaType: type } = sourceOf(part.source, mediaType, path, 'image')
  const format = type === undefined ? undefined : IMAGE_FORMATS[type]
  if (!format) throw badRequest(`Bedrock images are png, jpeg, gif or webp, not ${type ?? 'an unknown type'}`, path)
  if (part.type === 'image' && part.detail !== undefined && part.detail !== 'auto') {
    state.warnings?.push({ type: 'unsupported', feature: 'image detail', details: `${path}: Bedrock has no image detail setting` })
  }
  return { image: { format, source } }
}

/** Converse document names: letters, digits, whitespace, hyphens, parentheses and square brackets. */
function documentName(filename: string | undefined, state: EncodeState): string {
  const used = state.documentNames
  const base = (filename ?? '').replace(/\.[A-Za-z0-9]+$/, '').replace(/[^A-Za-z0-9\s\-()[\]]+/g, ' ').replace(/\s+/g, ' ').trim() || `document-${used.size + 1}`
  let name = base
  for (let n = 2; used.has(name); n++) name = `${base} (${n})`
  used.add(name)
  return name
}

function documentBlock(part: FilePart, path: string, state: EncodeState): Json {
  const declared = part.mediaType?.toLowerCase()
  if (declared?.startsWith('image/') || (part.source.type === 'base64' && part.source.mediaType.startsWith('image/'))) return imageBlock(part, path, state)
  const { source, mediaType } = sourceOf(part.source, declared, path, 'document')
  const format = mediaType === undefined ? undefined : DOCUMENT_FORMATS[mediaType]
  if (!format) throw badRequest(`Bedrock documents are pdf, csv, doc, docx, xls, xlsx, html, txt or md, not ${mediaType ?? 'an unknown type'}`, path)
  return { document: { format, name: documentName(part.filename, state), source } }
}

/** Tool arguments (JSON text) -> `input`; empty means no arguments. */
function toolInput(text: string, path: string): unknown {
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('tool call arguments must be valid JSON', `${path}.arguments`)
  }
}

/** One IR part -> its Converse blocks (the block, then a cache point when the part carries a cache hint). */
export function toConverseBlocks(part: ContentPart, path: string, state: EncodeState): Json[] {
  const block = blockOf(part, path, state)
  return part.cache ? [block, CACHE_POINT] : [block]
}

function blockOf(part: ContentPart, path: string, state: EncodeState): Json {
  switch (part.type) {
    case 'text':
      return { text: part.text }
    case 'refusal':
      return { text: part.text }
    case 'image':
      return imageBlock(part, path, state)
    case 'file':
      return documentBlock(part, path, state)
    case 'audio':
      throw badRequest('the Bedrock Converse API takes no audio input', path)
    case 'tool-call':
      return { toolUse: { toolUseId: part.id, name: part.name, input: toolInput(part.arguments, path) } }
    case 'tool-result': {
      const content = part.content.map((item, index) => {
        const itemPath = `${path}.content[${index}]`
        if (item.type === 'text') return { text: item.text }
        if (item.type === 'image') return imageBlock(item, itemPath, state)
        return documentBlock(item, itemPath, state)
      })
      return { toolResult: defined({ toolUseId: part.toolCallId, content, status: part.isError ? 'error' : undefined }) }
    }
    case 'reasoning':
      if (part.redacted !== undefined) return { reasoningContent: { redactedContent: part.redacted } }
      return { reasoningContent: { reasoningText: defined({ text: part.text, signature: part.signature }) } }
    default: {
      const unreachable: never = part
      return unreachable
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Wire -> IR

/** Blocks with no IR part (citations, guard content, server tool results, later types) ride in message extra. */
export const UNMODELED_BLOCKS = 'bedrock_blocks'

function parseImage(image: Json): ImagePart | undefined {
  const format = string(image.format)
  const source = isObject(image.source) ? image.source : undefined
  const bytes = string(source?.bytes)
  if (!format || bytes === undefined) return undefined
  return { type: 'image', source: { type: 'base64', mediaType: MEDIA_TYPES[format] ?? `image/${format}`, data: bytes } }
}

/** Response content blocks -> IR parts in order, plus the blocks the IR has no part for. */
export function parseConverseBlocks(blocks: readonly unknown[]): { parts: ContentPart[]; unmodeled: Json[] } {
  const parts: ContentPart[] = []
  const unmodeled: Json[] = []
  for (const block of blocks) {
    if (!isObject(block)) continue
    if (typeof block.text === 'string') {
      parts.push({ type: 'text', text: block.text })
    } else if (isObject(block.toolUse)) {
      const tool = block.toolUse
      parts.push({ type: 'tool-call', id: string(tool.toolUseId) ?? '', name: string(tool.name) ?? '', arguments: JSON.stringify(tool.input ?? {}) })
    } else if (isObject(block.reasoningContent)) {
      const reasoning = block.reasoningContent
      if (typeof reasoning.redactedContent === 'string') parts.push({ type: 'reasoning', text: '', redacted: reasoning.redactedContent })
      else if (isObject(reasoning.reasoningText)) {
        const text = reasoning.reasoningText
        const signature = string(text.signature)
        parts.push({ type: 'reasoning', text: string(text.text) ?? '', ...(signature !== undefined && { signature }) })
      } else unmodeled.push(block)
    } else if (isObject(block.image) && parseImage(block.image)) {
      parts.push(parseImage(block.image)!)
    } else {
      unmodeled.push(block)
    }
  }
  return { parts, unmodeled }
}
