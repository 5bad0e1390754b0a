import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY, UPSTREAM_KEY } from './support/gateway.js'
import { admin, dropPrefix, eventually, requestsOn, SHARED_REDIS_URL, sharedRedisAvailable, spentOn, startGatewayProcess, uniquePrefix, type GatewayProcess } from './support/governance.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * Three gateway processes on one real Redis (`storage: { type: "redis" }`), concurrent traffic
 * through all of them: the rate limit and the budget hold in total, exactly, and a change made
 * through the management API of one instance applies on the others. Under CI=true a missing
 * Redis fails this file; elsewhere it is skipped.
 */

const available = await sharedRedisAvailable()

const PRICE = 0.0001
const ANSWER_TOKENS = (JSON.parse(fixtureText('openai/chat-text.json')) as { usage: { completion_tokens: number } }).usage.completion_tokens
const COST = ANSWER_TOKENS * PRICE
const BUDGET_FITS = 20
const LIMIT = Number((BUDGET_FITS * COST).toFixed(9))
const REQUESTS_PER_HOUR = 30
const KEYS = { rate: 'sk-bf-redis-rate-0000000001', budget: 'sk-bf-redis-budget-00000001' }

describe.runIf(available)('three instances, one Redis', () => {
  const prefix = uniquePrefix('three')
  let mock: MockOpenAI
  let instances: GatewayProcess[] = []

  beforeAll(async () => {
    mock = await startMockOpenAI()
    const configs = [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }]
    const config = {
      providers: { openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` } } },
      storage: { type: 'redis', url: SHARED_REDIS_URL, prefix },
      governance: {
        pricing: { 'openai/gpt-4o-mini': { input_cost_per_token: 0, output_cost_per_token: PRICE } },
        virtual_keys: [
          { id: 'vk-rate', name: 'rate', value: KEYS.rate, provider_configs: configs, rate_limit: { request_max_limit: REQUESTS_PER_HOUR, request_reset_duration: '1h' } },
          { id: 'vk-budget', name: 'budget', value: KEYS.budget, provider_configs: configs, budgets: [{ max_limit: LIMIT, reset_duration: '1d' }] },
        ],
      },
    }
    // The third reads the URL from its environment (`env.VAR`), as a deployment would.
    const fromEnv = { ...config, storage: { ...config.storage, url: 'env.GOVERNANCE_TEST_REDIS_URL' } }
    instances = await Promise.all([startGatewayProcess(config), startGatewayProcess(config), startGatewayProcess(fromEnv, { GOVERNANCE_TEST_REDIS_URL: SHARED_REDIS_URL })])
  }, 90_000)

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()))
    await mock?.close()
    await dropPrefix(prefix)
  }, 60_000)

  /** `total` requests at once, spread over the three instances in turn. */
  async function spread(key: string, total: number, maxTokens: number): Promise<number[]> {
    const clients = instances.map((instance) => new OpenAI({ baseURL: `${instance.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key } }))
    return Promise.all(
      Array.from({ length: total }, (_, index) =>
        clients[index % clients.length]!.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages: [{ role: 'user', content: 'Hi' }] }).then(
          () => 200,
          (error: unknown) => (error as InstanceType<typeof OpenAI.APIError>).status ?? -1,
        ),
      ),
    )
  }
  const count = (statuses: number[], status: number) => statuses.filter((value) => value === status).length

  it('a request rate limit holds in total: 90 requests over three instances, exactly 30 served', async () => {
    mock.reset()
    const statuses = await spread(KEYS.rate, 90, 16)
    expect(count(statuses, 200)).toBe(REQUESTS_PER_HOUR)
    expect(count(statuses, 429)).toBe(90 - REQUESTS_PER_HOUR)
    expect(mock.requests).toHaveLength(REQUESTS_PER_HOUR)
    // Every instance reads the same counter.
    for (const instance of instances) expect(await requestsOn(instance.url, 'vk-rate')).toBe(REQUESTS_PER_HOUR)
  })

  it('a budget holds in total: 90 requests over three instances, exactly the 20 it fits served, spend equal to the limit', async () => {
    mock.reset()
    const statuses = await spread(KEYS.budget, 90, ANSWER_TOKENS)
    expect(count(statuses, 200)).toBe(BUDGET_FITS)
    expect(count(statuses, 402)).toBe(90 - BUDGET_FITS)
    expect(mock.requests).toHaveLength(BUDGET_FITS)
    for (const instance of instances) await eventually(() => spentOn(instance.url, 'vk-budget'), LIMIT)
  })

  it('a key created through one instance works on all; deactivated through another, it stops everywhere', async () => {
    const [one, two, three] = instances as [GatewayProcess, GatewayProcess, GatewayProcess]
    const created = await admin(one.url, 'POST', '/api/governance/virtual-keys', { id: 'vk-live', name: 'live', provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] })
    expect(created.status).toBe(200)
    const value = created.json.virtual_key.value as string
    const ask = (instance: GatewayProcess) =>
      fetch(`${instance.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${value}` }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }) }).then((response) => response.status)
    // Announced on the Redis channel: the others reload it.
    for (const instance of [two, three]) await eventually(() => ask(instance), 200)
    expect((await admin(three.url, 'PUT', '/api/governance/virtual-keys/vk-live', { is_active: false })).status).toBe(200)
    for (const instance of [one, two, three]) await eventually(() => ask(instance), 401)
    // It persisted: every instance lists it, inactive.
    for (const instance of instances) expect((await admin(instance.url, 'GET', '/api/governance/virtual-keys/vk-live')).json.virtual_key.is_active).toBe(false)
  })
})
