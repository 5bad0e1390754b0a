import { GatewayError } from '@switchyard/core'
import type { ServiceAccount } from './settings.js'

/**
 * Service-account auth for Vertex AI with Web Crypto only: a JWT signed with the account's RSA key
 * (RS256) is exchanged at Google's OAuth token endpoint for an access token
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest), which is
 * cached until shortly before it expires.
 */

/** The OAuth scope Vertex AI needs. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
/** Lifetime asked for in the JWT (Google's maximum), in seconds. */
const JWT_LIFETIME = 3600

const encoder = new TextEncoder()

/** Bytes or text -> base64url without padding (JWT encoding). */
export function base64url(input: Uint8Array | string): string {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input
  let binary = ''
  for (let index = 0; index < bytes.length; index += 0x8000) binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000))
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const keyError = (message: string) =>
  new GatewayError({ status: 500, code: 'config', provider: 'vertex', message: `[vertex] ${message}`, retryable: false })

/** A PEM `PRIVATE KEY` (PKCS #8, as in Google key files) -> an RS256 signing key. */
export async function importServiceAccountKey(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\\n/g, '').replace(/\s+/g, '')
  let der: Uint8Array<ArrayBuffer>
  try {
    der = Uint8Array.from(atob(body), (char) => char.charCodeAt(0))
  } catch {
    throw keyError('the service account private_key is not a PEM key')
  }
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
  } catch {
    throw keyError('the service account private_key is not a PKCS #8 RSA key')
  }
}

/** Options of {@link signServiceAccountJwt}. */
export interface JwtOptions {
  /** Issue time, Unix seconds. */
  now: number
  /** The token endpoint (`aud`). */
  audience: string
  /** Default {@link CLOUD_PLATFORM_SCOPE}. */
  scope?: string
  /** The imported key; imported from the account when absent. */
  key?: CryptoKey
}

/**
 * The JWT a service account presents for a token: header `{alg: RS256, typ: JWT, kid}`, claims
 * `{iss, scope, aud, iat, exp}` (one hour), signed with RSASSA-PKCS1-v1_5 / SHA-256.
 */
export async function signServiceAccountJwt(account: ServiceAccount, options: JwtOptions): Promise<string> {
  const header = { alg: 'RS256', typ: 'JWT', ...(account.private_key_id !== undefined && { kid: account.private_key_id }) }
  const claims = { iss: account.client_email, scope: options.scope ?? CLOUD_PLATFORM_SCOPE, aud: options.audience, iat: options.now, exp: options.now + JWT_LIFETIME }
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
  const key = options.key ?? (await importServiceAccountKey(account.private_key))
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, encoder.encode(input))
  return `${input}.${base64url(new Uint8Array(signature))}`
}

/** Options of {@link VertexTokenCache}. */
export interface TokenCacheOptions {
  /** Clock in Unix milliseconds. Default `Date.now`. */
  now?: () => number
  /** A token is renewed this many seconds before it expires. Default 60. */
  refreshMarginSeconds?: number
  /** Longest wait for the token endpoint (ms). Default 30000. */
  timeoutMs?: number
}

/** One token request: the transport to use and where to send it. */
export interface TokenRequest {
  fetch: typeof fetch
  tokenUrl: string
  /** The attempt's signal: a caller that goes away stops waiting (the shared exchange goes on). */
  signal?: AbortSignal
}

/** Waits for `promise` unless `signal` aborts first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    )
  })
}

/**
 * Access tokens per service account (and token endpoint), shared by all calls: a cached token is
 * used until `refreshMarginSeconds` before it expires; concurrent calls share one exchange; a
 * failed exchange is not cached.
 */
export class VertexTokenCache {
  private readonly now: () => number
  private readonly margin: number
  private readonly timeoutMs: number
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>()
  private readonly pending = new Map<string, Promise<string>>()
  private readonly keys = new Map<string, Promise<CryptoKey>>()

  constructor(options: TokenCacheOptions = {}) {
    this.now = options.now ?? Date.now
    this.margin = (options.refreshMarginSeconds ?? 60) * 1000
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  /** An access token for `account`: cached, or from a new exchange. */
  token(account: ServiceAccount, request: TokenRequest): Promise<string> {
    const id = `${account.client_email}\n${account.private_key_id ?? ''}\n${request.tokenUrl}`
    const cached = this.tokens.get(id)
    if (cached && this.now() < cached.expiresAt - this.margin) return Promise.resolve(cached.token)
    let exchange = this.pending.get(id)
    if (!exchange) {
      exchange = this.exchange(account, request).then(
        ({ token, expiresIn }) => {
          this.tokens.set(id, { token, expiresAt: this.now() + expiresIn * 1000 })
          this.pending.delete(id)
          return token
        },
        (error: unknown) => {
          this.pending.delete(id)
          throw error
        },
      )
      // Every waiter may have gone away: the failure is then nobody's to handle.
      exchange.catch(() => {})
      this.pending.set(id, exchange)
    }
    return raceAbort(exchange, request.signal)
  }

  /** Forgets every token (a key was rotated ...). */
  clear(): void {
    this.tokens.clear()
  }

  private signingKey(account: ServiceAccount): Promise<CryptoKey> {
    const id = `${account.client_email}\n${account.private_key_id ?? account.private_key}`
    let key = this.keys.get(id)
    if (!key) {
      key = importServiceAccountKey(account.private_key)
      key.catch(() => this.keys.delete(id))
      this.keys.set(id, key)
    }
    return key
  }

  private async exchange(account: ServiceAccount, request: TokenRequest): Promise<{ token: string; expiresIn: number }> {
    const assertion = await signServiceAccountJwt(account, { now: Math.floor(this.now() / 1000), audience: request.tokenUrl, key: await this.signingKey(account) })
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString()
    let response: Response
    try {
      response = await request.fetch(request.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (error) {
      throw new GatewayError({ status: 502, code: 'upstream', provider: 'vertex', message: `[vertex] service-account token exchange failed: ${(error as Error)?.message ?? String(error)}`, retryable: true, cause: error })
    }
    const text = await response.text().catch(() => '')
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // described below by status
    }
    if (!response.ok) {
      // A refused grant (bad key, disabled account, clock skew) is the operator's credential problem: 401.
      const status = response.status === 429 || response.status >= 500 ? (response.status === 429 ? 429 : 502) : 401
      const reason = [json.error, json.error_description].filter((part) => typeof part === 'string').join(': ') || `status ${response.status}`
      throw new GatewayError({
        status,
        code: status === 401 ? 'authentication' : status === 429 ? 'rate_limit' : 'upstream',
        provider: 'vertex',
        message: `[vertex] service-account token exchange for ${account.client_email} failed: ${reason}`,
        upstream: { status: response.status },
      })
    }
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new GatewayError({ status: 502, code: 'upstream', provider: 'vertex', message: '[vertex] the token endpoint answered without an access_token' })
    }
    const expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : JWT_LIFETIME
    return { token: json.access_token, expiresIn }
  }
}
