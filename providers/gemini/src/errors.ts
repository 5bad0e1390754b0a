import { codeForStatus, GatewayError, type UpstreamContext } from '@switchyard/core'
import { isObject, type Json } from './wire.js'

/**
 * Gemini errors, both ways: `{"error": {"code", "message", "status", "details"}}` (the Google API
 * error model, https://ai.google.dev/gemini-api/docs/troubleshooting) <-> GatewayError.
 */

/** Google's canonical status name for each HTTP status (https://cloud.google.com/apis/design/errors). */
export function geminiErrorStatus(status: number): string {
  switch (status) {
    case 400: return 'INVALID_ARGUMENT'
    case 401: return 'UNAUTHENTICATED'
    case 402: return 'RESOURCE_EXHAUSTED'
    case 403: return 'PERMISSION_DENIED'
    case 404: return 'NOT_FOUND'
    case 409: return 'ABORTED'
    case 413: return 'INVALID_ARGUMENT'
    case 429: return 'RESOURCE_EXHAUSTED'
    case 499: return 'CANCELLED'
    case 501: return 'UNIMPLEMENTED'
    case 503: return 'UNAVAILABLE'
    case 504: return 'DEADLINE_EXCEEDED'
    default: return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'
  }
}

const CANONICAL = new Set([
  'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'UNAUTHENTICATED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
])

/** HTTP status of each canonical status name, for errors that arrive inside a 200 stream. */
const HTTP_FOR_STATUS: Readonly<Record<string, number>> = {
  CANCELLED: 499, UNKNOWN: 500, INVALID_ARGUMENT: 400, DEADLINE_EXCEEDED: 504, NOT_FOUND: 404, ALREADY_EXISTS: 409, PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401, RESOURCE_EXHAUSTED: 429, FAILED_PRECONDITION: 400, ABORTED: 409, OUT_OF_RANGE: 400, UNIMPLEMENTED: 501,
  INTERNAL: 500, UNAVAILABLE: 503, DATA_LOSS: 500,
}

/**
 * Removes the key and anything shaped like a Google credential (API keys `AIza...`, OAuth access
 * tokens `ya29....`) from upstream text.
 */
export function scrubGeminiSecrets(text: string, key?: string): string {
  let out = text
  if (key && key.length >= 8) out = out.split(key).join('***')
  return out.replace(/\bAIza[0-9A-Za-z_-]{8,}/g, 'AIza***').replace(/\bya29\.[0-9A-Za-z_.-]{8,}/g, 'ya29.***')
}

/** The `error` object of a Google error body; streaming errors sometimes come as a one-element array. */
function errorObject(json: unknown): Json | undefined {
  const body = Array.isArray(json) ? json[0] : json
  return isObject(body) && isObject(body.error) ? body.error : undefined
}

/** `google.rpc.RetryInfo.retryDelay` ("37s", "1.5s") in whole seconds, for `retry-after`. */
function retryDelayOf(error: Json): string | undefined {
  if (!Array.isArray(error.details)) return undefined
  for (const detail of error.details) {
    if (!isObject(detail) || typeof detail['@type'] !== 'string' || !detail['@type'].endsWith('google.rpc.RetryInfo')) continue
    const match = typeof detail.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay) : null
    if (match) return String(Math.ceil(Number(match[1])))
  }
  return undefined
}

const KEPT_HEADERS = ['retry-after', 'x-goog-request-id', 'server-timing']

/** Options of {@link parseGeminiError}. */
export type GeminiErrorContext = Pick<UpstreamContext, 'providerId' | 'key'>

/**
 * Gemini error response -> GatewayError with the HTTP status kept (429 `RESOURCE_EXHAUSTED`, 5xx
 * retryable). `type` is Google's status name; a `RetryInfo` detail becomes `retry-after`.
 */
export function parseGeminiError(status: number, body: string, headers: Headers, context: GeminiErrorContext): GatewayError {
  const provider = context.providerId
  let message = `request failed with status ${status}`
  let type: string | undefined
  let retryAfter: string | undefined
  try {
    const error = errorObject(JSON.parse(body))
    if (error) {
      if (typeof error.message === 'string' && error.message) message = error.message
      if (typeof error.status === 'string') type = error.status
      retryAfter = retryDelayOf(error)
    }
  } catch {
    if (body.trim()) message = body.trim().slice(0, 500)
  }
  const kept: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  retryAfter = kept['retry-after'] ?? retryAfter
  const key = context.key?.value
  return new GatewayError({
    status,
    code: codeForStatus(status),
    message: `[${provider}] ${scrubGeminiSecrets(message, key)}`,
    provider,
    type,
    upstream: { status, body: scrubGeminiSecrets(body, key).slice(0, 4000), headers: kept },
    headers: retryAfter ? { 'retry-after': retryAfter } : undefined,
  })
}

/**
 * An `{"error": {...}}` object that arrived inside a 200 stream -> GatewayError, with the HTTP
 * status its `code` (or its status name) gives; 502 when it names none.
 */
export function parseGeminiStreamError(json: unknown, data: string, provider: string): GatewayError {
  const error = errorObject(json) ?? {}
  const name = typeof error.status === 'string' ? error.status : undefined
  const code = typeof error.code === 'number' && error.code >= 400 && error.code < 600 ? error.code : undefined
  const status = code ?? (name !== undefined && Object.hasOwn(HTTP_FOR_STATUS, name) ? HTTP_FOR_STATUS[name]! : 502)
  return new GatewayError({
    status,
    code: codeForStatus(status),
    provider,
    type: name,
    message: `[${provider}] ${typeof error.message === 'string' && error.message ? error.message : 'the stream failed'}`,
    upstream: { status, body: scrubGeminiSecrets(data).slice(0, 4000) },
  })
}

/** GatewayError -> Gemini error body `{error: {code, message, status}}`. */
export function toGeminiErrorBody(error: GatewayError): { error: { code: number; message: string; status: string } } {
  const status = error.type && CANONICAL.has(error.type) ? error.type : geminiErrorStatus(error.status)
  return { error: { code: error.status, message: error.message, status } }
}

/** GatewayError -> Gemini-shaped error response, HTTP status (and `retry-after`) kept. */
export function renderGeminiError(error: GatewayError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' }
  const retryAfter = error.headers?.['retry-after']
  if (retryAfter) headers['retry-after'] = retryAfter
  return new Response(JSON.stringify(toGeminiErrorBody(error)), { status: error.status, headers })
}
