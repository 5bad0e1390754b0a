import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config.js'
import { GatewayError } from '../errors.js'
import { createGateway } from '../gateway.js'
import { silentLogger } from '../log.js'
import { definePlugin, type FinishSummary } from '../plugin.js'
import type { ProviderDefinition, SurfaceDefinition } from '../provider.js'

/** `SurfaceHost.countTokens`: a token count asked of a provider of another dialect, through its `upstream.countTokens`. */

/** A surface whose one route counts the tokens of `{text}` at `model`. */
const probe: SurfaceDefinition = {
  basePath: '/probe',
  dialect: 'probe',
  defaultProvider: 'counter',
  renderError: (error) => Response.json({ message: error.message }, { status: error.status, headers: error.headers }),
  routes(app, host) {
    app.post('/count/:model{.+}', async (c) => {
      const body = await host.readJson(c)
      return host.countTokens(c, {
        model: c.req.param('model'),
        path: '/count',
        toIR: (model) => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text: String(body.text) }] }], extra: {} }),
        render: (count, context) => ({ tokens: count.inputTokens, cached: count.cachedInputTokens, by: `${context.provider}/${context.model}` }),
      })
    })
  },
}

const error = (status: number) => new GatewayError({ status, code: 'upstream', message: `[counter] failed with ${status}` })
const counter: ProviderDefinition = {
  id: 'counter',
  spec: 1,
  dialect: 'other',
  baseURL: 'https://counter.example/v1',
  requiresKey: false,
  upstream: {
    countTokens: {
      request: (request, context) => ({ url: `${context.baseURL}/count`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: request.model, text: request.messages[0]!.content }), warnings: [{ type: 'other', message: 'counted approximately' }] }),
      response: (json) => ({ inputTokens: (json as { n: number }).n, cachedInputTokens: 2 }),
    },
    error,
  },
}
const silent: ProviderDefinition = { id: 'silent', spec: 1, dialect: 'other', requiresKey: false, upstream: { error } }

function gatewayWith(reply: () => Response) {
  const sent: Array<{ url: string; body: unknown }> = []
  const seen: Array<{ hook: string; forwarded: unknown; provider: string | undefined; status?: number }> = []
  const plugin = definePlugin({
    name: 'watch',
    hooks: {
      onRequest(ctx) {
        seen.push({ hook: 'onRequest', forwarded: ctx.forwarded, provider: ctx.provider })
        if (ctx.headers.get('x-deny')) throw new GatewayError({ status: 401, code: 'authentication', message: 'no entry' })
      },
      onFinish(ctx, summary: FinishSummary) {
        seen.push({ hook: 'onFinish', forwarded: ctx.forwarded, provider: ctx.provider, status: summary.status })
      },
    },
  })
  const gateway = createGateway({
    config: parseConfig({}),
    providers: [{ ...counter, surface: probe }, silent],
    plugins: [plugin],
    logger: silentLogger,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push({ url: String(input), body: JSON.parse(String(init?.body)) })
      return reply()
    }) as typeof fetch,
  })
  const count = (model: string, headers: Record<string, string> = {}) =>
    gateway.fetch(new Request(`http://gw/probe/count/${model}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"text": "hello"}' }))
  return { count, sent, seen, gateway }
}

describe('SurfaceHost.countTokens', () => {
  it('encodes the IR with the target\'s codec, sends it once, renders the count; hooks see a forwarded call', async () => {
    const { count, sent, seen, gateway } = gatewayWith(() => Response.json({ n: 7 }))
    const response = await count('counter/small')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ tokens: 7, cached: 2, by: 'counter/small' })
    expect(response.headers.get('x-bf-provider')).toBe('counter')
    expect(JSON.parse(response.headers.get('x-switchyard-warnings')!)).toEqual([{ type: 'other', message: 'counted approximately' }])
    expect(sent).toEqual([{ url: 'https://counter.example/v1/count', body: { model: 'small', text: [{ type: 'text', text: 'hello' }] } }])
    await gateway.close()
    expect(seen).toEqual([
      { hook: 'onRequest', forwarded: { method: 'POST', path: '/count' }, provider: 'counter' },
      { hook: 'onFinish', forwarded: { method: 'POST', path: '/count' }, provider: 'counter', status: 200 },
    ])
  })

  it('onRequest may refuse it, and an unknown provider is said only to an admitted caller: nothing is sent', async () => {
    const { count, sent } = gatewayWith(() => Response.json({ n: 7 }))
    expect((await count('nosuch/m', { 'x-deny': '1' })).status).toBe(401)
    const unknown = await count('nosuch/m')
    expect(unknown.status).toBe(400)
    expect((await unknown.json()).message).toMatch(/unknown provider "nosuch"/)
    expect(sent).toEqual([])
  })

  it('a provider without a counting codec is a 400 naming it; an upstream failure keeps its status', async () => {
    const { count, sent } = gatewayWith(() => new Response('{"busy": true}', { status: 429, headers: { 'retry-after': '3' } }))
    const none = await count('silent/m')
    expect(none.status).toBe(400)
    expect(await none.json()).toEqual({ message: '[silent] provider has no token counting endpoint' })
    expect(sent).toEqual([])
    const busy = await count('counter/m')
    expect(busy.status).toBe(429)
    expect(sent).toHaveLength(1)
  })

  it('an answer that is not JSON is a 502', async () => {
    const { count } = gatewayWith(() => new Response('<html>', { status: 200 }))
    const response = await count('m')
    expect(response.status).toBe(502)
    expect((await response.json()).message).toBe('[counter] upstream returned invalid JSON')
  })
})
