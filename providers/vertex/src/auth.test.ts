import { beforeAll, describe, expect, it } from 'vitest'
import { GatewayError } from '@switchyard/core'
import { fakeTokenEndpoint, makeServiceAccount, verifyJwt } from '../test/keys.js'
import { base64url, CLOUD_PLATFORM_SCOPE, importServiceAccountKey, signServiceAccountJwt, VertexTokenCache } from './auth.js'
import type { ServiceAccount } from './settings.js'

const TOKEN_URL = 'https://oauth2.googleapis.com/token'
let account: ServiceAccount
let publicKey: CryptoKey

beforeAll(async () => {
  ;({ account, publicKey } = await makeServiceAccount())
})

describe('signServiceAccountJwt', () => {
  it('signs an RS256 JWT the public key verifies, with Google\'s claims', async () => {
    const jwt = await signServiceAccountJwt(account, { now: 1_700_000_000, audience: TOKEN_URL })
    const { valid, header, claims } = await verifyJwt(jwt, publicKey)
    expect(valid).toBe(true)
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-id-1' })
    expect(claims).toEqual({ iss: account.client_email, scope: CLOUD_PLATFORM_SCOPE, aud: TOKEN_URL, iat: 1_700_000_000, exp: 1_700_003_600 })
  })

  it('fails verification when the signed content is changed', async () => {
    const jwt = await signServiceAccountJwt(account, { now: 1_700_000_000, audience: TOKEN_URL })
    const [, , signature] = jwt.split('.')
    const forged = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify({ iss: 'someone@else' }))}.${signature}`
    expect((await verifyJwt(forged, publicKey)).valid).toBe(false)
  })

  it('reads keys whose newlines were escaped, and refuses what is not a PKCS #8 key', async () => {
    await expect(importServiceAccountKey(account.private_key.replace(/\n/g, '\\n'))).resolves.toBeDefined()
    await expect(importServiceAccountKey('-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----')).rejects.toMatchObject({ status: 500, code: 'config' })
    await expect(importServiceAccountKey(`-----BEGIN PRIVATE KEY-----\n${btoa('short')}\n-----END PRIVATE KEY-----`)).rejects.toThrow(/PKCS #8/)
  })
})

describe('VertexTokenCache', () => {
  it('exchanges a signed JWT for a token through the given fetch, then serves it from cache', async () => {
    let now = 1_700_000_000_000
    const cache = new VertexTokenCache({ now: () => now })
    const endpoint = fakeTokenEndpoint()
    expect(await cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.token-1')
    expect(endpoint.calls).toHaveLength(1)
    const [call] = endpoint.calls
    expect(call!.url).toBe(TOKEN_URL)
    expect(call!.headers.get('content-type')).toBe('application/x-www-form-urlencoded')
    expect(call!.body.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer')
    const { valid, claims } = await verifyJwt(call!.body.get('assertion')!, publicKey)
    expect(valid).toBe(true)
    expect(claims).toMatchObject({ iss: account.client_email, aud: TOKEN_URL, iat: 1_700_000_000 })

    now += 3000 * 1000
    expect(await cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.token-1')
    expect(endpoint.calls).toHaveLength(1)
    // The token lives 3599 s; within 60 s of its end a new one is fetched.
    now += 540 * 1000
    expect(await cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.token-2')
    expect(endpoint.calls).toHaveLength(2)
  })

  it('shares one exchange among concurrent calls, and keeps accounts apart', async () => {
    const cache = new VertexTokenCache()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const endpoint = fakeTokenEndpoint(async (call) => {
      await gate
      return Response.json({ access_token: `ya29.shared-${call}`, expires_in: 3600 })
    })
    const waiting = Promise.all([1, 2, 3].map(() => cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })))
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    expect(await waiting).toEqual(['ya29.shared-1', 'ya29.shared-1', 'ya29.shared-1'])
    const other = (await makeServiceAccount('other@my-project.iam.gserviceaccount.com')).account
    expect(await cache.token(other, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.shared-2')
  })

  it('maps a refused grant to 401 and does not cache failures', async () => {
    const cache = new VertexTokenCache()
    const refusing = fakeTokenEndpoint(() => Response.json({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, { status: 400 }))
    const error = await cache.token(account, { fetch: refusing.fetch, tokenUrl: TOKEN_URL }).catch((caught: unknown) => caught)
    expect(GatewayError.is(error)).toBe(true)
    expect(error).toMatchObject({ status: 401, code: 'authentication', retryable: false })
    expect((error as Error).message).toBe(`[vertex] service-account token exchange for ${account.client_email} failed: invalid_grant: Invalid JWT Signature.`)
    expect((error as Error).message).not.toContain('PRIVATE KEY')
    const working = fakeTokenEndpoint()
    expect(await cache.token(account, { fetch: working.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.token-1')
  })

  it('maps an unavailable endpoint or a network failure to a retryable 502', async () => {
    const cache = new VertexTokenCache()
    const down = fakeTokenEndpoint(() => new Response('oops', { status: 503 }))
    await expect(cache.token(account, { fetch: down.fetch, tokenUrl: TOKEN_URL })).rejects.toMatchObject({ status: 502, retryable: true })
    const broken = (async () => {
      throw new TypeError('fetch failed')
    }) as typeof fetch
    await expect(cache.token(account, { fetch: broken, tokenUrl: TOKEN_URL })).rejects.toMatchObject({ status: 502, retryable: true, message: '[vertex] service-account token exchange failed: fetch failed' })
    const empty = fakeTokenEndpoint(() => Response.json({ token_type: 'Bearer' }))
    await expect(cache.token(account, { fetch: empty.fetch, tokenUrl: TOKEN_URL })).rejects.toMatchObject({ status: 502 })
  })

  it('stops waiting when the caller goes away, and still caches the token for the next call', async () => {
    const cache = new VertexTokenCache()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const endpoint = fakeTokenEndpoint(async () => {
      await gate
      return Response.json({ access_token: 'ya29.late', expires_in: 3600 })
    })
    const controller = new AbortController()
    const waiting = cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL, signal: controller.signal })
    controller.abort(new DOMException('gone', 'AbortError'))
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    release()
    expect(await cache.token(account, { fetch: endpoint.fetch, tokenUrl: TOKEN_URL })).toBe('ya29.late')
    expect(endpoint.calls).toHaveLength(1)
  })
})
