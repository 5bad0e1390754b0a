/**
 * Bodies as the storage keeps them: JSON and text as they are, anything else (an audio upload or
 * answer, a multipart form) in base64, so that no byte is changed on the way through a job.
 */
export interface StoredBody {
  body: string
  /** Set when `body` is base64 of bytes that are not text. */
  encoding?: 'base64'
}

/** Content types whose bodies are text (UTF-8): JSON, `text/*`, XML, form URL encoding, SSE. */
export function isTextual(contentType: string | null): boolean {
  if (!contentType) return false
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json') || type.endsWith('/xml') || type.endsWith('+xml') || type === 'application/x-www-form-urlencoded'
}

const CHUNK = 0x8000

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  // In slices: one `fromCharCode` over a large array would overflow the call stack.
  for (let offset = 0; offset < bytes.length; offset += CHUNK) binary += String.fromCharCode(...bytes.subarray(offset, offset + CHUNK))
  return btoa(binary)
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
  return bytes
}

/** Bytes of a request or response, kept as text when their content type says they are text. */
export function storeBody(bytes: Uint8Array, contentType: string | null): StoredBody {
  if (isTextual(contentType)) return { body: new TextDecoder().decode(bytes) }
  return { body: toBase64(bytes), encoding: 'base64' }
}

/** A stored body, ready for a `Request` or `Response`. */
export function bodyOf(stored: StoredBody): string | Uint8Array<ArrayBuffer> {
  return stored.encoding === 'base64' ? (fromBase64(stored.body) as Uint8Array<ArrayBuffer>) : stored.body
}
