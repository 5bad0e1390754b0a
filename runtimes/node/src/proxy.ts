import { rootCertificates } from 'node:tls'
import type { ProxyConfig } from '@switchyard/core'
import { ProxyAgent } from 'undici'
import { createNodeTransport } from './transport.js'

/** The `ProxyAgent` options for a provider's `proxy_config`. */
export function proxyAgentOptions(proxy: ProxyConfig): ProxyAgent.Options {
  const url = new URL(proxy.url)
  if (url.protocol !== `${proxy.type}:`) throw new Error(`proxy_config.type is "${proxy.type}" but proxy_config.url is ${url.protocol}//...`)
  const options: ProxyAgent.Options = { uri: proxy.url }
  if (proxy.username !== undefined || proxy.password !== undefined) {
    // Basic credentials for `Proxy-Authorization` (RFC 7617), sent with every CONNECT.
    options.token = `Basic ${Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64')}`
  }
  if (proxy.ca_cert_pem) {
    // Trusted besides the system roots: for the proxy's own certificate and for a TLS-intercepting proxy.
    const ca = [...rootCertificates, proxy.ca_cert_pem]
    options.requestTls = { ca }
    options.proxyTls = { ca }
  }
  return options
}

/** Proxy transports of a gateway: one undici `ProxyAgent` per proxied provider, closed together. */
export interface ProxyTransports {
  /** `createGateway`'s `fetchFor`: a fetch that goes through the provider's proxy. */
  fetchFor(providerId: string, proxy: ProxyConfig): typeof fetch
  /** Closes every proxy connection (on shutdown). */
  close(): Promise<void>
}

/** Builds `fetchFor` on undici: the gateway's transport over a CONNECT tunnel through the proxy. */
export function createProxyTransports(): ProxyTransports {
  const agents: ProxyAgent[] = []
  return {
    fetchFor(_providerId, proxy) {
      const dispatcher = new ProxyAgent(proxyAgentOptions(proxy))
      agents.push(dispatcher)
      return createNodeTransport({ dispatcher }).fetch
    },
    async close() {
      await Promise.allSettled(agents.map((agent) => agent.close()))
      agents.length = 0
    },
  }
}
