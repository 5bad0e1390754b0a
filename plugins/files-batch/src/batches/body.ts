import { GatewayError } from '@switchyard/core'

const formatSize = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`)

/** The 413 for a body over the limit. */
export const bodyTooLarge = (maxBytes: number) =>
  new GatewayError({ status: 413, code: 'payload_too_large', type: 'invalid_request_error', retryable: false, message: `request body is larger than the ${formatSize(maxBytes)} limit` })

/**
 * A JSON object body, read with a size limit: one announced larger is refused before it is read,
 * one that turns out larger is cut off at the limit (413 either way); malformed JSON or anything
 * but an object is a 400. `optional`: an empty body reads as `{}` (a cancel without a body).
 */
export async function readJsonBody(request: Request, maxBytes: number, optional = false): Promise<Record<string, unknown>> {
  return (await readJsonObject(request, maxBytes, optional)).value
}

/** {@link readJsonBody}, with the text it was parsed from (for a body forwarded exactly as received). */
export async function readJsonObject(request: Request, maxBytes: number, optional = false): Promise<{ value: Record<string, unknown>; text: string }> {
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw bodyTooLarge(maxBytes)
  const chunks: Uint8Array[] = []
  let size = 0
  if (request.body) {
    const reader = request.body.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      size += value.length
      if (size > maxBytes) {
        await reader.cancel().catch(() => {})
        throw bodyTooLarge(maxBytes)
      }
      chunks.push(value)
    }
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  const text = new TextDecoder().decode(bytes)
  if (text.trim() === '' && optional) return { value: {}, text }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw GatewayError.badRequest('the request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw GatewayError.badRequest('the request body must be a JSON object')
  return { value: value as Record<string, unknown>, text }
}
