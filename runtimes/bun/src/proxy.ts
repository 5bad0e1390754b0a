import { rootCertificates } from 'node:tls'
import type { ProxyConfig } from '@switchyard/core'

/**
 * Bun's own `fetch` options for a provider's `proxy_config` (https://bun.sh/guides/http/proxy):
 * `proxy.url` and the `Proxy-Authorization` header Bun sends to the proxy (with each `CONNECT`
 * for an https upstream, with the request itself for a plain-http one), and `tls.ca` (the system
 * roots plus `ca_cert_pem`), which Bun applies to the proxy's certificate and the upstream's alike.
 */
export interface BunProxyOptions {
  proxy: { url: string; headers?: Record<string, string> }
  tls?: { ca: string[] }
}

/** `Basic base64(user:password)` (RFC 7617, UTF-8), or undefined without credentials. */
function basicCredentials(proxy: ProxyConfig): string | undefined {
  if (proxy.username === undefined && proxy.password === undefined) return undefined
  const bytes = new TextEncoder().encode(`${proxy.username ?? ''}:${proxy.password ?? ''}`)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `Basic ${btoa(binary)}`
}

/** The fetch options for `proxy`; a `type` that contradicts the URL's scheme is refused (the start fails). */
export function bunProxyOptions(proxy: ProxyConfig): BunProxyOptions {
  const url = new URL(proxy.url)
  if (url.protocol !== `${proxy.type}:`) throw new Error(`proxy_config.type is "${proxy.type}" but proxy_config.url is ${url.protocol}//...`)
  const authorization = basicCredentials(proxy)
  return {
    proxy: { url: proxy.url, ...(authorization && { headers: { 'proxy-authorization': authorization } }) },
    ...(proxy.ca_cert_pem && { tls: { ca: [...rootCertificates, proxy.ca_cert_pem] } }),
  }
}

/**
 * A 407 answer can only be the proxy's (to a plain-http request it forwards): a connection failure
 * of the provider, like a refused `CONNECT`, never an answer for the caller.
 */
function refuseProxyAuthentication(response: Response): Response {
  if (response.status !== 407) return response
  response.body?.cancel().catch(() => {})
  throw new TypeError('the proxy refused the credentials (407 Proxy Authentication Required)')
}

/** `createGateway`'s `fetchFor` on Bun: the provider's requests go through its proxy. */
export function bunFetchFor(_providerId: string, proxy: ProxyConfig): typeof fetch {
  const options = bunProxyOptions(proxy)
  return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, ...options } as RequestInit).then(refuseProxyAuthentication)) as typeof fetch
}
