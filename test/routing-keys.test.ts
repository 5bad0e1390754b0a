import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { hello, openaiProvider, rejection, sleep, useRouting, type OpenAIError } from './support/routing.js'

/**
 * Keys: weighted random choice among the keys whose `models` allow the model, and a key that just
 * answered 429/401 is cooled down and skipped while another key can serve.
 */

const r = useRouting(['keys'])

/** Sends `count` chat requests, `parallel` at a time, and returns the keys the upstream saw. */
async function keysUsed(openai: OpenAI, count: number, model = 'gpt-4o', parallel = 20): Promise<string[]> {
  for (let sent = 0; sent < count; sent += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - sent) }, () => openai.chat.completions.create({ model, messages: hello })))
  }
  return r.up.keys.requests.map((request) => request.key!)
}

const tally = (keys: readonly string[]) => keys.reduce<Record<string, number>>((counts, key) => ((counts[key] = (counts[key] ?? 0) + 1), counts), {})

describe('weighted keys', () => {
  it('200 requests split 3:1 between keys of weight 3 and 1 (within 5 standard deviations)', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.keys, { keys: [{ value: 'sk-heavy', weight: 3 }, { value: 'sk-light', weight: 1 }] }) } })
    const counts = tally(await keysUsed(gateway.openai, 200))
    expect(Object.keys(counts).sort()).toEqual(['sk-heavy', 'sk-light'])
    // Binomial(200, 0.75): mean 150, sd ~6.1.
    expect(counts['sk-heavy']).toBeGreaterThanOrEqual(120)
    expect(counts['sk-heavy']).toBeLessThanOrEqual(180)
    expect(counts['sk-heavy']! + counts['sk-light']!).toBe(200)
  })

  it('weight 0 is never chosen while another key can serve', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.keys, { keys: [{ value: 'sk-on', weight: 1 }, { value: 'sk-off', weight: 0 }] }) } })
    expect(tally(await keysUsed(gateway.openai, 40))).toEqual({ 'sk-on': 40 })
  })

  it('`models` filters: a key restricted to other models is never used; a model only one key allows always uses it', async () => {
    const gateway = await r.launch({
      providers: {
        openai: openaiProvider(r.up.keys, {
          keys: [
            { value: 'sk-any', weight: 1 },
            { value: 'sk-mini-only', weight: 100, models: ['gpt-4o-mini'] },
            { value: 'sk-nano-only', weight: 1, models: ['gpt-4.1-nano'] },
          ],
        }),
      },
    })
    const big = tally(await keysUsed(gateway.openai, 40, 'gpt-4o'))
    expect(big).toEqual({ 'sk-any': 40 })
    r.up.keys.reset()
    const nano = tally(await keysUsed(gateway.openai, 20, 'gpt-4.1-nano'))
    expect(nano['sk-mini-only']).toBeUndefined()
    r.up.keys.reset()
    // Weight 100 against 1: nearly every gpt-4o-mini request goes to the restricted key.
    const mini = tally(await keysUsed(gateway.openai, 40, 'gpt-4o-mini'))
    expect(mini['sk-mini-only']).toBeGreaterThanOrEqual(34)
    expect(mini['sk-nano-only']).toBeUndefined()
  })

  it('a model no key allows is a 404 in OpenAI shape, and nothing reaches the upstream', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.keys, { keys: [{ value: 'sk-mini-only', models: ['gpt-4o-mini'] }] }) } })
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.param).toBe('model')
    expect(r.up.keys.requests).toEqual([])
  })
})

describe('cooldown', () => {
  const twoKeys = (network: Record<string, unknown> = {}) => ({ providers: { openai: openaiProvider(r.up.keys, { keys: ['sk-a', 'sk-b'], network }) } })

  it('a key that got 429 is skipped by the next requests (no retries): one 429 reaches the client, then only the other key', async () => {
    r.up.keys.always({ key: 'sk-a' }, fault.status(429, { retryAfter: '60' }))
    const gateway = await r.launch(twoKeys())
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) {
      statuses.push(
        await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).then(
          () => 200,
          (error: OpenAIError) => error.status ?? 0,
        ),
      )
    }
    const keys = r.up.keys.requests.map((request) => request.key)
    // sk-a is chosen at random until it first answers; P(never in 20) = 2^-20.
    expect(keys.filter((key) => key === 'sk-a')).toHaveLength(1)
    const first429 = keys.indexOf('sk-a')
    expect(keys.slice(first429 + 1).every((key) => key === 'sk-b')).toBe(true)
    expect(statuses.filter((status) => status === 429)).toHaveLength(1)
    expect(statuses.filter((status) => status === 200)).toHaveLength(19)
  })

  it('with a retry left, the 429 is retried on the other key: every client call succeeds', async () => {
    r.up.keys.always({ key: 'sk-a' }, fault.status(429, { retryAfter: '60' }))
    const gateway = await r.launch(twoKeys({ max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 }))
    for (let i = 0; i < 20; i++) {
      const { response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).withResponse()
      expect(response.status).toBe(200)
    }
    const keys = r.up.keys.requests.map((request) => request.key)
    expect(keys.filter((key) => key === 'sk-a')).toHaveLength(1)
    expect(keys).toHaveLength(21)
    // The attempt right after the 429 went to the other key.
    expect(keys[keys.indexOf('sk-a') + 1]).toBe('sk-b')
  })

  it('a key that got 401 is cooled down too, and the retry goes to the other key at once', async () => {
    r.up.keys.always({ key: 'sk-a' }, fault.status(401))
    const gateway = await r.launch(twoKeys({ max_retries: 1, retry_backoff_initial_ms: 1000, retry_backoff_max_ms: 1000 }))
    for (let i = 0; i < 20; i++) await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    const requests = r.up.keys.requests
    const bad = requests.filter((request) => request.key === 'sk-a')
    expect(bad).toHaveLength(1)
    const next = requests[requests.indexOf(bad[0]!) + 1]!
    expect(next.key).toBe('sk-b')
    // "At once": no backoff (which would be up to 1 s here) before switching keys.
    expect(next.at - bad[0]!.at).toBeLessThan(300)
  })

  it('the cooldown lasts retry-after: after it the key serves again', async () => {
    r.up.keys.script({ key: 'sk-a' }, fault.status(429, { retryAfter: '1' }))
    const gateway = await r.launch(twoKeys())
    // Until sk-a has been hit once.
    for (let i = 0; i < 30 && r.up.keys.requestsWithKey('sk-a').length === 0; i++) await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).catch(() => undefined)
    expect(r.up.keys.requestsWithKey('sk-a')).toHaveLength(1)
    const cooledAt = r.up.keys.requests.length
    for (let i = 0; i < 10; i++) await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(r.up.keys.requests.slice(cooledAt).map((request) => request.key)).toEqual(Array(10).fill('sk-b'))
    await sleep(1_100)
    const after = r.up.keys.requests.length
    for (let i = 0; i < 20; i++) await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(r.up.keys.requests.slice(after).some((request) => request.key === 'sk-a')).toBe(true)
  })

  it('a single key is not taken out of service: after its 429 the next request still reaches the upstream', async () => {
    r.up.keys.script({}, fault.status(429, { retryAfter: '60' }))
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.keys, { keys: ['sk-only'] }) } })
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.headers?.get('retry-after')).toBe('60')
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.keys.textOf())
    expect(r.up.keys.requests.map((request) => request.key)).toEqual(['sk-only', 'sk-only'])
  })
})
