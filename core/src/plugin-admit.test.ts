import { describe, expect, it, vi } from 'vitest'
import { parseConfig } from './config.js'
import { GatewayError } from './errors.js'
import { createGateway } from './gateway.js'
import { silentLogger } from './log.js'
import { definePlugin, type PluginSetupContext } from './plugin.js'
import { defineProvider } from './provider.js'
import { contractProvider } from './testing/contract-provider.js'

/** A plugin route that admits its callers (as the files plugin does), and a plugin that guards and records. */
function setUp(options: { onRequestFails?: boolean } = {}) {
  const seen: Array<{ hook: string; operation: string; status?: number; key?: unknown }> = []
  const guard = definePlugin({
    name: 'guard',
    hooks: {
      onRequest(ctx) {
        if (ctx.headers.get('authorization') === 'Bearer wrong' || options.onRequestFails) {
          ctx.responseHeaders.set('x-guard', 'refused')
          throw new GatewayError({ status: 401, code: 'authentication', message: 'who are you', retryable: false })
        }
        ctx.state.set('switchyard:virtual_key', { id: 'vk-1' })
        ctx.responseHeaders.set('x-guard', 'passed')
        seen.push({ hook: 'onRequest', operation: ctx.operation })
      },
      afterUpstream(ctx, outcome) {
        seen.push({ hook: 'afterUpstream', operation: ctx.operation, status: outcome.ok ? outcome.status : outcome.error.status })
      },
      onFinish(ctx, summary) {
        seen.push({ hook: 'onFinish', operation: ctx.operation, status: summary.status })
      },
    },
  })
  let context!: PluginSetupContext
  const routes = definePlugin({
    name: 'routes',
    routes(app, setup) {
      context = setup
      app.get('/openai/things', async (c) => {
        let admitted
        try {
          admitted = await setup.admit(c.req.raw, { surface: 'openai', operation: 'files' })
        } catch (error) {
          return c.json({ refused: (error as GatewayError).message }, (error as GatewayError).status as 401)
        }
        const key = admitted.ctx.state.get('switchyard:virtual_key')
        return admitted.respond(new Response(JSON.stringify({ key }), { headers: { 'content-type': 'application/json' } }))
      })
    },
    hooks: {},
  })
  const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [guard, routes], logger: silentLogger })
  return { gateway, seen, context: () => context }
}

describe('PluginSetupContext.admit', () => {
  it("runs onRequest for a plugin route's caller, then afterUpstream and onFinish once with the answer", async () => {
    const { gateway, seen } = setUp()
    const response = await gateway.fetch(new Request('http://gateway.test/openai/things'))
    expect(await response.json()).toEqual({ key: { id: 'vk-1' } })
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
    expect(response.headers.get('x-guard')).toBe('passed')
    await vi.waitFor(() => expect(seen).toHaveLength(3))
    expect(seen).toEqual([
      { hook: 'onRequest', operation: 'files' },
      { hook: 'afterUpstream', operation: 'files', status: 200 },
      { hook: 'onFinish', operation: 'files', status: 200 },
    ])
    await gateway.close()
  })

  it("rejects with the hook's error after running the closing hooks, and keeps the hooks' headers", async () => {
    const { gateway, seen } = setUp()
    const response = await gateway.fetch(new Request('http://gateway.test/openai/things', { headers: { authorization: 'Bearer wrong' } }))
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ refused: 'who are you' })
    expect(response.headers.get('x-guard')).toBe('refused')
    await vi.waitFor(() => expect(seen).toHaveLength(2))
    expect(seen).toEqual([
      { hook: 'afterUpstream', operation: 'files', status: 401 },
      { hook: 'onFinish', operation: 'files', status: 401 },
    ])
    await gateway.close()
  })
})

describe('PluginSetupContext.send', () => {
  it('refuses a provider that is not loaded, naming the loaded ones', async () => {
    const { gateway, context } = setUp()
    await expect(context().send('nope', { build: () => ({ url: 'http://x', headers: {} }) })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('unknown provider "nope"') })
    await gateway.close()
  })

  it("sends with the provider's key, retries and its passthrough target", async () => {
    const calls: Array<{ url: string; authorization: string | null }> = []
    const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') })
      return calls.length === 1 ? new Response('busy', { status: 503 }) : new Response('{"ok":true}', { status: 200 })
    }) as typeof fetch
    const filesProvider = defineProvider({
      id: 'files-up',
      spec: 1,
      upstream: {
        error: (status) => new GatewayError({ status, code: 'upstream', message: `failed with ${status}` }),
        passthrough: (path, context) => ({ url: `${context.baseURL}${path}`, headers: { authorization: `Bearer ${context.key?.value}` } }),
      },
    })
    let context!: PluginSetupContext
    const plugin = definePlugin({ name: 'p', setup: (setup) => void (context = setup), hooks: {} })
    const config = parseConfig({ providers: { 'files-up': { keys: [{ value: 'sk-contract-1' }], network_config: { base_url: 'http://upstream.test/v1', max_retries: 1, retry_backoff_initial_ms: 0, retry_backoff_max_ms: 0 } } } })
    const gateway = createGateway({ config, providers: [filesProvider], plugins: [plugin], logger: silentLogger, fetch: fetcher })
    await gateway.ready
    const sent = await context.send('files-up', { build: (_context, passthrough) => ({ ...passthrough('/files'), method: 'GET' }) })
    expect(await sent.response.json()).toEqual({ ok: true })
    sent.settle()
    expect(calls).toEqual([
      { url: 'http://upstream.test/v1/files', authorization: 'Bearer sk-contract-1' },
      { url: 'http://upstream.test/v1/files', authorization: 'Bearer sk-contract-1' },
    ])
    await gateway.close()
  })
})
