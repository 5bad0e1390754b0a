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
}

export function createBodyReader(config: Config): BodyReader {
  const maxBodyBytes = config.client.max_request_body_size_mb * 1024 * 1024
  const tooLarge = `request body is larger than ${config.client.max_request_body_size_mb} MB`
  const fail = (status: number, message: string, code = 'invalid_request') =>
    new GatewayError({ status, code, message, retryable: false, type: status === 413 ? 'request_too_large' : 'invalid_request_error' })
  /** Raw text of each parsed body, so passthrough can splice instead of re-serializing. */
  const rawBodies = new WeakMap<object, string>()
  const requestFallbacks = new WeakMap<object, string[]>()

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
    return record
  }

  return {
    readJson,
    rawBody: (body) => rawBodies.get(body) ?? JSON.stringify(body),
    fallbacksOf: (body) => requestFallbacks.get(body),
  }
}
