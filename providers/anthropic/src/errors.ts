import { codeForStatus, GatewayError, type UpstreamContext } from '@switchyard/core'

/** Anthropic's error `type` for each HTTP status (https://docs.anthropic.com/en/api/errors). */
export function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 402) return 'billing_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 413) return 'request_too_large'
  if (status === 429) return 'rate_limit_error'
  if (status === 504) return 'timeout_error'
  if (status === 529 || status === 503) return 'overloaded_error'
  if (status >= 500) return 'api_error'
  return 'invalid_request_error'
}

const KEPT_HEADERS = ['retry-after', 'anthropic-ratelimit-requests-remaining', 'anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-tokens-reset', 'request-id']

/** Removes the key (and anything shaped like an Anthropic key) from upstream text. */
export function scrubAnthropicSecrets(text: string, key?: string): string {
  let out = text
  if (key && key.length >= 8) out = out.split(key).join('***')
  return out.replace(/\b(sk-ant-[A-Za-z0-9]{3})[A-Za-z0-9_*-]{8,}/g, '$1***')
}

/** Anthropic error response -> GatewayError (529 overloaded is retryable). */
export function parseAnthropicError(status: number, body: string, headers: Headers, context: Pick<UpstreamContext, 'providerId' | 'key'>): GatewayError {
  const provider = context.providerId
  let message = `request failed with status ${status}`
  let type: string | undefined
  try {
    const json = JSON.parse(body) as { error?: { type?: unknown; message?: unknown } }
    if (typeof json.error?.message === 'string') message = json.error.message
    if (typeof json.error?.type === 'string') type = json.error.type
  } catch {
    if (body.trim()) message = body.trim().slice(0, 500)
  }
  const kept: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  const key = context.key?.value
  return new GatewayError({
    status,
    code: codeForStatus(status),
    message: `[${provider}] ${scrubAnthropicSecrets(message, key)}`,
    provider,
    type,
    upstream: { status, body: scrubAnthropicSecrets(body, key).slice(0, 4000), headers: kept },
    headers: kept['retry-after'] ? { 'retry-after': kept['retry-after'] } : undefined,
  })
}

const ANTHROPIC_ERROR_TYPES = new Set(['invalid_request_error', 'authentication_error', 'billing_error', 'permission_error', 'not_found_error', 'request_too_large', 'rate_limit_error', 'timeout_error', 'api_error', 'overloaded_error'])

/** GatewayError -> Anthropic error body `{type:"error", error:{type, message}}`. */
export function toAnthropicErrorBody(error: GatewayError): { type: 'error'; error: { type: string; message: string } } {
  const type = error.type && ANTHROPIC_ERROR_TYPES.has(error.type) ? error.type : anthropicErrorType(error.status)
  return { type: 'error', error: { type, message: error.message } }
}

/** GatewayError -> Anthropic-shaped error response, status kept. */
export function renderAnthropicError(error: GatewayError): Response {
  return new Response(JSON.stringify(toAnthropicErrorBody(error)), { status: error.status, headers: { 'content-type': 'application/json' } })
}
