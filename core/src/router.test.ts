import { describe, expect, it } from 'vitest'
import { GatewayError } from './errors.js'
import { backoffDelay, registerProvider, resolveModel, selectKey, sendUpstream } from './router.js'
import { defineProvider } from './provider.js'
import type { KeyConfig } from './config.js'

const provider = (id: string, keys: KeyConfig[] = [], network = {}) =>
  registerProvider(
    id,
    defineProvider({
      id,
      spec: 1,
      baseURL: 'http://upstream.test/v1',
      upstream: {
        error: (status, body) => new GatewayError({ status, code: 'upstream', message: `[${id}] ${body}`, provider: id }),
      },
    }),
    { keys, network_config: network },
  )

describe('resolveModel', () => {
  const providers = new Map([
    ['openai', provider('openai', [{ value: 'k', models: [], weight: 1 }])],
    ['mock', provider('mock')],
  ])

  it('sends a bare model to the default provider', () => {
    const route = resolveModel('gpt-4o-mini', providers, 'openai')
    expect([route.provider.id, route.model]).toEqual(['openai', 'gpt-4o-mini'])
  })

  it('strips a known provider prefix and keeps further slashes', () => {
    const route = resolveModel('mock/meta/llama-3', providers, 'openai')
    expect([route.provider.id, route.model]).toEqual(['mock', 'meta/llama-3'])
  })

  it('rejects an unknown prefix with a 400 naming the provider', () => {
    try {
      resolveModel('nope/gpt-4o', providers, 'openai')
      expect.unreachable()
    } catch (error) {
      expect(GatewayError.is(error)).toBe(true)
      expect((error as GatewayError).status).toBe(400)
      expect((error as GatewayError).message).toContain('"nope"')
      expect((error as GatewayError).param).toBe('model')
    }
  })

  it('rejects an empty model after the prefix', () => {
    expect(() => resolveModel('openai/', providers, 'openai')).toThrow(/names no model/)
  })
})

describe('selectKey', () => {
  const keys: KeyConfig[] = [
    { value: 'a', models: ['gpt-4o'], weight: 3 },
    { value: 'b', models: [], weight: 1 },
    { value: 'c', models: ['o3'], weight: 5 },
  ]

  it('only picks keys whose models allow the model (empty = all)', () => {
    for (let i = 0; i < 50; i++) expect(['a', 'b']).toContain(selectKey(keys, 'gpt-4o')!.value)
    expect(selectKey(keys, 'embedding-3')!.value).toBe('b')
    expect(selectKey([{ value: 'x', models: ['m'], weight: 1 }], 'other')).toBeUndefined()
  })

  it('follows the weights', () => {
    const counts: Record<string, number> = { a: 0, b: 0 }
    let seed = 1
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
    for (let i = 0; i < 20000; i++) counts[selectKey(keys, 'gpt-4o', random)!.value]!++
    expect(counts.a! / 20000).toBeGreaterThan(0.72)
    expect(counts.a! / 20000).toBeLessThan(0.78)
  })
})

describe('backoffDelay', () => {
  it('stays within [0, min(max, initial * 2^attempt)]', () => {
    expect(backoffDelay(0, 100, 2000, () => 1)).toBe(100)
    expect(backoffDelay(3, 100, 2000, () => 1)).toBe(800)
    expect(backoffDelay(10, 100, 2000, () => 1)).toBe(2000)
    expect(backoffDelay(10, 100, 2000, () => 0)).toBe(0)
  })
})

describe('sendUpstream', () => {
  const build = (context: { baseURL: string; key?: KeyConfig }) => ({ url: `${context.baseURL}/x`, headers: { authorization: `Bearer ${context.key?.value}` }, body: '{}' })

  it('retries retryable statuses and returns the first success', async () => {
    const statuses = [503, 429, 200]
    const seen: number[] = []
    const fetcher = (async () => {
      const status = statuses.shift()!
      seen.push(status)
      return new Response(status === 200 ? '{"ok":true}' : 'busy', { status, headers: status === 429 ? { 'retry-after': '0' } : {} })
    }) as typeof fetch
    const route = { provider: provider('openai', [{ value: 'k', models: [], weight: 1 }], { max_retries: 2, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 2 }), model: 'm' }
    const result = await sendUpstream({ route, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })
    result.done()
    expect(seen).toEqual([503, 429, 200])
    expect(result.attempts).toBe(3)
  })

  it('does not retry a 400 and throws the provider error', async () => {
    let calls = 0
    const fetcher = (async () => {
      calls++
      return new Response('bad', { status: 400 })
    }) as typeof fetch
    const route = { provider: provider('openai', [{ value: 'k', models: [], weight: 1 }], { max_retries: 3 }), model: 'm' }
    await expect(sendUpstream({ route, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })).rejects.toMatchObject({ status: 400 })
    expect(calls).toBe(1)
  })

  it('times out a hanging upstream with a 504', async () => {
    const fetcher = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch
    const route = { provider: provider('openai', [{ value: 'k', models: [], weight: 1 }], { default_request_timeout_in_seconds: 0.05 }), model: 'm' }
    await expect(sendUpstream({ route, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })).rejects.toMatchObject({ status: 504, code: 'timeout' })
  })

  it('uses the direct key instead of configured keys', async () => {
    let auth: string | undefined
    const fetcher = (async (_url: string, init: RequestInit) => {
      auth = (init.headers as Record<string, string>).authorization
      return new Response('{}')
    }) as typeof fetch
    const route = { provider: provider('openai', [{ value: 'configured', models: [], weight: 1 }]), model: 'm' }
    const result = await sendUpstream({ route, directKey: 'caller', signal: new AbortController().signal, fetch: fetcher, build })
    result.done()
    expect(auth).toBe('Bearer caller')
  })

  it('fails with a 400 before sending when the provider has no keys', async () => {
    let calls = 0
    const fetcher = (async () => {
      calls++
      return new Response('{}')
    }) as typeof fetch
    const route = { provider: provider('openai'), model: 'm' }
    await expect(sendUpstream({ route, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })).rejects.toMatchObject({ status: 400 })
    expect(calls).toBe(0)
  })
})
