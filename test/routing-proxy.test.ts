import { createServer, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { contentOf, drain, hello, openaiProvider, rejection, useRouting, type OpenAIError } from './support/routing.js'
import { testRuntime } from './support/runtime-process.js'

/**
 * Outbound proxy: `providers.<id>.proxy_config` sends that provider's upstream requests through
 * an HTTP proxy (a CONNECT tunnel, `Proxy-Authorization: Basic` when a user is set). Other
 * providers go direct.
 */

interface ConnectProxy {
  url: string
  /** Every CONNECT received: target and the Proxy-Authorization it carried. */
  connects: Array<{ target: string; authorization: string | undefined }>
  /** Sockets open on the proxy (client side and tunnel side). */
  openSockets(): number
  close(): Promise<void>
}

/** A minimal CONNECT proxy that wants `Basic user:secret`, tunnelling to whatever target it is asked for. */
async function startConnectProxy(): Promise<ConnectProxy> {
  const connects: ConnectProxy['connects'] = []
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const server = createServer((_request, response) => response.writeHead(405).end())
  server.on('connection', track)
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const authorization = request.headers['proxy-authorization']
    connects.push({ target: request.url ?? '', authorization })
    if (authorization !== `Basic ${Buffer.from('user:secret').toString('base64')}`) {
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
    url: `http://127.0.0.1:${port}`,
    connects,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const r = useRouting(['behind', 'direct'])
let proxy: ConnectProxy
beforeAll(async () => {
  proxy = await startConnectProxy()
})
afterAll(() => proxy.close())

const hostOf = (url: string) => new URL(url).host

function proxied(password = 'secret') {
  return {
    providers: {
      openai: openaiProvider(r.up.behind, { keys: ['sk-behind'], extra: { proxy_config: { type: 'http', url: proxy.url, username: 'user', password } } }),
      direct: openaiProvider(r.up.direct, { keys: ['sk-direct'], extra: { package: '@switchyard/provider-openai' } }),
    },
  }
}

/** Only the Node runtime can proxy (undici's ProxyAgent); the others refuse such a config. */
const canProxy = testRuntime() === 'node'

describe.skipIf(!canProxy)('proxy_config', () => {
  it('requests go through the proxy (CONNECT to the upstream, Basic credentials); the upstream answers as usual', async () => {
    proxy.connects.length = 0
    const gateway = await r.launch(proxied())
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.behind.textOf())
    const { chunks } = await drain(await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }))
    expect(contentOf(chunks)).toBe(r.up.behind.textOf())
    expect(proxy.connects.length).toBeGreaterThanOrEqual(1)
    for (const seen of proxy.connects) expect(seen).toEqual({ target: hostOf(r.up.behind.url), authorization: `Basic ${Buffer.from('user:secret').toString('base64')}` })
    expect(r.up.behind.requests.map((request) => request.key)).toEqual(['sk-behind', 'sk-behind'])
  })

  it('a provider without proxy_config goes direct', async () => {
    proxy.connects.length = 0
    const gateway = await r.launch(proxied())
    await gateway.openai.chat.completions.create({ model: 'direct/gpt-4o', messages: hello })
    expect(r.up.direct.requests).toHaveLength(1)
    expect(proxy.connects).toEqual([])
  })

  it('the proxy refusing the credentials (407) is an upstream error in OpenAI shape; nothing reaches the upstream', async () => {
    const gateway = await r.launch(proxied('wrong'))
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBeGreaterThanOrEqual(500)
    expect(error.error).toMatchObject({ message: expect.stringContaining('[openai]') })
    expect(JSON.stringify(error.error)).not.toContain('secret')
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

describe.skipIf(canProxy)('proxy_config on a runtime that cannot proxy', () => {
  it('the gateway refuses to start rather than send the requests around the proxy', async () => {
    await expect(r.launch(proxied())).rejects.toThrow(/proxy_config/)
    expect(r.up.behind.requests).toHaveLength(0)
  })
})
