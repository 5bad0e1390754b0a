import { codeForStatus, GatewayError, type UpstreamContext } from '@switchyard/core'

/** Upstream headers worth handing to the caller with an error. */
const KEPT_HEADERS = ['retry-after', 'x-trial-endpoint-call-limit', 'x-trial-endpoint-call-remaining', 'x-endpoint-monthly-call-limit']

/**
 * Cohere's own statuses (https://docs.cohere.com/reference/errors): 498 "invalid token" is an
 * authentication failure; 499 "request cancelled" a failure the caller may retry.
 */
const STATUS_OF: Readonly<Record<number, number>> = { 498: 401, 499: 503 }

/** Removes the key (and anything key-shaped) from upstream text before it is kept or shown. */
export function scrubCohereSecrets(text: string, key?: string): string {
  return key && key.length >= 8 ? text.split(key).join('***') : text
}

/** Cohere error response (`{"id", "message"}`) -> GatewayError with the status kept (or mapped, see above). */
export function parseCohereError(status: number, body: string, headers: Headers, context: Pick<UpstreamContext, 'providerId' | 'key'>): GatewayError {
  const provider = context.providerId
  const key = context.key?.value
  let message = `request failed with status ${status}`
  try {
    const json = JSON.parse(body) as { message?: unknown; error?: unknown }
    if (typeof json.message === 'string') message = json.message
    else if (typeof json.error === 'string') message = json.error
  } catch {
    if (body.trim()) message = body.trim().slice(0, 500)
  }
  const kept: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  const mapped = STATUS_OF[status] ?? status
  return new GatewayError({
    status: mapped,
    code: codeForStatus(mapped),
    message: `[${provider}] ${scrubCohereSecrets(message, key)}`,
    provider,
    upstream: { status, body: scrubCohereSecrets(body, key).slice(0, 4000), headers: kept },
    headers: kept['retry-after'] ? { 'retry-after': kept['retry-after'] } : undefined,
  })
}
