import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@switchyard/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type RunningGateway } from './index.js'
import { proxyAgentOptions } from './proxy.js'

/** A chat-completions upstream: JSON, or a three-chunk stream. */
async function startUpstream(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      seen.push(`${request.method} ${request.url} ${request.headers.authorization}`)
      const stream = JSON.parse(body).stream === true
      if (!stream) {
        response.writeHead(200, { 'content-type': 'application/json' })
        return response.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'via proxy' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }))
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
      response.end(`${chunk({ role: 'assistant', content: 'via ' })}${chunk({ content: 'proxy' })}${chunk({}, 'stop')}data: [DONE]\n\n`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => closeServer(server) }
}

interface TestProxy {
  url: string
  /** `CONNECT host:port` lines, with the Proxy-Authorization each carried. */
  tunnels: Array<{ target: string; authorization: string | undefined }>
  close(): Promise<void>
}

/** A CONNECT proxy that wants `Basic user:pass` and pipes the sockets of an accepted tunnel. */
function attachConnect(server: Server, expected: string, tunnels: TestProxy['tunnels'], sockets: Set<Socket>): void {
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    const authorization = request.headers['proxy-authorization']
    tunnels.push({ target: request.url!, authorization })
    if (authorization !== expected) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const [host, port] = request.url!.split(':')
    const target = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) target.write(head)
      target.pipe(client)
      client.pipe(target)
    })
    sockets.add(target)
    target.on('close', () => sockets.delete(target))
    target.on('error', () => client.destroy())
    client.on('error', () => target.destroy())
  })
}

async function startProxy(expected: string, tls?: { key: string; cert: string }): Promise<TestProxy> {
  const tunnels: TestProxy['tunnels'] = []
  const sockets = new Set<Socket>()
  const server = tls ? createTlsServer(tls) : createServer()
  server.on('request', (_request, response) => response.writeHead(405).end())
  attachConnect(server, expected, tunnels, sockets)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await closeServer(server)
    },
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const chat = (gateway: RunningGateway, stream = false) =>
  fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream }) })

const launch = (upstream: string, proxy: Record<string, unknown>, env: Record<string, string> = {}) =>
  startGateway({ config: { providers: { openai: { keys: [{ value: 'sk-upstream', models: [], weight: 1 }], network_config: { base_url: `${upstream}/v1` }, proxy_config: proxy } } }, port: 0, dataDir: null, logger: silentLogger, env })

describe('proxy_config on Node (undici ProxyAgent)', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  let proxy: TestProxy
  beforeAll(async () => {
    upstream = await startUpstream()
    proxy = await startProxy(basic('gw', 's3cret'))
  })
  afterAll(async () => {
    await proxy.close()
    await upstream.close()
  })

  it('sends upstream requests through the proxy with Proxy-Authorization, plain and streamed', async () => {
    const gateway = await launch(upstream.url, { type: 'http', url: proxy.url, username: 'gw', password: 'env.PROXY_PASSWORD' }, { PROXY_PASSWORD: 's3cret' })
    try {
      const response = await chat(gateway)
      expect(response.status).toBe(200)
      expect((await response.json()).choices[0].message.content).toBe('via proxy')
      const streamed = await chat(gateway, true)
      expect(await streamed.text()).toContain('"content":"proxy"')
      const port = new URL(upstream.url).port
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1)
      expect(proxy.tunnels.every((tunnel) => tunnel.target === `127.0.0.1:${port}` && tunnel.authorization === basic('gw', 's3cret'))).toBe(true)
      expect(upstream.seen.slice(-2)).toEqual(['POST /v1/chat/completions Bearer sk-upstream', 'POST /v1/chat/completions Bearer sk-upstream'])
    } finally {
      await gateway.close()
    }
  })

  it('a proxy that refuses the credentials (407) is a 502 in OpenAI shape; the upstream is never reached', async () => {
    const gateway = await launch(upstream.url, { type: 'http', url: proxy.url, username: 'gw', password: 'wrong' })
    const before = upstream.seen.length
    try {
      const response = await chat(gateway)
      expect(response.status).toBe(502)
      expect(await response.json()).toMatchObject({ error: { message: expect.stringContaining('[openai]'), type: expect.any(String) } })
      expect(proxy.tunnels.at(-1)!.authorization).toBe(basic('gw', 'wrong'))
      expect(upstream.seen.length).toBe(before)
    } finally {
      await gateway.close()
    }
  })

  it('a missing password variable stops the start', async () => {
    await expect(launch(upstream.url, { type: 'http', url: proxy.url, username: 'gw', password: 'env.NOT_SET' })).rejects.toThrow(/proxy_config\.password/)
  })
})

let openssl = false
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
  openssl = true
} catch {
  openssl = false
}

describe.skipIf(!openssl)('an https proxy with a private CA (ca_cert_pem)', () => {
  let dir: string
  let tls: { key: string; cert: string }
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  let proxy: TestProxy
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-proxy-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
    upstream = await startUpstream()
    proxy = await startProxy(basic('gw', 'pw'), tls)
  })
  afterAll(async () => {
    await proxy?.close()
    await upstream?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('trusts the proxy certificate through ca_cert_pem', async () => {
    const gateway = await launch(upstream.url, { type: 'https', url: proxy.url, username: 'gw', password: 'pw', ca_cert_pem: tls.cert })
    try {
      const response = await chat(gateway)
      expect(response.status).toBe(200)
      expect(proxy.tunnels.at(-1)!.authorization).toBe(basic('gw', 'pw'))
    } finally {
      await gateway.close()
    }
  })

  it('without it the unknown certificate is refused: 502, nothing reaches the upstream', async () => {
    const gateway = await launch(upstream.url, { type: 'https', url: proxy.url, username: 'gw', password: 'pw' })
    const tunnels = proxy.tunnels.length
    try {
      expect((await chat(gateway)).status).toBe(502)
      expect(proxy.tunnels.length).toBe(tunnels)
    } finally {
      await gateway.close()
    }
  })
})

describe('proxyAgentOptions', () => {
  it('maps user and password to a Basic token, and adds the CA to the system roots', () => {
    const options = proxyAgentOptions({ type: 'http', url: 'http://proxy:3128', username: 'u', password: 'p', ca_cert_pem: 'PEM' })
    expect(options.token).toBe(basic('u', 'p'))
    expect((options.requestTls as { ca: string[] }).ca.at(-1)).toBe('PEM')
    expect((options.requestTls as { ca: string[] }).ca.length).toBeGreaterThan(10)
  })

  it('refuses a type that contradicts the URL scheme', () => {
    expect(() => proxyAgentOptions({ type: 'https', url: 'http://proxy:3128' })).toThrow(/type/)
  })
})
