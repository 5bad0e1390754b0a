import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNodeTransport, transportFromEnv, type NodeTransport } from './transport.js'

/** What the test upstream saw of one request. */
interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void

/** A node:http upstream whose answer per path the test sets; it records every request and every closed socket. */
function startUpstream(): Promise<{ url: string; seen: Seen[]; routes: Map<string, Route>; socketClosed: () => Promise<void>; close(): Promise<void> }> {
  const seen: Seen[] = []
  const routes = new Map<string, Route>()
  const closeWaiters: Array<() => void> = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      const route = routes.get(req.url!.split('?')[0]!)
      if (route) route(req, res, body)
      else res.writeHead(404).end()
    })
  })
  server.on('connection', (socket) => socket.on('close', () => closeWaiters.splice(0).forEach((wake) => wake())))
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        seen,
        routes,
        socketClosed: () => new Promise<void>((wake) => closeWaiters.push(wake)),
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

const decoder = new TextDecoder()

describe('the pooled undici transport (createNodeTransport)', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  let transport: NodeTransport
  beforeAll(async () => {
    upstream = await startUpstream()
    transport = createNodeTransport()
  })
  afterAll(async () => {
    await transport.close()
    await upstream.close()
  })
  afterEach(() => upstream.routes.clear())

  it('sends method, headers and body as given, and answers with status, headers, url and body', async () => {
    upstream.routes.set('/echo', (req, res, body) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.writeHead(201, 'Made It', { 'content-type': 'application/json', 'x-upstream': 'yes' })
      res.end(JSON.stringify({ got: body }))
    })
    const response = await transport.fetch(`${upstream.url}/echo?x=1`, { method: 'post', headers: { 'content-type': 'application/json', 'x-one': 'a' }, body: '{"hello":"wörld"}' })
    expect(response).toBeInstanceOf(Response)
    expect(response.status).toBe(201)
    expect(response.statusText).toBe('Made It')
    expect(response.ok).toBe(true)
    expect(response.url).toBe(`${upstream.url}/echo?x=1`)
    expect(response.headers.get('x-upstream')).toBe('yes')
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(response.bodyUsed).toBe(false)
    expect(await response.json()).toEqual({ got: '{"hello":"wörld"}' })
    expect(response.bodyUsed).toBe(true)
    const seen = upstream.seen.at(-1)!
    expect(seen.method).toBe('POST')
    expect(seen.url).toBe('/echo?x=1')
    expect(seen.headers['x-one']).toBe('a')
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength('{"hello":"wörld"}')))
    // Nothing asks the upstream for a compressed answer.
    expect(seen.headers['accept-encoding']).toBeUndefined()
  })

  it('takes Headers objects and header pairs, and defaults a string body to text/plain as fetch does', async () => {
    upstream.routes.set('/h', (_req, res) => res.end('ok'))
    await (await transport.fetch(`${upstream.url}/h`, { method: 'POST', headers: new Headers({ 'x-a': '1' }), body: 'plain' })).text()
    expect(upstream.seen.at(-1)!.headers['x-a']).toBe('1')
    expect(upstream.seen.at(-1)!.headers['content-type']).toBe('text/plain;charset=UTF-8')
    await (await transport.fetch(new URL(`${upstream.url}/h`), { method: 'POST', headers: [['x-b', '2']], body: new URLSearchParams({ q: 'a b' }) })).text()
    expect(upstream.seen.at(-1)!.headers['x-b']).toBe('2')
    expect(upstream.seen.at(-1)!.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8')
    expect(upstream.seen.at(-1)!.body).toBe('q=a+b')
  })

  it('returns exactly the body bytes from arrayBuffer(), never the socket buffer around them', async () => {
    upstream.routes.set('/bytes', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-padding': 'p'.repeat(200) })
      res.end(Buffer.from([1, 2, 3, 4, 5]))
    })
    const buffer = await (await transport.fetch(`${upstream.url}/bytes`)).arrayBuffer()
    expect(buffer).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(buffer)]).toEqual([1, 2, 3, 4, 5])
    const bytes = await (await transport.fetch(`${upstream.url}/bytes`)).bytes()
    expect([...bytes]).toEqual([1, 2, 3, 4, 5])
  })

  it('relays a streamed answer chunk by chunk, each as the upstream wrote it', async () => {
    let writeNext!: (text: string | null) => void
    upstream.routes.set('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      writeNext = (text) => (text === null ? res.end() : res.write(text))
    })
    const response = await transport.fetch(`${upstream.url}/stream`, { method: 'POST', body: '{}' })
    const reader = response.body!.getReader()
    const events: string[] = []
    for (const text of ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']) {
      writeNext(text)
      const next = await reader.read()
      events.push(decoder.decode(next.value))
    }
    writeNext(null)
    expect((await reader.read()).done).toBe(true)
    expect(events).toEqual(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'])
  })

  it('sends a ReadableStream request body chunked, whole', async () => {
    upstream.routes.set('/upload', (_req, res, body) => res.end(body))
    const parts = ['first ', 'second ', 'third']
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
        controller.close()
      },
    })
    const response = await transport.fetch(`${upstream.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(await response.text()).toBe('first second third')
    expect(upstream.seen.at(-1)!.headers['transfer-encoding']).toBe('chunked')
  })

  it('carries a large answer through backpressure intact', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x')
    upstream.routes.set('/big', (_req, res) => res.end(big))
    const response = await transport.fetch(`${upstream.url}/big`)
    let total = 0
    const reader = response.body!.getReader()
    for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.byteLength
    expect(total).toBe(big.length)
    expect(await (await transport.fetch(`${upstream.url}/big`)).text()).toHaveLength(big.length)
  })

  it('aborting before the answer rejects with the reason and closes the upstream socket at once', async () => {
    upstream.routes.set('/hold', () => {})
    const controller = new AbortController()
    const pending = transport.fetch(`${upstream.url}/hold`, { method: 'POST', body: 'x', signal: controller.signal })
    while (!upstream.seen.some((seen) => seen.url === '/hold')) await new Promise((wake) => setImmediate(wake))
    const closed = upstream.socketClosed()
    const reason = new DOMException('caller left', 'AbortError')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await closed
  })

  it('aborting in the middle of a streamed body fails the body with the reason and closes the upstream socket', async () => {
    upstream.routes.set('/half', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n')
    })
    const controller = new AbortController()
    const response = await transport.fetch(`${upstream.url}/half`, { signal: controller.signal })
    const reader = response.body!.getReader()
    expect(decoder.decode((await reader.read()).value)).toBe('data: 1\n\n')
    const closed = upstream.socketClosed()
    controller.abort(new Error('stop'))
    await expect(reader.read()).rejects.toThrow('stop')
    await closed
  })

  it('cancelling the body closes the upstream socket', async () => {
    upstream.routes.set('/cancel', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n')
    })
    const response = await transport.fetch(`${upstream.url}/cancel`)
    const reader = response.body!.getReader()
    await reader.read()
    const closed = upstream.socketClosed()
    await reader.cancel()
    await closed
  })

  it('an already aborted signal rejects without sending anything', async () => {
    const before = upstream.seen.length
    const reason = new Error('too late')
    await expect(transport.fetch(`${upstream.url}/echo`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(upstream.seen.length).toBe(before)
  })

  it('does not follow redirects: the 3xx is the answer', async () => {
    upstream.routes.set('/moved', (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end())
    const before = upstream.seen.length
    const response = await transport.fetch(`${upstream.url}/moved`, { method: 'POST', body: '{}' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/elsewhere')
    expect(upstream.seen.length).toBe(before + 1)
  })

  it('a connection failure rejects with TypeError("fetch failed") and the cause, as fetch does', async () => {
    const error = await transport.fetch('http://127.0.0.1:1/x').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as TypeError).message).toBe('fetch failed')
    expect(((error as TypeError).cause as { code?: string }).code).toBe('ECONNREFUSED')
  })

  it('an answer that breaks off fails the body with TypeError("terminated")', async () => {
    upstream.routes.set('/broken', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n', () => res.socket!.destroy())
    })
    const response = await transport.fetch(`${upstream.url}/broken`)
    const error = await response.text().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as TypeError).message).toBe('terminated')
  })

  it('has a null body for 204 and HEAD answers', async () => {
    upstream.routes.set('/empty', (_req, res) => res.writeHead(204).end())
    const none = await transport.fetch(`${upstream.url}/empty`, { method: 'DELETE' })
    expect(none.status).toBe(204)
    expect(none.body).toBeNull()
    expect(await none.text()).toBe('')
    upstream.routes.set('/head', (_req, res) => res.writeHead(200, { 'content-length': '5' }).end())
    const head = await transport.fetch(`${upstream.url}/head`, { method: 'HEAD' })
    expect(head.body).toBeNull()
  })

  it('decodes a gzip answer, as fetch does', async () => {
    upstream.routes.set('/gzip', (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"zipped":true}')))
    expect(await (await transport.fetch(`${upstream.url}/gzip`)).json()).toEqual({ zipped: true })
  })

  it('refuses to read a body twice', async () => {
    upstream.routes.set('/once', (_req, res) => res.end('once'))
    const response = await transport.fetch(`${upstream.url}/once`)
    expect(await response.text()).toBe('once')
    await expect(response.text()).rejects.toThrow(TypeError)
  })

  it('clones an unread answer into two readable copies', async () => {
    upstream.routes.set('/clone', (_req, res) => res.end('twice'))
    const response = await transport.fetch(`${upstream.url}/clone`)
    const copy = response.clone()
    expect(await copy.text()).toBe('twice')
    expect(await response.text()).toBe('twice')
  })

  it('reuses pooled connections across requests', async () => {
    upstream.routes.set('/port', (req, res) => res.end(String(req.socket.remotePort)))
    const fresh = createNodeTransport()
    try {
      const first = await (await fresh.fetch(`${upstream.url}/port`)).text()
      // undici's pool marks a connection free again on its 'drain' event, one tick after the answer ended.
      await new Promise((wake) => setImmediate(wake))
      const second = await (await fresh.fetch(`${upstream.url}/port`)).text()
      expect(second).toBe(first)
    } finally {
      await fresh.close()
    }
  })
})

describe('transportFromEnv', () => {
  it('is the undici transport by default and with "undici", none (global fetch) with "fetch"', async () => {
    const made = transportFromEnv({})
    expect(made).toBeDefined()
    await made!.close()
    const undici = transportFromEnv({ SWITCHYARD_UPSTREAM_TRANSPORT: 'undici' })
    await undici!.close()
    expect(transportFromEnv({ SWITCHYARD_UPSTREAM_TRANSPORT: 'fetch' })).toBeUndefined()
  })

  it('refuses an unknown transport by name', () => {
    expect(() => transportFromEnv({ SWITCHYARD_UPSTREAM_TRANSPORT: 'curl' })).toThrow(/SWITCHYARD_UPSTREAM_TRANSPORT/)
  })
})
