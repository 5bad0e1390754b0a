import { describe, expect, it } from 'vitest'
import { GatewayError } from './errors.js'
import { backoffDelay, registerProvider, resolveModel, selectKey, sendUpstream, type RegisterOptions } from './router.js'
import { KeyCooldowns } from './cooldown.js'
import { defineProvider } from './provider.js'
import type { KeyConfig, ProviderConfig } from './config.js'

const provider = (id: string, keys: KeyConfig[] = [], network = {}, extra: Partial<ProviderConfig> = {}, options: RegisterOptions = {}) =>
  registerProvider(
    id,
    defineProvider({
      id,
      spec: 1,
      baseURL: 'http://upstream.test/v1',
      upstream: {
        error: (status, body, headers) => new GatewayError({ status, code: 'upstream', message: `[${id}] ${body}`, provider: id, headers: headers.get('retry-after') ? { 'retry-after': headers.get('retry-after')! } : undefined }),
      },
    }),
    { keys, network_config: network, ...extra },
    options,
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

describe('selectKey with cooldowns', () => {
  const a: KeyConfig = { value: 'a', models: [], weight: 5 }
  const b: KeyConfig = { value: 'b', models: [], weight: 1 }
  const c: KeyConfig = { value: 'c', models: ['other'], weight: 1 }

  it('skips a cooling key while another allowed key can serve', () => {
    const cooldowns = new KeyCooldowns()
    cooldowns.cool(a, 429, 10_000, 0)
    for (let i = 0; i < 50; i++) expect(selectKey([a, b, c], 'm', Math.random, cooldowns, 1_000)!.value).toBe('b')
    // Once the cooldown is over, the weights apply again.
    expect(selectKey([a, b], 'm', () => 0, cooldowns, 20_000)!.value).toBe('a')
  })

  it('when every allowed key is cooling, uses the one whose cooldown ends first', () => {
    const cooldowns = new KeyCooldowns()
    cooldowns.cool(a, 429, 10_000, 0)
    cooldowns.cool(b, 429, 3_000, 0)
    expect(selectKey([a, b, c], 'm', Math.random, cooldowns, 1_000)!.value).toBe('b')
  })

  it('a cooling key of another model does not matter', () => {
    const cooldowns = new KeyCooldowns()
    cooldowns.cool(c, 401, undefined, 0)
    const onlyM: KeyConfig = { value: 'x', models: ['m'], weight: 1 }
    expect(selectKey([onlyM, c], 'm', Math.random, cooldowns, 1)!.value).toBe('x')
    expect(selectKey([onlyM, c], 'other', Math.random, cooldowns, 1)!.value).toBe('c')
  })
})

describe('sendUpstream key rotation and slots', () => {
  const build = (context: { baseURL: string; key?: KeyConfig }) => ({ url: `${context.baseURL}/x`, headers: { authorization: `Bearer ${context.key?.value}` }, body: '{}' })
  /** Answers each key with its scripted statuses (then 200), recording the order of keys. */
  const scripted = (script: Record<string, Array<{ status: number; retryAfter?: string }>>) => {
    const seen: string[] = []
    const fetcher = (async (_url: string, init: RequestInit) => {
      const key = (init.headers as Record<string, string>).authorization!.slice(7)
      seen.push(key)
      const next = script[key]?.shift()
      if (!next) return new Response('{"ok":true}')
      return new Response('{"error":{}}', { status: next.status, headers: next.retryAfter ? { 'retry-after': next.retryAfter } : {} })
    }) as typeof fetch
    return { seen, fetcher }
  }
  /** `a` serves first (b has weight 0: it serves only when a cannot). */
  const keys = (): KeyConfig[] => [{ value: 'a', models: [], weight: 1 }, { value: 'b', models: [], weight: 0 }]

  it('a 429 cools the key and the retry goes to the other key, without waiting out retry-after', async () => {
    const p = provider('openai', keys(), { max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 1_000 })
    const { seen, fetcher } = scripted({ a: [{ status: 429, retryAfter: '60' }] })
    const started = Date.now()
    const tally = { attempts: 0, retries: 0 }
    const result = await sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build, tally })
    result.settle()
    expect(Date.now() - started).toBeLessThan(500)
    expect(seen).toEqual(['a', 'b'])
    expect(p.cooldowns.count(Date.now())).toBe(1)
    expect(tally).toEqual({ attempts: 2, retries: 1 })
    // The next request avoids the cooling key.
    for (let i = 0; i < 5; i++) {
      ;(await sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })).settle()
    }
    expect(seen.slice(2)).toEqual(['b', 'b', 'b', 'b', 'b'])
  })

  it('a 401 is retried at once on another key (it is not retryable as such)', async () => {
    const p = provider('openai', keys(), { max_retries: 1, retry_backoff_initial_ms: 5_000, retry_backoff_max_ms: 5_000 })
    const { seen, fetcher } = scripted({ a: [{ status: 401 }] })
    const started = Date.now()
    const result = await sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })
    result.settle()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(seen).toEqual(['a', 'b'])
  })

  it('a 401 with a single key is not retried', async () => {
    const p = provider('openai', [{ value: 'a', models: [], weight: 1 }], { max_retries: 3 })
    const { seen, fetcher } = scripted({ a: [{ status: 401 }] })
    await expect(sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build })).rejects.toMatchObject({ status: 401 })
    expect(seen).toEqual(['a'])
    expect(p.cooldowns.count(Date.now())).toBe(1)
  })

  it("the caller's own key is never cooled", async () => {
    const p = provider('openai', keys())
    const { fetcher } = scripted({ mine: [{ status: 429 }] })
    await expect(sendUpstream({ route: { provider: p, model: 'm' }, directKey: 'mine', signal: new AbortController().signal, fetch: fetcher, build })).rejects.toMatchObject({ status: 429 })
    expect(p.cooldowns.size).toBe(0)
  })

  it('counts attempts and retries also when the call fails in the end', async () => {
    const p = provider('openai', keys(), { max_retries: 2, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 1 })
    const fetcher = (async () => new Response('busy', { status: 503 })) as typeof fetch
    const tally = { attempts: 0, retries: 0 }
    await expect(sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build, tally })).rejects.toMatchObject({ status: 503 })
    expect(tally).toEqual({ attempts: 3, retries: 2 })
    expect(p.load.inFlight).toBe(0)
  })

  it('holds a concurrency slot from the request until settle(), and frees it on failures', async () => {
    const p = provider('openai', keys(), {}, { concurrency_and_buffer_size: { concurrency: 1 } })
    const ok = (async () => new Response('{}')) as typeof fetch
    const result = await sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: ok, build })
    expect(p.load.inFlight).toBe(1)
    const second = sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: ok, build })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(p.load.queued).toBe(1)
    result.settle()
    result.settle()
    ;(await second).settle()
    expect([p.load.inFlight, p.load.queued]).toEqual([0, 0])
    const failing = (async () => new Response('no', { status: 500 })) as typeof fetch
    await expect(sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: failing, build })).rejects.toMatchObject({ status: 500 })
    expect(p.load.inFlight).toBe(0)
  })

  it("uses the provider's own transport (an outbound proxy) when it has one", async () => {
    const calls: string[] = []
    const proxied = (async () => {
      calls.push('proxy')
      return new Response('{}')
    }) as typeof fetch
    const direct = (async () => {
      calls.push('direct')
      return new Response('{}')
    }) as typeof fetch
    const p = provider('openai', keys(), {}, {}, { fetch: proxied })
    ;(await sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: direct, build })).settle()
    expect(calls).toEqual(['proxy'])
  })

  it('a caller that goes away while the upstream has not answered: 499, the upstream request is aborted', async () => {
    let upstreamSignal: AbortSignal | undefined
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        upstreamSignal = init.signal!
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason))
      })) as typeof fetch
    const caller = new AbortController()
    const p = provider('openai', keys(), { max_retries: 3 })
    const sending = sendUpstream({ route: { provider: p, model: 'm' }, directKey: undefined, signal: caller.signal, fetch: hanging, build })
    await new Promise((resolve) => setTimeout(resolve, 5))
    caller.abort('Client connection prematurely closed.')
    await expect(sending).rejects.toMatchObject({ status: 499, code: 'client_closed' })
    expect(upstreamSignal!.aborted).toBe(true)
    expect(p.load.inFlight).toBe(0)
  })
})
