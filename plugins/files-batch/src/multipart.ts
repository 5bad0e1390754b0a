import { GatewayError } from '@switchyard/core'

/**
 * A streaming `multipart/form-data` reader (RFC 7578): parts come one at a time, and a file
 * part's bytes stream through as they arrive, never held whole, never decoded or changed. The
 * next part is read once the current one's body was consumed (an unread body is skipped).
 */

/** One part of the form. */
export interface FormPart {
  /** `name` of its Content-Disposition. */
  name: string
  /** `filename` of its Content-Disposition; set for file parts. */
  filename: string | undefined
  /** Its own Content-Type, when it has one. */
  contentType: string | undefined
  /** The part's bytes, exactly as sent. */
  body: ReadableStream<Uint8Array>
}

export interface MultipartLimits {
  /** Largest header block of one part (bytes). Default 16 KiB. */
  maxHeaderBytes?: number
  /** Most parts in one form. Default 100. */
  maxParts?: number
}

const CR = 13
const LF = 10
const DASH = 45
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const HEADER_END = encoder.encode('\r\n\r\n')

export const malformedMultipart = (detail: string) => GatewayError.badRequest(`malformed multipart/form-data body: ${detail}`)

/** First index of `needle` in `haystack` at or after `from`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!
  const last = haystack.length - needle.length
  for (let at = haystack.indexOf(first, from); at !== -1 && at <= last; at = haystack.indexOf(first, at + 1)) {
    let i = 1
    while (i < needle.length && haystack[at + i] === needle[i]) i++
    if (i === needle.length) return at
  }
  return -1
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** A Content-Disposition parameter, quoted or not; `filename*=UTF-8''…` (RFC 5987) wins over `filename`. */
export function dispositionParam(header: string, name: string): string | undefined {
  const extended = new RegExp(`;\\s*${name}\\*\\s*=\\s*([^']*)'[^']*'([^;\\s]+)`, 'i').exec(header)
  if (extended) {
    try {
      return decodeURIComponent(extended[2]!)
    } catch {
      throw malformedMultipart(`the ${name}* parameter is not valid percent-encoding`)
    }
  }
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(header)
  if (!match) return undefined
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]
}

/** The boundary of a `multipart/form-data` content type; 400 for anything else. */
export function formBoundary(contentType: string | null | undefined): string {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    throw GatewayError.badRequest(`expected a multipart/form-data body (a file upload), got ${contentType ? `content-type ${contentType.split(';')[0]}` : 'no content-type'}`)
  }
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]
  if (!boundary || boundary.length > 70) throw malformedMultipart('the content type has no valid boundary')
  return boundary
}

/**
 * Reads the parts of a `multipart/form-data` body. Throws (or errors the current part's body
 * with) a 400 GatewayError when the body is not well-formed or ends before the closing boundary.
 */
export async function* readFormParts(body: ReadableStream<Uint8Array>, boundary: string, limits: MultipartLimits = {}): AsyncGenerator<FormPart> {
  const maxHeaderBytes = limits.maxHeaderBytes ?? 16 * 1024
  const maxParts = limits.maxParts ?? 100
  // Every boundary but the first follows a CRLF; a CRLF in front of the body makes them all alike.
  const delimiter = encoder.encode(`\r\n--${boundary}`)
  const reader = body.getReader()
  let buffer: Uint8Array = Uint8Array.of(CR, LF)
  let ended = false

  /** Reads more bytes into `buffer`; false at the end of the body. */
  async function more(): Promise<boolean> {
    if (ended) return false
    const { value, done } = await reader.read()
    if (done) {
      ended = true
      return false
    }
    buffer = concat(buffer, value)
    return true
  }

  /** Makes `buffer` hold at least `length` bytes; false when the body ends first. */
  async function fill(length: number): Promise<boolean> {
    while (buffer.length < length) if (!(await more())) return false
    return true
  }

  try {
    // Skip the preamble up to the first boundary.
    for (;;) {
      const at = indexOf(buffer, delimiter)
      if (at !== -1) {
        buffer = buffer.subarray(at + delimiter.length)
        break
      }
      buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length + 1))
      if (!(await more())) throw malformedMultipart('no boundary found')
    }
    let parts = 0
    for (;;) {
      // After a boundary: `--` closes the form; otherwise optional whitespace, then CRLF.
      if (!(await fill(2))) throw malformedMultipart('the body ended before the closing boundary')
      if (buffer[0] === DASH && buffer[1] === DASH) return
      let lineEnd = buffer.indexOf(LF)
      while (lineEnd === -1) {
        if (buffer.length > 256 || !(await more())) throw malformedMultipart('a boundary line is not followed by a line break')
        lineEnd = buffer.indexOf(LF)
      }
      buffer = buffer.subarray(lineEnd + 1)
      if (++parts > maxParts) throw malformedMultipart(`more than ${maxParts} parts`)

      // The part's headers, up to the blank line.
      let end = indexOf(buffer, HEADER_END)
      while (end === -1) {
        if (buffer.length > maxHeaderBytes) throw malformedMultipart(`a part's headers are longer than ${maxHeaderBytes} bytes`)
        if (!(await more())) throw malformedMultipart("the body ended inside a part's headers")
        end = indexOf(buffer, HEADER_END)
      }
      if (end > maxHeaderBytes) throw malformedMultipart(`a part's headers are longer than ${maxHeaderBytes} bytes`)
      const headerText = decoder.decode(buffer.subarray(0, end))
      buffer = buffer.subarray(end + HEADER_END.length)
      const headers = new Map<string, string>()
      for (const line of headerText.split('\r\n')) {
        const colon = line.indexOf(':')
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
      const disposition = headers.get('content-disposition')
      if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw malformedMultipart('a part has no "Content-Disposition: form-data" header')
      const name = dispositionParam(disposition, 'name')
      if (name === undefined) throw malformedMultipart('a part has no name')

      // The part's bytes, up to the next delimiter: null once it is reached.
      let done = false
      const nextChunk = async (): Promise<Uint8Array | null> => {
        for (;;) {
          if (done) return null
          const at = indexOf(buffer, delimiter)
          if (at !== -1) {
            const chunk = buffer.slice(0, at)
            buffer = buffer.subarray(at + delimiter.length)
            done = true
            return chunk
          }
          // Keep a tail that may be the start of the delimiter; hand on the rest.
          const safe = buffer.length - delimiter.length + 1
          if (safe > 0) {
            const chunk = buffer.slice(0, safe)
            buffer = buffer.subarray(safe)
            return chunk
          }
          if (!(await more())) throw malformedMultipart('the body ended inside a part')
        }
      }
      const partBody = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const chunk = await nextChunk()
          if (chunk === null) return controller.close()
          if (chunk.length > 0) controller.enqueue(chunk)
          if (done) controller.close()
        },
      })
      yield { name, filename: dispositionParam(disposition, 'filename'), contentType: headers.get('content-type'), body: partBody }
      // Skip whatever the consumer left unread (or cancelled).
      while ((await nextChunk()) !== null);
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

/** Reads a text part whole (UTF-8), refusing one longer than `maxBytes`. */
export async function readTextPart(part: FormPart, maxBytes: number): Promise<string> {
  const reader = part.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    size += value.length
    if (size > maxBytes) {
      await reader.cancel()
      throw GatewayError.badRequest(`form field "${part.name}" is longer than ${maxBytes} bytes`, part.name)
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return decoder.decode(all)
}
