import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chunkLines, fixtureText, frameDataEvents } from './support/fixtures.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { ADMIN_TOKEN, eventually, spentOn } from './support/governance.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * Budgets under concurrency, streams and disconnects, through the OpenAI SDK.
 *
 * Prices: output only, $0.0001 a token, so a request's cost is exactly its completion tokens
 * times that: the recorded answer (test fixture chat-text.json) has 363 completion tokens, $0.0363;
 * the recorded stream 300, $0.03. A request reserves `max_tokens` x $0.0001 before it runs.
 */

const PRICE = 0.0001
const ANSWER_TOKENS = (JSON.parse(fixtureText('openai/chat-text.json')) as { usage: { completion_tokens: number } }).usage.completion_tokens
const STREAM_TOKENS = 300
const COST = ANSWER_TOKENS * PRICE
const FITS = 50
const LIMIT = Number((FITS * COST).toFixed(9))

const KEYS = { exact: 'sk-bf-budget-exact-00000001', under: 'sk-bf-budget-under-00000001', streams: 'sk-bf-budget-stream-0000001' }

let mock: MockOpenAI
let gateway: LaunchedGateway
beforeAll(async () => {
  mock = await startMockOpenAI()
  const configs = [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }]
  gateway = await launchGateway({
    providers: { openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` } } },
    governance: {
      auth_config: { admin_token: ADMIN_TOKEN },
      pricing: { 'openai/gpt-4o-mini': { input_cost_per_token: 0, output_cost_per_token: PRICE } },
      virtual_keys: [
        { id: 'vk-exact', name: 'exact', value: KEYS.exact, provider_configs: configs, budgets: [{ max_limit: LIMIT, reset_duration: '1d' }] },
        { id: 'vk-under', name: 'under', value: KEYS.under, provider_configs: configs, budgets: [{ max_limit: LIMIT, reset_duration: '1d' }] },
        { id: 'vk-streams', name: 'streams', value: KEYS.streams, provider_configs: configs, budgets: [{ max_limit: 100, reset_duration: '1d' }] },
      ],
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => mock.reset())

const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key } })

/** 200 requests at once; the statuses they got. */
async function burst(key: string, maxTokens: number): Promise<number[]> {
  const openai = client(key)
  return Promise.all(
    Array.from({ length: 200 }, () =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages: [{ role: 'user', content: 'Hi' }] }).then(
        () => 200,
        (error: unknown) => (error as InstanceType<typeof OpenAI.APIError>).status ?? -1,
      ),
    ),
  )
}

const count = (statuses: number[], status: number) => statuses.filter((value) => value === status).length
/** Dollars to nano-dollar precision (how budgets count), so float noise does not matter. */
const usd = (value: number) => Number(value.toFixed(9))
const spentSince = (before: number, keyId: string) => () => spentOn(gateway.url, keyId).then((spent) => usd(spent - before))

describe('200 concurrent requests against a budget that fits 50', () => {
  it('a reservation that covers the real cost: exactly 50 run, spend ends exactly at the limit', async () => {
    const statuses = await burst(KEYS.exact, ANSWER_TOKENS)
    expect(count(statuses, 200)).toBe(FITS)
    expect(count(statuses, 402)).toBe(200 - FITS)
    // The refused ones never reached the provider.
    expect(mock.requests).toHaveLength(FITS)
    await eventually(() => spentOn(gateway.url, 'vk-exact'), LIMIT)
  })

  it('a reservation below the real cost: the overshoot stays within the documented bound', async () => {
    // Each request reserves 100 tokens ($0.01) but uses 363 ($0.0363).
    const reserved = 100 * PRICE
    const statuses = await burst(KEYS.under, 100)
    const admitted = count(statuses, 200)
    expect(admitted + count(statuses, 402)).toBe(200)
    expect(mock.requests).toHaveLength(admitted)
    // Every admitted request's reservation fit the budget when it was made ...
    expect(admitted * reserved).toBeLessThanOrEqual(LIMIT + 1e-9)
    // ... so the spend exceeds the limit by at most what the requests in flight used beyond their reservations.
    await eventually(spentSince(0, 'vk-under'), usd(admitted * COST))
    const spent = await spentOn(gateway.url, 'vk-under')
    expect(spent - LIMIT).toBeLessThanOrEqual(admitted * (COST - reserved) + 1e-9)
    // Once it ran out, nothing more gets through.
    const after = await client(KEYS.under).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect((after as InstanceType<typeof OpenAI.APIError>).status).toBe(402)
  })
})

describe('settlement', () => {
  it('a stream is charged its real usage once it ends', async () => {
    const before = await spentOn(gateway.url, 'vk-streams')
    const stream = await client(KEYS.streams).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'Hi' }] })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text.length).toBeGreaterThan(0)
    await eventually(spentSince(before, 'vk-streams'), usd(STREAM_TOKENS * PRICE))
  })

  it('a caller that disconnects mid-stream is charged its reservation (the usage never arrived)', async () => {
    const before = await spentOn(gateway.url, 'vk-streams')
    // The recorded stream, slowly, without its usage chunk: the caller leaves after the first chunk.
    const events = frameDataEvents(chunkLines('openai/chat-stream-text.chunks.txt').filter((line) => !line.includes('"usage":{')))
    mock.setNext({ status: 200, events, eventDelayMs: 30 })
    const stream = await client(KEYS.streams).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 500, stream: true, messages: [{ role: 'user', content: 'Hi' }] })
    for await (const _chunk of stream) break
    await eventually(spentSince(before, 'vk-streams'), usd(500 * PRICE))
    await expect.poll(() => mock.requests[0]?.outcome).toBe('aborted')
  })

  it('a failed upstream call gives its reservation back', async () => {
    const before = await spentOn(gateway.url, 'vk-streams')
    mock.setNext({ status: 500, body: { error: { message: 'boom', type: 'server_error', param: null, code: null } } })
    const error = await client(KEYS.streams).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(500)
    // A request after it settles: the failed one left nothing behind.
    await client(KEYS.streams).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] })
    await eventually(spentSince(before, 'vk-streams'), usd(COST))
  })
})
