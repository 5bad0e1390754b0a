import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { GatewayError } from './errors.js'
import { createGateway } from './gateway.js'
import { silentLogger } from './log.js'
import { definePlugin } from './plugin.js'
import { contractProvider } from './testing/contract-provider.js'

const chat = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://gateway.test/contract/chat', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('GET /ready', () => {
  it('answers 503 until plugin setup finished, 200 after, 503 again once closing', async () => {
    let release!: () => void
    const setupDone = new Promise<void>((resolve) => (release = resolve))
    const plugin = definePlugin({ name: 'slow-setup', setup: () => setupDone, hooks: {} })
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    const before = await gateway.fetch(new Request('http://gateway.test/ready'))
    expect(before.status).toBe(503)
    expect(await before.json()).toEqual({ status: 'starting' })
    expect((await gateway.fetch(new Request('http://gateway.test/health'))).status).toBe(200)
    release()
    await gateway.ready
    const after = await gateway.fetch(new Request('http://gateway.test/ready'))
    expect(after.status).toBe(200)
    expect(await after.json()).toEqual({ status: 'ready' })
    await gateway.close()
    expect((await gateway.fetch(new Request('http://gateway.test/ready'))).status).toBe(503)
  })

  it('stays 503 when a plugin setup fails', async () => {
    const plugin = definePlugin({ name: 'broken-setup', setup: () => Promise.reject(new Error('no database')), hooks: {} })
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    await gateway.ready.catch(() => {})
    const response = await gateway.fetch(new Request('http://gateway.test/ready'))
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ status: 'failed' })
  })
})

describe('ctx.responseHeaders', () => {
  const stamp = definePlugin({
    name: 'stamp',
    hooks: {
      onRequest(ctx) {
        ctx.responseHeaders.set('x-stamp', 'on-request')
        if (ctx.headers.get('x-refuse')) throw new GatewayError({ status: 403, code: 'permission', message: 'refused', retryable: false })
      },
      beforeUpstream(ctx) {
        ctx.responseHeaders.set('x-stamp-before', ctx.stream ? 'stream' : 'plain')
      },
    },
  })
  const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [stamp], logger: silentLogger })

  it('go onto plain, streamed and error responses', async () => {
    const plain = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi' }))
    expect(plain.status).toBe(200)
    expect(plain.headers.get('x-stamp')).toBe('on-request')
    expect(plain.headers.get('x-stamp-before')).toBe('plain')
    const streamed = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi', stream: true }))
    expect(streamed.headers.get('x-stamp-before')).toBe('stream')
    await streamed.text()
    const failed = await gateway.fetch(chat({ model: 'contract/error-503', input: 'hi' }))
    expect(failed.status).toBe(503)
    expect(failed.headers.get('x-stamp')).toBe('on-request')
    const refused = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi' }, { 'x-refuse': '1' }))
    expect(refused.status).toBe(403)
    expect(refused.headers.get('x-stamp')).toBe('on-request')
  })

  it('belong to their own request only', async () => {
    const [a, b] = await Promise.all([gateway.fetch(chat({ model: 'contract/echo', input: 'a' })), gateway.fetch(chat({ model: 'contract/echo', input: 'b', stream: true }))])
    expect(a.headers.get('x-stamp-before')).toBe('plain')
    expect(b.headers.get('x-stamp-before')).toBe('stream')
    await b.text()
    expect((await gateway.fetch(new Request('http://gateway.test/health'))).headers.get('x-stamp')).toBeNull()
  })
})

describe('close()', () => {
  it('waits for onFinish of requests answered just before', async () => {
    const finished: number[] = []
    const plugin = definePlugin({ name: 'late', hooks: { onFinish: (_ctx, summary) => void finished.push(summary.status) } })
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    await (await gateway.fetch(chat({ model: 'contract/echo', input: 'a', stream: true }))).text()
    await (await gateway.fetch(chat({ model: 'contract/error-503', input: 'b' }))).text()
    await gateway.close()
    expect(finished.sort()).toEqual([200, 503])
  })
})

describe('plugin routes', () => {
  it('serve after /health and /ready, before the surfaces, with the plugin options', async () => {
    const seen: unknown[] = []
    const plugin = definePlugin({
      name: 'status-page',
      routes(app, context) {
        seen.push(context.options)
        app.get('/plugin-status', (c) => c.json({ options: context.options, config: typeof context.config }))
        // Registered later than the probes: it never replaces them.
        app.get('/health', (c) => c.text('shadowed', 500))
      },
      hooks: {},
    })
    const gateway = createGateway({ config: parseConfig({ plugins: [{ name: 'status-page', config: { label: 'a' } }] }), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    expect(seen).toEqual([{ label: 'a' }])
    const status = await gateway.fetch(new Request('http://gateway.test/plugin-status'))
    expect(status.status).toBe(200)
    expect(await status.json()).toEqual({ options: { label: 'a' }, config: 'object' })
    expect(await (await gateway.fetch(new Request('http://gateway.test/health'))).json()).toEqual({ status: 'ok' })
    const answered = await gateway.fetch(chat({ model: 'contract/echo', input: 'still routed' }))
    expect(answered.status).toBe(200)
    expect(((await answered.json()) as { text: string }).text).toBe('still routed')
    expect((await gateway.fetch(new Request('http://gateway.test/nothing-here'))).status).toBe(404)
    await gateway.close()
  })
})
