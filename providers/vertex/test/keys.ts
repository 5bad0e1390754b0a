import type { ServiceAccount } from '../src/settings.js'

/** A fresh RSA key pair (Web Crypto) and a service account around its private key, as Google key files hold it. */
export async function makeServiceAccount(email = 'gateway@my-project.iam.gserviceaccount.com'): Promise<{ account: ServiceAccount; json: string; publicKey: CryptoKey }> {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))
  const base64 = btoa(String.fromCharCode(...der))
  const pem = `-----BEGIN PRIVATE KEY-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`
  const account: ServiceAccount = { client_email: email, private_key: pem, private_key_id: 'key-id-1', project_id: 'my-project', token_uri: 'https://oauth2.googleapis.com/token' }
  return { account, json: JSON.stringify({ type: 'service_account', ...account }), publicKey: pair.publicKey }
}

/** base64url -> bytes. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))
}

/** Checks a JWT's RS256 signature with `publicKey`; returns its header and claims. */
export async function verifyJwt(jwt: string, publicKey: CryptoKey): Promise<{ valid: boolean; header: Record<string, unknown>; claims: Record<string, unknown> }> {
  const [header, claims, signature] = jwt.split('.') as [string, string, string]
  const valid = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', publicKey, fromBase64url(signature), new TextEncoder().encode(`${header}.${claims}`))
  const decode = (part: string) => JSON.parse(new TextDecoder().decode(fromBase64url(part))) as Record<string, unknown>
  return { valid, header: decode(header), claims: decode(claims) }
}

/** A fake OAuth token endpoint: records each call, answers with `respond` (default: a fresh token). */
export function fakeTokenEndpoint(respond?: (call: number, body: URLSearchParams) => Response | Promise<Response>) {
  const calls: Array<{ url: string; body: URLSearchParams; headers: Headers }> = []
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const body = new URLSearchParams(String(init?.body))
    calls.push({ url: String(input), body, headers: new Headers(init?.headers) })
    if (respond) return respond(calls.length, body)
    return Response.json({ access_token: `ya29.token-${calls.length}`, expires_in: 3599, token_type: 'Bearer' })
  }) as typeof globalThis.fetch
  return { fetch, calls }
}
