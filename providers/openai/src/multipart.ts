import { GatewayError } from '@switchyard/core'

/**
 * Just enough of `multipart/form-data` (RFC 7578) to route an upload without re-encoding it: the
 * part boundaries, each part's name, the values of its text fields, and where each value sits in
 * the body. File contents are never decoded or copied; the body is forwarded as it came, with at
 * most the `model` value spliced (one copy of the bytes, only when the model changes).
 */

/** Where one part's value sits in the body: `bytes.subarray(start, end)`. */
export interface PartRange {
  start: number
  end: number
}

/** What a multipart body holds, read without decoding its files. */
export interface MultipartForm {
  /** Text fields by name (a repeated name, `image[]` style, keeps its values in order). */
  fields: Record<string, string | string[]>
  /** Names of the file parts, in order (a name repeats for several files). */
  files: string[]
  /** Value ranges of the text fields, by name (the first part of that name). */
  ranges: Record<string, PartRange>
}

const CRLF_CRLF = [13, 10, 13, 10]
const decoder = new TextDecoder()
const encoder = new TextEncoder()

const malformed = (detail: string) => GatewayError.badRequest(`malformed multipart/form-data body: ${detail}`)

/** The `boundary` parameter of a `multipart/form-data` content type; 400 when there is none. */
export function boundaryOf(contentType: string | undefined): string {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    throw GatewayError.badRequest(`expected a multipart/form-data body, got ${contentType ? `content-type ${contentType.split(';')[0]}` : 'no content-type'}`)
  }
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]
  if (!boundary || boundary.length > 70) throw malformed('the content type has no valid boundary')
  return boundary
}

/** First index of `needle` in `bytes` at or after `from`, or -1 (first-byte scan, then compare). */
function indexOfBytes(bytes: Uint8Array, needle: ArrayLike<number>, from: number): number {
  const first = needle[0]!
  const last = bytes.length - needle.length
  for (let at = bytes.indexOf(first, from); at !== -1 && at <= last; at = bytes.indexOf(first, at + 1)) {
    let i = 1
    while (i < needle.length && bytes[at + i] === needle[i]) i++
    if (i === needle.length) return at
  }
  return -1
}

/** A `Content-Disposition` parameter (`name`, `filename`), quoted or not. */
function dispositionParam(header: string, param: string): string | undefined {
  const match = new RegExp(`;\\s*${param}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(header)
  if (!match) return undefined
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]
}

/**
 * Reads a multipart body: part names, text field values, file part names. A body that is not
 * well-formed (no opening boundary, a part without a blank line after its headers or without a
 * `Content-Disposition: form-data` name, no closing boundary) is a 400.
 */
export function parseMultipart(bytes: Uint8Array, contentType: string | undefined): MultipartForm {
  const boundary = boundaryOf(contentType)
  const delimiter = encoder.encode(`\r\n--${boundary}`)
  const form: MultipartForm = { fields: {}, files: [], ranges: {} }
  // The first delimiter may open the body without a preceding CRLF (a preamble is allowed before it).
  const opening = delimiter.subarray(2)
  const opensBody = opening.every((byte, index) => bytes[index] === byte)
  let at = opensBody ? opening.length : indexOfBytes(bytes, delimiter, 0)
  if (at === -1) throw malformed('no opening boundary')
  if (!opensBody) at += delimiter.length
  for (;;) {
    // After a delimiter: `--` closes the body, CRLF opens a part (transport padding is allowed before it).
    if (bytes[at] === 45 && bytes[at + 1] === 45) return form
    while (bytes[at] === 32 || bytes[at] === 9) at++
    if (bytes[at] !== 13 || bytes[at + 1] !== 10) throw malformed('a boundary is not followed by a line break')
    const headersStart = at + 2
    const headersEnd = indexOfBytes(bytes, CRLF_CRLF, headersStart)
    if (headersEnd === -1) throw malformed('a part has no blank line after its headers')
    const next = indexOfBytes(bytes, delimiter, headersEnd + 4)
    if (next === -1) throw malformed('no closing boundary')
    const headers = decoder.decode(bytes.subarray(headersStart, headersEnd)).split('\r\n')
    const disposition = headers.find((line) => /^content-disposition\s*:/i.test(line))
    if (!disposition || !/:\s*form-data\b/i.test(disposition)) throw malformed('a part has no Content-Disposition: form-data header')
    const name = dispositionParam(disposition, 'name')
    if (name === undefined) throw malformed('a part has no name')
    const range = { start: headersEnd + 4, end: next }
    if (dispositionParam(disposition, 'filename') !== undefined || dispositionParam(disposition, 'filename\\*') !== undefined) {
      form.files.push(name)
    } else {
      const value = decoder.decode(bytes.subarray(range.start, range.end))
      const known = form.fields[name]
      form.fields[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value]
      form.ranges[name] ??= range
    }
    at = next + delimiter.length
  }
}

/** `bytes` with the value at `range` replaced by `value` (the original when it is the same text). */
export function spliceMultipartValue(bytes: Uint8Array, range: PartRange, value: string): Uint8Array {
  const encoded = encoder.encode(value)
  const current = bytes.subarray(range.start, range.end)
  if (current.length === encoded.length && current.every((byte, index) => byte === encoded[index])) return bytes
  const out = new Uint8Array(bytes.length - current.length + encoded.length)
  out.set(bytes.subarray(0, range.start), 0)
  out.set(encoded, range.start)
  out.set(bytes.subarray(range.end), range.start + encoded.length)
  return out
}
