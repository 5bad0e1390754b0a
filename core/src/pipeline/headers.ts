import type { Config } from '../config.js'

/** Headers that describe one hop, never the request: they are not forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])

/**
 * Credentials of any provider (and the caller's cookies): never forwarded, whatever the
 * allowlist says. The upstream's own credential is set by its provider package.
 */
export const NEVER_FORWARD: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'x-amz-security-token', 'x-amz-date', 'x-amz-content-sha256'])

/** Caller headers to forward: the allowlist minus denylist, hop-by-hop, credentials and x-bf-*. */
export function forwardableHeaders(config: Config): (headers: Headers) => Record<string, string> | undefined {
  const filter = config.client.header_filter_config
  const deny = new Set((filter?.denylist ?? []).map((name) => name.toLowerCase()))
  const allow = (filter?.allowlist ?? [])
    .map((name) => name.toLowerCase())
    .filter((name) => !deny.has(name) && !HOP_BY_HOP.has(name) && !NEVER_FORWARD.has(name) && !name.startsWith('x-bf-'))
  if (allow.length === 0) return () => undefined
  return (headers) => {
    let out: Record<string, string> | undefined
    for (const name of allow) {
      const value = headers.get(name)
      if (value !== null) (out ??= {})[name] = value
    }
    return out
  }
}

/**
 * The caller's own provider key, when direct keys are allowed: `Authorization: Bearer`,
 * `x-api-key`, `x-goog-api-key`, or `api-key` (what the AzureOpenAI SDK sends).
 */
export function directKeyOf(headers: Headers): string | undefined {
  const authorization = headers.get('authorization')
  if (authorization && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') return authorization.slice(7).trim()
  return headers.get('x-api-key') ?? headers.get('x-goog-api-key') ?? headers.get('api-key') ?? undefined
}
