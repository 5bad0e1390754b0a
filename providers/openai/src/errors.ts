import { codeForStatus, formatSse, GatewayError, type UpstreamContext } from '@switchyard/core'

/** OpenAI's `error.type` for each gateway error code. */
const TYPE_FOR_CODE: Record<string, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  budget_exceeded: 'insufficient_quota',
  timeout: 'timeout_error',
  upstream: 'api_error',
  overloaded: 'server_error',
  internal: 'server_error',
}

/** Upstream headers worth handing to the caller with an error. */
const KEPT_HEADERS = ['retry-after', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens']

/** Removes anything that looks like a credential from upstream text before it is kept or shown. */
export function scrubSecrets(text: string, key?: string): string {
  let out = text
  if (key && key.length >= 8) out = out.split(key).join('***')
  return out.replace(/\b(sk-[A-Za-z0-9_-]{4})[A-Za-z0-9_*-]{8,}/g, '$1***')
}

/** OpenAI error response (status, body text, headers) -> GatewayError. */
export function parseOpenAIError(status: number, body: string, headers: Headers, context: Pick<UpstreamContext, 'providerId' | 'key'>): GatewayError {
  const provider = context.providerId
  let message = `request failed with status ${status}`
  let type: string | undefined
  let param: string | undefined
  let code: string | undefined
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown }
    const error = (typeof json.error === 'object' && json.error !== null ? json.error : json) as Record<string, unknown>
    if (typeof error.message === 'string') message = error.message
    else if (typeof json.error === 'string') message = json.error
    // Compatible servers built on FastAPI/pydantic (Mistral's 422s, vLLM) send the details as objects.
    else if (error.message != null && typeof error.message === 'object') message = JSON.stringify(error.message).slice(0, 1000)
    else if (typeof json.detail === 'string') message = json.detail
    else if (json.detail != null && typeof json.detail === 'object') message = JSON.stringify(json.detail).slice(0, 1000)
    if (typeof error.type === 'string') type = error.type
    if (typeof error.param === 'string') param = error.param
    if (typeof error.code === 'string') code = error.code
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
    message: `[${provider}] ${scrubSecrets(message, key)}`,
    provider,
    type: code ?? type,
    param,
    upstream: { status, body: scrubSecrets(body, key).slice(0, 4000), headers: kept },
    headers: kept['retry-after'] ? { 'retry-after': kept['retry-after'] } : undefined,
  })
}

/** GatewayError -> OpenAI-shaped error body. */
export function toOpenAIErrorBody(error: GatewayError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const upstreamType = error.type
  const type = upstreamType && upstreamType.endsWith('_error') ? upstreamType : (TYPE_FOR_CODE[error.code] ?? 'api_error')
  const code = upstreamType && !upstreamType.endsWith('_error') ? upstreamType : error.code === 'not_found' ? 'model_not_found' : null
  return { error: { message: error.message, type, param: error.param ?? null, code } }
}

/** GatewayError -> OpenAI-shaped error response with the status kept. */
export function renderOpenAIError(error: GatewayError): Response {
  return new Response(JSON.stringify(toOpenAIErrorBody(error)), {
    status: error.status,
    headers: { 'content-type': 'application/json' },
  })
}

/**
 * A stream that fails after it started, as OpenAI reports it: `data: {"error":{...}}` (no `[DONE]`
 * follows). The SDKs raise an `APIError` for such a frame whatever the stream's event types.
 */
export function openAIStreamErrorFrame(error: GatewayError): string {
  return formatSse(JSON.stringify(toOpenAIErrorBody(error)))
}
