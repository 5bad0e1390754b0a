import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { createGateway, parseConfig, silentLogger } from '@switchyard/core'
import openaiPackage from '@switchyard/provider-openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { contentOf, drain, hello, openaiProvider, rejection, useRouting, type OpenAIError } from './support/routing.js'
import { testRuntime } from './support/runtime-process.js'

/**
 * Outbound proxy: `providers.<id>.proxy_config` sends that provider's upstream requests through
 * an HTTP(S) proxy, with `Proxy-Authorization: Basic` when a user is set and `ca_cert_pem`
 * trusted for a proxy with a private CA. Other providers go direct. Every runtime proxies:
 * Node through undici's ProxyAgent, Bun through its fetch's `proxy` option, Deno through
 * `Deno.createHttpClient`.
 *
 * The upstreams here speak plain HTTP. Node tunnels every request with CONNECT; Bun and Deno
 * send a request for a plain-http upstream to the proxy itself (absolute URI), as curl does, and
 * tunnel only https upstreams. The test proxy serves both ways and records which one it saw.
 */

interface ProxySeen {
  /** `connect`: a CONNECT tunnel; `forward`: the request itself, with an absolute URI. */
  mode: 'connect' | 'forward'
  /** `host:port` the proxy was asked to reach. */
  target: string
  authorization: string | undefined
}

interface TestProxy {
  url: string
  seen: ProxySeen[]
  close(): Promise<void>
}

const CREDENTIALS = `Basic ${Buffer.from('user:secret').toString('base64')}`
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** An HTTP proxy that wants `Basic user:secret`: CONNECT tunnels and forwarded plain-http requests, to whatever target it is asked for. */
async function startProxy(tls?: { key: string; cert: string }): Promise<TestProxy> {
  const seen: ProxySeen[] = []
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const refuse = (authorization: string | undefined) => authorization !== CREDENTIALS
  const server: Server = tls ? createTlsServer(tls) : createServer()
  server.on(tls ? 'secureConnection' : 'connection', track)
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const authorization = request.headers['proxy-authorization']
    let target: URL
    try {
      target = new URL(request.url ?? '')
    } catch {
      return response.writeHead(400).end()
    }
    seen.push({ mode: 'forward', target: target.host, authorization })
    if (refuse(authorization)) return response.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': '0' }).end()
    const headers: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(request.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value
    // One upstream connection per request, closed with it (`agent: false`): the upstream's open sockets are the gateway's requests.
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: request.method, headers, agent: false }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    upstream.on('error', () => response.destroy())
    // The gateway went away (abort, timeout): so does the request it asked for.
    response.on('close', () => upstream.destroy())
    request.pipe(upstream)
  })
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const authorization = request.headers['proxy-authorization']
    seen.push({ mode: 'connect', target: request.url ?? '', authorization })
    if (refuse(authorization)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const [host, port] = (request.url ?? '').split(':')
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    track(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const r = useRouting(['behind', 'direct'])
let proxy: TestProxy
beforeAll(async () => {
  proxy = await startProxy()
})
afterAll(() => proxy.close())

const hostOf = (url: string) => new URL(url).host
/** How this runtime reaches a plain-http upstream through the proxy. */
const plainHttpMode: ProxySeen['mode'] = testRuntime() === 'node' ? 'connect' : 'forward'

function proxied(password = 'secret', proxyConfig: Record<string, unknown> = { type: 'http', url: proxy.url }) {
  return {
    providers: {
      openai: openaiProvider(r.up.behind, { keys: ['sk-behind'], extra: { proxy_config: { ...proxyConfig, username: 'user', password } } }),
      direct: openaiProvider(r.up.direct, { keys: ['sk-direct'], extra: { package: '@switchyard/provider-openai' } }),
    },
  }
}

describe('proxy_config', () => {
  it('requests go through the proxy with the Basic credentials; the upstream answers as usual, streams too', async () => {
    proxy.seen.length = 0
    const gateway = await r.launch(proxied())
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.behind.textOf())
    const { chunks } = await drain(await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }))
    expect(contentOf(chunks)).toBe(r.up.behind.textOf())
    expect(proxy.seen.length).toBeGreaterThanOrEqual(1)
    for (const seen of proxy.seen) expect(seen).toEqual({ mode: plainHttpMode, target: hostOf(r.up.behind.url), authorization: CREDENTIALS })
    expect(r.up.behind.requests.map((request) => request.key)).toEqual(['sk-behind', 'sk-behind'])
  })

  it('a provider without proxy_config goes direct', async () => {
    proxy.seen.length = 0
    const gateway = await r.launch(proxied())
    await gateway.openai.chat.completions.create({ model: 'direct/gpt-4o', messages: hello })
    expect(r.up.direct.requests).toHaveLength(1)
    expect(proxy.seen).toEqual([])
  })

  it('the proxy refusing the credentials (407) is an upstream error in OpenAI shape; nothing reaches the upstream', async () => {
    proxy.seen.length = 0
    const gateway = await r.launch(proxied('wrong'))
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBeGreaterThanOrEqual(500)
    expect(error.error).toMatchObject({ message: expect.stringContaining('[openai]') })
    expect(JSON.stringify(error.error)).not.toContain('secret')
    expect(JSON.stringify(error.error)).not.toContain('wrong')
    expect(proxy.seen.length).toBeGreaterThanOrEqual(1)
    expect(r.up.behind.requests).toHaveLength(0)
  })

  it('timeouts and aborts through the proxy still close the upstream socket', async () => {
    r.up.behind.script({}, fault.hangBeforeHeaders())
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.behind, { network: { default_request_timeout_in_seconds: 0.3 }, extra: { proxy_config: { type: 'http', url: proxy.url, username: 'user', password: 'secret' } } }) } })
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error.status).toBe(504)
    expect(await r.up.behind.waitForNoOpenSockets(1_000)).toBe(0)
  })

  it('a proxy_config whose url scheme does not match its type fails the start, naming the field', async () => {
    await expect(r.launch({ providers: { openai: openaiProvider(r.up.behind, { extra: { proxy_config: { type: 'https', url: proxy.url } } }) } })).rejects.toThrow(/proxy_config/)
  })
})

let openssl = false
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
  openssl = true
} catch {
  openssl = false
}

/**
 * A private CA and a certificate it issued for 127.0.0.1 (openssl, at test time). Deno's TLS
 * (rustls) refuses a self-signed certificate that is its own CA, so the proxy gets a real chain.
 */
function privateCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-proxy-ca-'))
  try {
    const at = (name: string) => join(dir, name)
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca-key.pem'), '-out', at('ca.pem'), '-days', '1', '-subj', '/CN=switchyard test CA'])
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('key.pem'), '-out', at('proxy.csr'), '-subj', '/CN=127.0.0.1'])
    writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
    run(['x509', '-req', '-in', at('proxy.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'), '-CAcreateserial', '-out', at('cert.pem'), '-days', '1', '-extfile', at('ext.cnf')])
    return { ca: readFileSync(at('ca.pem'), 'utf8'), key: readFileSync(at('key.pem'), 'utf8'), cert: readFileSync(at('cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe.skipIf(!openssl)('an https proxy with a private CA (ca_cert_pem)', () => {
  let tlsProxy: TestProxy
  let ca: string
  beforeAll(async () => {
    const certificates = privateCertificates()
    ca = certificates.ca
    tlsProxy = await startProxy(certificates)
  })
  afterAll(() => tlsProxy?.close())

  it('trusts the proxy certificate through ca_cert_pem; the Basic credentials reach the proxy', async () => {
    const gateway = await r.launch(proxied('secret', { type: 'https', url: tlsProxy.url, ca_cert_pem: ca }))
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.behind.textOf())
    expect(tlsProxy.seen).toEqual([{ mode: plainHttpMode, target: hostOf(r.up.behind.url), authorization: CREDENTIALS }])
  })

  it('without it the unknown certificate is refused: a 5xx in OpenAI shape, nothing reaches the upstream', async () => {
    tlsProxy.seen.length = 0
    const gateway = await r.launch(proxied('secret', { type: 'https', url: tlsProxy.url }))
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error.status).toBeGreaterThanOrEqual(500)
    expect(error.error).toMatchObject({ message: expect.stringContaining('[openai]') })
    expect(tlsProxy.seen).toEqual([])
    expect(r.up.behind.requests).toHaveLength(0)
  })
})

describe('a runtime that gives the gateway no proxy transport', () => {
  it('the gateway refuses to start rather than send the requests around the proxy', () => {
    const config = parseConfig({ providers: { openai: { keys: [{ value: 'sk-x' }], proxy_config: { type: 'http', url: 'http://127.0.0.1:3128' } } } })
    expect(() => createGateway({ config, providers: [openaiPackage], logger: silentLogger })).toThrow(/proxy_config/)
  })
})
