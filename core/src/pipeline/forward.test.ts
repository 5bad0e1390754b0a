import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config.js'
import { GatewayError } from '../errors.js'
import { createGateway } from '../gateway.js'
import { silentLogger } from '../log.js'
import { definePlugin, type PluginDefinition, type UpstreamOutcome } from '../plugin.js'
import type { ProviderDefinition, SurfaceDefinition } from '../provider.js'

/** `SurfaceHost.forward` and the plugin hooks: the pipeline side of docs/plugins.md, "Calls that are not model calls". */

const probe: SurfaceDefinition = {
  basePath: '/probe',
  dialect: 'probe',
  defaultProvider: 'store',
  renderError: (error) => Response.json({ message: error.message }, { status: error.status }),
  routes(app, host) {
    app.get('/objects/:id', (c) => host.forward(c, { provider: c.req.query('provider'), method: 'GET', path: `/objects/${c.req.param('id')}` }))
    // A forwarded call that generates: its usage is read from the answer.
    app.post('/generate', async (c) => {
      const body = await host.readJson(c)
      return host.forward(c, {
        method: 'POST',
        path: '/generate',
        body: host.rawBody(body),
        contentType: 'application/json',
        usageFrom: (text) => ({ inputTokens: undefined, outputTokens: (JSON.parse(text) as { tokens: number }).tokens }),
      })
    })
  },
}

const store: ProviderDefinition = {
  id: 'store',
  spec: 1,
  dialect: 'probe',
  baseURL: 'https://store.example',
  requiresKey: false,
  upstream: {
    passthrough: (path, context) => ({ url: `${context.baseURL}${path}`, headers: {} }),
    error: (status) => new GatewayError({ status, code: 'upstream', message: `[store] failed with ${status}` }),
  },
}

interface Seen {
  hook: string
  forwarded?: unknown
  body?: unknown
  provider?: string
  outcome?: UpstreamOutcome
  status?: number
  usage?: unknown
}

function gatewayWith(reply: (url: string) => Response, plugins: (seen: Seen[]) => PluginDefinition[] = (seen) => [watcher(seen)]) {
  const sent: string[] = []
  const seen: Seen[] = []
  const gateway = createGateway({
    config: parseConfig({}),
    providers: [{ ...store, surface: probe }],
    plugins: plugins(seen),
    logger: silentLogger,
    fetch: (async (input: RequestInfo | URL) => {
      sent.push(String(input))
      return reply(String(input))
    }) as typeof fetch,
  })
  const call = (path: string, init: RequestInit = {}) => gateway.fetch(new Request(`http://gw/probe${path}`, init))
  return { call, sent, seen, gateway }
}

const watcher = (seen: Seen[]) =>
  definePlugin({
    name: 'watch',
    hooks: {
      onRequest(ctx) {
        seen.push({ hook: 'onRequest', forwarded: ctx.forwarded, body: ctx.body, provider: ctx.provider })
        if (ctx.headers.get('x-deny')) throw new GatewayError({ status: 401, code: 'authentication', message: 'no entry' })
      },
      afterUpstream(_ctx, outcome) {
        seen.push({ hook: 'afterUpstream', outcome })
      },
      onFinish(_ctx, summary) {
        seen.push({ hook: 'onFinish', status: summary.status, usage: summary.usage })
      },
    },
  })

describe('SurfaceHost.forward with plugin hooks', () => {
  it('runs onRequest, then afterUpstream and onFinish once the relayed body ended', async () => {
    const { call, seen, gateway } = gatewayWith(() => Response.json({ id: 'o1' }))
    const response = await call('/objects/o1')
    expect(await response.json()).toEqual({ id: 'o1' })
    await gateway.close()
    expect(seen).toEqual([
      { hook: 'onRequest', forwarded: { method: 'GET', path: '/objects/o1' }, body: undefined, provider: 'store' },
      { hook: 'afterUpstream', outcome: { ok: true, status: 200, usage: undefined } },
      { hook: 'onFinish', status: 200, usage: undefined },
    ])
  })

  it('a refusal in onRequest comes before anything else is checked: an unknown provider is said only to an admitted caller', async () => {
    const { call, sent, seen, gateway } = gatewayWith(() => Response.json({}))
    const refused = await call('/objects/o1?provider=nosuch', { headers: { 'x-deny': '1' } })
    expect([refused.status, await refused.json()]).toEqual([401, { message: 'no entry' }])
    const unknown = await call('/objects/o1?provider=nosuch')
    expect(unknown.status).toBe(400)
    expect((await unknown.json()).message).toMatch(/unknown provider "nosuch"/)
    await gateway.close()
    expect(sent).toEqual([])
    // An unknown provider is not named to the hooks.
    expect(seen.filter((event) => event.hook === 'onRequest').map((event) => event.provider)).toEqual([undefined, undefined])
    expect(seen.filter((event) => event.hook === 'onFinish').map((event) => event.status)).toEqual([401, 400])
  })

  it('usageFrom: the usage of a call that generates reaches afterUpstream and onFinish; the caller gets the answer unchanged', async () => {
    const { call, seen, gateway } = gatewayWith(() => Response.json({ text: 'made', tokens: 5 }))
    const response = await call('/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"go","metadata":{"tier":"gold"}}' })
    expect(await response.json()).toEqual({ text: 'made', tokens: 5 })
    await gateway.close()
    expect(seen).toEqual([
      { hook: 'onRequest', forwarded: { method: 'POST', path: '/generate' }, body: { prompt: 'go', metadata: { tier: 'gold' } }, provider: 'store' },
      { hook: 'afterUpstream', outcome: { ok: true, status: 200, usage: { inputTokens: undefined, outputTokens: 5 } } },
      { hook: 'onFinish', status: 200, usage: { inputTokens: undefined, outputTokens: 5 } },
    ])
  })

  it('an upstream error status is a failure for the hooks, with its status', async () => {
    const { call, seen, gateway } = gatewayWith(() => new Response('{"missing":true}', { status: 404 }))
    const response = await call('/objects/gone')
    expect(response.status).toBe(404)
    await gateway.close()
    expect(seen.map((event) => (event.hook === 'afterUpstream' ? { ok: event.outcome!.ok, status: event.outcome!.ok ? event.outcome!.status : event.outcome!.error.status } : event.hook === 'onFinish' ? event.status : event.hook))).toEqual([
      'onRequest',
      { ok: false, status: 404 },
      404,
    ])
  })

  it('a body that breaks off after the headers: the caller sees the break, and onFinish still runs once', async () => {
    const broken = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"items": ['))
            controller.error(new TypeError('terminated'))
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    const { call, seen, gateway } = gatewayWith(broken)
    const response = await call('/objects/o1')
    await expect(response.text()).rejects.toThrow()
    await gateway.close()
    const finishes = seen.filter((event) => event.hook === 'onFinish')
    expect(finishes).toHaveLength(1)
    const after = seen.find((event) => event.hook === 'afterUpstream')!
    expect(after.outcome).toMatchObject({ ok: false, error: { status: 502 } })
  })

  it('without plugins the answer is relayed as is', async () => {
    const { call, gateway } = gatewayWith(() => new Response('raw bytes', { status: 202, headers: { 'content-type': 'text/plain' } }), () => [])
    const response = await call('/objects/o1')
    expect([response.status, response.headers.get('content-type'), await response.text()]).toEqual([202, 'text/plain', 'raw bytes'])
    await gateway.close()
  })
})
