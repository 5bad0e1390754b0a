import { codeForStatus, GatewayError, type UpstreamContext } from '@switchyard/core'

/** Upstream headers worth handing to the caller with an error. */
const KEPT_HEADERS = ['retry-after', 'x-amzn-requestid', 'x-amzn-errortype']

/** Removes the key material of the chosen credentials (and anything shaped like an AWS secret) from text. */
export function scrubAwsSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('***')
  return out.replace(/\b((?:AKIA|ASIA)[A-Z0-9]{4})[A-Z0-9]{8,}\b/g, '$1***')
}

/** The secrets of the key in use: the whole value, and each string member of JSON credentials. */
function secretsOf(context: Pick<UpstreamContext, 'key'>): string[] {
  const value = context.key?.value
  if (!value) return []
  const secrets = [value]
  try {
    const json: unknown = JSON.parse(value)
    if (typeof json === 'object' && json !== null) for (const member of Object.values(json)) if (typeof member === 'string') secrets.push(member)
  } catch {
    // an API key: the value itself is the secret
  }
  return secrets
}

/**
 * Bedrock error response -> GatewayError with the upstream status kept. Bedrock answers
 * `{"message": "..."}` and names the exception in the `x-amzn-errortype` header
 * (`ValidationException:http://internal.amazon.com/coral/...`); the name before `:` becomes `type`.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
 */
export function parseBedrockError(status: number, body: string, headers: Headers, context: Pick<UpstreamContext, 'providerId' | 'key'>): GatewayError {
  const provider = context.providerId
  const secrets = secretsOf(context)
  let message = `request failed with status ${status}`
  try {
    const json = JSON.parse(body) as Record<string, unknown>
    const text = json.message ?? json.Message
    if (typeof text === 'string') message = text
  } catch {
    if (body.trim()) message = body.trim().slice(0, 500)
  }
  const errorType = headers.get('x-amzn-errortype')?.split(':')[0] || undefined
  const kept: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  return new GatewayError({
    status,
    code: codeForStatus(status),
    message: `[${provider}] ${errorType ? `${errorType}: ` : ''}${scrubAwsSecrets(message, secrets)}`,
    provider,
    type: errorType,
    upstream: { status, body: scrubAwsSecrets(body, secrets).slice(0, 4000), headers: kept },
    headers: kept['retry-after'] ? { 'retry-after': kept['retry-after'] } : undefined,
  })
}
