import { describe, expect, it } from 'vitest'
import { createStorage } from 'unstorage'
import { parseConfig } from '../config.js'
import { createGateway } from '../gateway.js'
import { silentLogger } from '../log.js'
import { definePlugin, type FinishSummary, type RouteOverride, type UpstreamOutcome } from '../plugin.js'
import { wireProvider, wireSurface, wireUpstreams } from './wire.test-support.js'

/**
 * The request pipeline end to end in process: a `wire` surface, `primary`/`backup` providers of
 * the same dialect (passthrough) and `foreign` of another (translation), upstreams faked in fetch.
 */
function setup(options: { config?: Record<string, unknown>; route?: (headers: Headers) => RouteOverride | undefined } = {}) {
  const upstreams = wireUpstreams()
  const finished: Array<{ provider: string | undefined; summary: FinishSummary }> = []
  const outcomes: UpstreamOutcome[] = []
  const recorder = definePlugin({
    name: 'recorder',
    hooks: {
      onRequest(ctx) {
        ctx.route = options.route?.(ctx.headers)
      },
      afterUpstream: (_ctx, outcome) => void outcomes.push(outcome),
      onFinish: (ctx, summary) => void finished.push({ provider: ctx.provider, summary }),
    },
  })
  const key = (value: string) => ({ keys: [{ value, models: [], weight: 1 }] })
  const config = parseConfig({ providers: { primary: key('k-primary'), backup: key('k-backup'), foreign: key('k-foreign') }, ...options.config })
  const gateway = createGateway({
    config,
    providers: [wireProvider('primary', 'wire', wireSurface), wireProvider('backup', 'wire'), wireProvider('foreign', 'other')],
    plugins: [recorder],
    logger: silentLogger,
    fetch: upstreams.fetch,
  })
  const post = (body: Record<string, unknown>, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}) =>
    gateway.fetch(new Request('http://gw.test/wire/chat', { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: JSON.stringify(body), signal: init.signal }))
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { gateway, upstreams, finished, outcomes, post, settled }
}

describe('fallbacks in the pipeline', () => {
  it('a passthrough primary that fails falls back to a translated target; the answer says who answered', async () => {
    const t = setup()
    t.upstreams.script('primary', { status: 503 })
    const response = await t.post({ model: 'primary/m1', input: 'hello', fallbacks: ['foreign/f1'] })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-provider')).toBe('foreign')
    expect(response.headers.get('x-bf-model')).toBe('f1')
    expect(response.headers.get('x-bf-fallback-index')).toBe('1')
    expect(await response.json()).toEqual({ model: 'f1', text: 'foreign: hello', extra_fields: { provider: 'foreign', model_requested: 'f1', fallback_index: 1 } })
    // The request field never reaches an upstream.
    expect(t.upstreams.calls.map((call) => [call.host, 'fallbacks' in call.body])).toEqual([['primary', false], ['foreign', false]])
    await t.settled()
    expect(t.finished[0]!.summary).toMatchObject({ status: 200, attempts: 2, retries: 0, fallbackIndex: 1 })
  })

  it('a passthrough fallback gets extra_fields too (the primary passthrough answer stays untouched)', async () => {
    const t = setup()
    const plain = await t.post({ model: 'primary/m1', input: 'a' })
    expect(await plain.json()).toEqual({ model: 'm1', text: 'primary: a', usage: { in: 3, out: 4 } })
    expect(plain.headers.get('x-bf-fallback-index')).toBeNull()
    t.upstreams.script('primary', { status: 500 })
    const fallen = await t.post({ model: 'primary/m1', input: 'b', fallbacks: ['backup/m2'] })
    expect(await fallen.json()).toEqual({ model: 'm2', text: 'backup: b', usage: { in: 3, out: 4 }, extra_fields: { provider: 'backup', model_requested: 'm2', fallback_index: 1 } })
  })

  it('a caller error does not fall back', async () => {
    const t = setup()
    t.upstreams.script('primary', { status: 422 })
    const response = await t.post({ model: 'primary/m1', input: 'x', fallbacks: ['backup/m2'] })
    expect(response.status).toBe(422)
    expect(t.upstreams.calls.map((call) => call.host)).toEqual(['primary'])
  })

  it('providers.<id>.fallbacks apply when the request names none', async () => {
    const t = setup({ config: { providers: { primary: { keys: [{ value: 'k', models: [], weight: 1 }], fallbacks: ['backup/m9'] }, backup: { keys: [{ value: 'k2', models: [], weight: 1 }] }, foreign: { keys: [] } } } })
    t.upstreams.script('primary', { status: 429, headers: { 'retry-after': '5' } })
    const response = await t.post({ model: 'primary/m1', input: 'x' })
    expect(response.headers.get('x-bf-provider')).toBe('backup')
    expect(response.headers.get('x-bf-model')).toBe('m9')
  })

  it('a streaming fallback streams, and the stream is accounted with its usage', async () => {
    const t = setup()
    t.upstreams.script('primary', { status: 502 })
    const response = await t.post({ model: 'primary/m1', input: 'x', stream: true, fallbacks: ['foreign/f1'] })
    expect(response.headers.get('x-bf-fallback-index')).toBe('1')
    expect(await response.text()).toBe('data: {"text":"foreign says "}\n\ndata: {"text":"hi"}\n\ndata: {"done":true}\n\n')
    await t.settled()
    expect(t.finished[0]!.summary).toMatchObject({ status: 200, fallbackIndex: 1, usage: { inputTokens: 3, outputTokens: 2 }, aborted: false })
  })
})

describe('route override (ctx.route)', () => {
  it('sends the request to the chosen target instead of its model, and appends the override fallbacks', async () => {
    const t = setup({ route: (headers) => (headers.get('x-team') === 'blue' ? { targets: [{ provider: 'backup', model: 'blue-model' }], fallbacks: ['foreign/f2'] } : undefined) })
    const routed = await t.post({ model: 'primary/m1', input: 'x' }, { headers: { 'x-team': 'blue' } })
    expect(routed.headers.get('x-bf-provider')).toBe('backup')
    expect(routed.headers.get('x-bf-model')).toBe('blue-model')
    t.upstreams.script('backup', { status: 503 })
    const fallen = await t.post({ model: 'primary/m1', input: 'x', fallbacks: ['primary/m3'] }, { headers: { 'x-team': 'blue' } })
    // The request's own fallbacks come first, then the override's.
    expect(fallen.headers.get('x-bf-provider')).toBe('primary')
    const plain = await t.post({ model: 'primary/m1', input: 'x' })
    expect(plain.headers.get('x-bf-provider')).toBe('primary')
    expect(t.upstreams.calls.map((call) => `${call.host}/${call.body.model}`)).toEqual(['backup/blue-model', 'backup/blue-model', 'primary/m3', 'primary/m1'])
  })

  it('picks among weighted targets', async () => {
    const t = setup({ route: () => ({ targets: [{ provider: 'primary', model: 'a', weight: 1 }, { provider: 'foreign', model: 'b', weight: 1 }] }) })
    const seen = new Set<string>()
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await t.post({ model: 'primary/m', input: 'x' })).headers.get('x-bf-provider')!)
    expect(seen).toEqual(new Set(['primary', 'foreign']))
  })

  it('a target naming an unknown provider is a 500', async () => {
    const t = setup({ route: () => ({ targets: [{ provider: 'nope', model: 'x' }] }) })
    expect((await t.post({ model: 'primary/m', input: 'x' })).status).toBe(500)
  })
})

describe('streams that fail or lose their caller', () => {
  it('a passthrough stream whose upstream goes silent ends with the dialect error frame after the idle timeout', async () => {
    const t = setup({ config: { providers: { primary: { keys: [{ value: 'k', models: [], weight: 1 }], network_config: { stream_idle_timeout_in_seconds: 0.15 } }, backup: { keys: [] }, foreign: { keys: [] } } } })
    t.upstreams.script('primary', { frames: ['data: {"text":"a"}\n\n'], hang: true })
    const response = await t.post({ model: 'primary/m', input: 'x', stream: true })
    const text = await response.text()
    expect(text.startsWith('data: {"text":"a"}\n\nevent: error\ndata: {"error":{"status":504')).toBe(true)
    expect(t.upstreams.calls[0]!.signal.aborted).toBe(true)
    await t.settled()
    expect(t.finished[0]!.summary.error).toMatchObject({ status: 504 })
    expect(t.gateway.stats().providers.primary).toEqual({ inFlight: 0, queued: 0, cooling: 0 })
  })

  it('a stream that fails after it started is never retried nor handed to a fallback', async () => {
    const t = setup({ config: { providers: { primary: { keys: [{ value: 'k', models: [], weight: 1 }], network_config: { stream_idle_timeout_in_seconds: 0.1, max_retries: 3, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 1 }, fallbacks: ['backup/m2'] }, backup: { keys: [{ value: 'k2', models: [], weight: 1 }] }, foreign: { keys: [] } } } })
    t.upstreams.script('primary', { frames: ['data: {"text":"a"}\n\n'], hang: true })
    const text = await (await t.post({ model: 'primary/m', input: 'x', stream: true })).text()
    expect(text).toContain('event: error')
    expect(t.upstreams.calls.map((call) => call.host)).toEqual(['primary'])
    await t.settled()
    expect(t.finished[0]!.summary).toMatchObject({ attempts: 1, retries: 0, fallbackIndex: 0, error: { status: 504 } })
  })

  it('a translated stream whose upstream goes silent ends with an IR error event, rendered by the surface', async () => {
    const t = setup({ config: { providers: { primary: { keys: [] }, backup: { keys: [] }, foreign: { keys: [{ value: 'k', models: [], weight: 1 }], network_config: { stream_idle_timeout_in_seconds: 0.15 } } } } })
    t.upstreams.script('foreign', { frames: ['data: {"text":"a"}\n\n'], hang: true })
    const text = await (await t.post({ model: 'foreign/m', input: 'x', stream: true })).text()
    expect(text).toMatch(/^data: \{"text":"a"\}\n\nevent: error\ndata: \{"error":\{"status":504/)
    expect(t.upstreams.calls[0]!.signal.aborted).toBe(true)
  })

  for (const [name, model] of [['passthrough', 'primary/m'], ['translated', 'foreign/m']] as const) {
    it(`${name}: a caller who leaves mid-stream aborts the upstream at once; usage so far is accounted with aborted: true`, async () => {
      const t = setup()
      const host = model.split('/')[0]!
      t.upstreams.script(host, { frames: ['data: {"text":"a","usage":{"in":7}}\n\n', 'data: {"text":"b"}\n\n'], hang: true })
      const caller = new AbortController()
      const response = await t.post({ model, input: 'x', stream: true }, { signal: caller.signal })
      const reader = response.body!.getReader()
      await reader.read()
      expect(t.gateway.stats().providers[host]!.inFlight).toBe(1)
      await reader.cancel()
      caller.abort()
      await t.settled()
      expect(t.upstreams.calls[0]!.signal.aborted).toBe(true)
      expect(t.gateway.stats().providers[host]!.inFlight).toBe(0)
      expect(t.finished).toHaveLength(1)
      expect(t.finished[0]!.summary).toMatchObject({ aborted: true, error: undefined })
      if (name === 'passthrough') expect(t.finished[0]!.summary.usage).toEqual({ inputTokens: 7, outputTokens: undefined })
      expect(t.outcomes.at(-1)).toMatchObject({ ok: true, aborted: true })
    })
  }
})

describe('concurrency, stats and readiness', () => {
  it('stats() shows in-flight streams, waiting callers and cooling keys', async () => {
    const t = setup({
      config: {
        providers: { primary: { keys: [{ value: 'k1', models: [], weight: 1 }, { value: 'k2', models: [], weight: 1 }], concurrency_and_buffer_size: { concurrency: 1, buffer_size: 1 } }, backup: { keys: [] }, foreign: { keys: [] } },
        client: { drop_excess_requests: true },
      },
    })
    t.upstreams.script('primary', { frames: ['data: {"text":"a"}\n\n'], hang: true })
    const first = await t.post({ model: 'primary/m', input: 'x', stream: true })
    const waiting = t.post({ model: 'primary/m', input: 'y' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(t.gateway.stats().providers.primary).toEqual({ inFlight: 1, queued: 1, cooling: 0 })
    const refused = await t.post({ model: 'primary/m', input: 'z' })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    await first.body!.cancel()
    expect((await waiting).status).toBe(200)
    t.upstreams.script('primary', { status: 429, headers: { 'retry-after': '30' } })
    await t.post({ model: 'primary/m', input: 'w' })
    expect(t.gateway.stats().providers.primary).toEqual({ inFlight: 0, queued: 0, cooling: 1 })
  })

  it('plugins see the same stats through their setup context', async () => {
    let stats: (() => unknown) | undefined
    const plugin = definePlugin({ name: 'probe', setup: (context) => void (stats = context.stats), hooks: {} })
    const gateway = createGateway({ config: parseConfig({ providers: { primary: { keys: [] } } }), providers: [wireProvider('primary', 'wire')], plugins: [plugin], logger: silentLogger })
    await gateway.ready
    expect(stats!()).toEqual({ providers: { primary: { inFlight: 0, queued: 0, cooling: 0 } } })
  })

  it('GET /ready is 503 with a reason when the storage does not answer', async () => {
    const storage = createStorage()
    const gateway = createGateway({ config: parseConfig({}), providers: [wireProvider('primary', 'wire')], storage, logger: silentLogger })
    await gateway.ready
    expect((await gateway.fetch(new Request('http://gw.test/ready'))).status).toBe(200)
    storage.getItem = (() => Promise.reject(new Error('connection refused'))) as typeof storage.getItem
    const failing = await gateway.fetch(new Request('http://gw.test/ready'))
    expect(failing.status).toBe(503)
    expect(await failing.json()).toEqual({ status: 'unavailable', reason: 'storage unreachable: connection refused' })
    storage.getItem = (() => new Promise(() => {})) as typeof storage.getItem
    const hanging = await gateway.fetch(new Request('http://gw.test/ready'))
    expect(hanging.status).toBe(503)
    expect((await hanging.json()).reason).toMatch(/did not answer within/)
    expect((await gateway.fetch(new Request('http://gw.test/health'))).status).toBe(200)
  })
})

describe('outbound proxy wiring', () => {
  it('a provider with proxy_config gets the runtime transport; the others keep the default', async () => {
    const t = wireUpstreams()
    const proxied: string[] = []
    const gateway = createGateway({
      config: parseConfig({ providers: { primary: { keys: [{ value: 'k', models: [], weight: 1 }], proxy_config: { type: 'http', url: 'http://proxy.internal:3128' } }, backup: { keys: [{ value: 'k', models: [], weight: 1 }] } } }),
      providers: [wireProvider('primary', 'wire', wireSurface), wireProvider('backup', 'wire')],
      logger: silentLogger,
      fetch: t.fetch,
      fetchFor: (id, proxy) => ((url: string, init: RequestInit) => {
        proxied.push(`${id} via ${proxy.url}`)
        return t.fetch(url, init)
      }) as typeof fetch,
    })
    const post = (model: string) => gateway.fetch(new Request('http://gw.test/wire/chat', { method: 'POST', body: JSON.stringify({ model, input: 'x' }) }))
    expect((await post('primary/m')).status).toBe(200)
    expect((await post('backup/m')).status).toBe(200)
    expect(proxied).toEqual(['primary via http://proxy.internal:3128'])
  })

  it('proxy_config without a runtime transport fails at start instead of bypassing the proxy', () => {
    expect(() => createGateway({ config: parseConfig({ providers: { primary: { keys: [], proxy_config: { type: 'http', url: 'http://proxy:1' } } } }), providers: [wireProvider('primary', 'wire')], logger: silentLogger })).toThrow(/proxy_config/)
  })

  it('a configured fallback naming a provider that is not loaded fails at start', () => {
    expect(() => createGateway({ config: parseConfig({ providers: { primary: { keys: [], fallbacks: ['nope/x'] } } }), providers: [wireProvider('primary', 'wire')], logger: silentLogger })).toThrow(/fallbacks/)
  })
})
