import type { Context } from 'hono'
import type { Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { parseFallbacksField } from './targets.js'

/** Reading callers' JSON bodies: one parse, the raw text kept, the gateway's own `fallbacks` field taken out. */
export interface BodyReader {
  /** Reads and parses a JSON object body, enforcing the size limit; 400/413 on bad input. */
  readJson(c: Context): Promise<Record<string, unknown>>
  /** The exact text a body returned by `readJson` was parsed from (re-serialized only when `fallbacks` was taken out). */
  rawBody(body: Record<string, unknown>): string
  /** The request-level `fallbacks` of a body read by `readJson`, when it had one. */
  fallbacksOf(body: Record<string, unknown>): string[] | undefined
  /** Reads a body of any content type (multipart uploads) as bytes, enforcing the size limit; 400/413 on bad input. */
  readBytes(c: Context): Promise<Uint8Array>
  /** The object `readJson` parsed for this request (`c.req.raw`), if it read one: hooks see it as `ctx.body`. */
  bodyOf(request: Request): Record<string, unknown> | undefined
}

/**
 * `bodyByRequest`: remember each parsed body by its request, for `bodyOf` (the context of a
 * forwarded call). Only when a hook can read it there; otherwise `bodyOf` answers undefined.
 */
export function createBodyReader(config: Config, options: { bodyByRequest?: boolean } = {}): BodyReader {
  const byRequest = options.bodyByRequest === true
  const maxBodyBytes = config.client.max_request_body_size_mb * 1024 * 1024
  const tooLarge = `request body is larger than ${config.client.max_request_body_size_mb} MB`
  const fail = (status: number, message: string, code = 'invalid_request') =>
    new GatewayError({ status, code, message, retryable: false, type: status === 413 ? 'request_too_large' : 'invalid_request_error' })
  /** Raw text of each parsed body, so passthrough can splice instead of re-serializing. */
  const rawBodies = new WeakMap<object, string>()
  const requestFallbacks = new WeakMap<object, string[]>()
  /** Each request's parsed body, for the context of calls that do not carry it (forwarded ones). */
  const bodies = new WeakMap<Request, Record<string, unknown>>()

  async function readJson(c: Context): Promise<Record<string, unknown>> {
    const length = Number(c.req.header('content-length') ?? 0)
    if (length > maxBodyBytes) throw fail(413, tooLarge, 'payload_too_large')
    let text: string
    try {
      text = await c.req.text()
    } catch (error) {
      throw fail(400, `could not read the request body: ${(error as Error).message}`)
    }
    if (text.length > maxBodyBytes) throw fail(413, tooLarge, 'payload_too_large')
    if (text.length === 0) throw fail(400, 'request body is empty; expected a JSON object')
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (error) {
      throw fail(400, `request body is not valid JSON: ${(error as Error).message}`)
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail(400, 'request body must be a JSON object')
    const record = body as Record<string, unknown>
    if (record.fallbacks !== undefined) {
      // The gateway's own field: no upstream may see it, so this body alone is re-serialized.
      requestFallbacks.set(record, parseFallbacksField(record.fallbacks))
      delete record.fallbacks
      text = JSON.stringify(record)
    }
    rawBodies.set(record, text)
    if (byRequest) bodies.set(c.req.raw, record)
    return record
  }

  async function readBytes(c: Context): Promise<Uint8Array> {
    const length = Number(c.req.header('content-length') ?? 0)
    if (length > maxBodyBytes) throw fail(413, tooLarge, 'payload_too_large')
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await c.req.arrayBuffer())
    } catch (error) {
      throw fail(400, `could not read the request body: ${(error as Error).message}`)
    }
    if (bytes.length > maxBodyBytes) throw fail(413, tooLarge, 'payload_too_large')
    if (bytes.length === 0) throw fail(400, 'request body is empty')
    return bytes
  }

  return {
    readJson,
    readBytes,
    rawBody: (body) => rawBodies.get(body) ?? JSON.stringify(body),
    fallbacksOf: (body) => requestFallbacks.get(body),
    bodyOf: (request) => bodies.get(request),
  }
}
