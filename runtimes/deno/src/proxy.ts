import type { ProxyConfig } from '@switchyard/core'
import { requireDeno, type DenoCreateHttpClientOptions } from './deno-api.js'

/**
 * `Deno.createHttpClient` options for a provider's `proxy_config`
 * (https://docs.deno.com/api/deno/~/Deno.createHttpClient): the proxy with its Basic credentials,
 * which Deno sends with each `CONNECT` (https upstreams) and with requests it forwards to a
 * plain-http upstream through an http proxy, and `caCerts` (trusted besides the system roots, for
 * the proxy's certificate and the upstream's alike).
 */
export function denoClientOptions(proxy: ProxyConfig): DenoCreateHttpClientOptions {
  const url = new URL(proxy.url)
  if (url.protocol !== `${proxy.type}:`) throw new Error(`proxy_config.type is "${proxy.type}" but proxy_config.url is ${url.protocol}//...`)
  const credentials = proxy.username !== undefined || proxy.password !== undefined
  return {
    proxy: { transport: proxy.type, url: proxy.url, ...(credentials && { basicAuth: { username: proxy.username ?? '', password: proxy.password ?? '' } }) },
    ...(proxy.ca_cert_pem && { caCerts: [proxy.ca_cert_pem] }),
  }
}

/** `Basic base64(user:password)` (RFC 7617, UTF-8). */
function basicCredentials(username: string, password: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(`${username}:${password}`)) binary += String.fromCharCode(byte)
  return `Basic ${btoa(binary)}`
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

const urlOf = (input: RequestInfo | URL) => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)

/**
 * `createGateway`'s `fetchFor` on Deno: one `Deno.HttpClient` per proxied provider, passed to
 * `fetch` as `client`. The process exit closes it.
 */
export function denoFetchFor(_providerId: string, proxy: ProxyConfig): typeof fetch {
  const options = denoClientOptions(proxy)
  const client = requireDeno().createHttpClient(options)
  // Deno leaves the credentials out of a plain-http request it forwards through an https proxy
  // (2.9): such requests carry them themselves. Never an https one: that header would go through
  // the tunnel to the upstream.
  const basicAuth = proxy.type === 'https' ? options.proxy.basicAuth : undefined
  const forwardedAuthorization = basicAuth && basicCredentials(basicAuth.username, basicAuth.password)
  return ((input: RequestInfo | URL, init?: RequestInit) => {
    let headers = init?.headers
    if (forwardedAuthorization && urlOf(input).startsWith('http:')) {
      const withCredentials = new Headers(headers)
      withCredentials.set('proxy-authorization', forwardedAuthorization)
      headers = withCredentials
    }
    return fetch(input, { ...init, headers, client } as RequestInit).then(refuseProxyAuthentication)
  }) as typeof fetch
}
