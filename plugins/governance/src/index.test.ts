import { createGateway, createMemoryAtomicStore, parseConfig, silentLogger, type AtomicStore, type ConfigInput, type Gateway } from '@switchyard/core'
import mock from '@switchyard/provider-mock'
import openai from '@switchyard/provider-openai'
import { createStorage, type Storage } from 'unstorage'
import { runPluginContract } from '@switchyard/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import createGovernancePlugin, { COST_STATE, VIRTUAL_KEY_STATE } from './index.js'

// The plugin contract, with a key that holds a rate limit (so every request reserves and settles).
runPluginContract({
  plugin: createGovernancePlugin,
  options: {
    virtual_keys: [{ id: 'vk-contract', name: 'contract', value: 'sk-bf-contract-key-0000001', provider_configs: [{ provider: 'contract', allowed_models: ['*'] }], rate_limit: { request_max_limit: 100000, request_reset_duration: '1h', token_max_limit: 100000000, token_reset_duration: '1h' } }],
  },
  headers: { 'x-bf-vk': 'sk-bf-contract-key-0000001' },
  rejects: [
    { name: 'an unknown virtual key', headers: { 'x-bf-vk': 'sk-bf-unknown-key-00000001' }, status: 401 },
  ],
})

/**
 * Governance in one process: the OpenAI surface, the in-process mock provider (usage = 4
 * characters a token) and the plugin, requests through `gateway.fetch`. The e2e suites
 * (test/governance-*.test.ts) run the same rules through the real SDKs and real processes.
 */

const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
})

const KEY = 'sk-bf-test-key-0000000001'
/** Prices of the mock models in these tests: a dollar per thousand tokens, in and out. */
const PRICING = { 'mock/echo': { input_cost_per_token: 0.001, output_cost_per_token: 0.001 }, 'mock/other': { input_cost_per_token: 0.001, output_cost_per_token: 0.001 } }

async function start(governance: Record<string, unknown>, options: { config?: ConfigInput; storage?: Storage; atomic?: AtomicStore; seen?: Map<string, unknown>[] } = {}) {
  const plugin = createGovernancePlugin()
  const probe = {
    name: 'probe',
    hooks: {
      onFinish(ctx: { state: Map<string, unknown> }) {
        options.seen?.push(new Map(ctx.state))
      },
    },
  }
  const gateway = createGateway({
    config: parseConfig({ providers: { mock: { keys: [] } }, ...options.config, governance: { pricing: PRICING, ...governance } } as ConfigInput),
    providers: [openai, mock],
    plugins: [plugin, probe],
    storage: options.storage,
    atomic: options.atomic,
    logger: silentLogger,
  })
  gateways.push(gateway)
  await gateway.ready
  return gateway
}

const chat = (gateway: Gateway, headers: Record<string, string>, body: Record<string, unknown> = {}) =>
  gateway.fetch(
    new Request('http://gateway.test/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'four words of text' }], ...body }),
    }),
  )

const key = (extra: Record<string, unknown> = {}) => ({ id: 'vk-1', name: 'app', value: KEY, provider_configs: [{ provider: 'mock', allowed_models: ['*'], weight: 1 }], ...extra })

describe('virtual keys', () => {
  it('401 for an unknown or inactive key, in the OpenAI dialect', async () => {
    const gateway = await start({ virtual_keys: [key(), { ...key(), id: 'vk-off', value: 'sk-bf-inactive-key-000000', is_active: false }] })
    const unknown = await chat(gateway, { 'x-bf-vk': 'sk-bf-nope-000000000000' })
    expect(unknown.status).toBe(401)
    expect(await unknown.json()).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key', message: 'virtual key not found' } })
    const inactive = await chat(gateway, { authorization: 'Bearer sk-bf-inactive-key-000000' })
    expect(inactive.status).toBe(401)
    expect((await inactive.json()).error.message).toContain('inactive')
  })

  it('is optional unless client.enforce_governance_header', async () => {
    const open = await start({ virtual_keys: [key()] })
    expect((await chat(open, {})).status).toBe(200)
    const enforced = await start({ virtual_keys: [key()] }, { config: { client: { enforce_governance_header: true } } })
    expect((await chat(enforced, {})).status).toBe(401)
    expect((await chat(enforced, { 'x-bf-vk': KEY })).status).toBe(200)
  })

  it('reads the key from x-bf-vk, Authorization, x-api-key and x-goog-api-key (prefixed values only outside x-bf-vk)', async () => {
    const seen: Map<string, unknown>[] = []
    const gateway = await start({ virtual_keys: [key(), { ...key(), id: 'vk-legacy', value: 'legacy-key-without-prefix' }] }, { seen })
    const styles: Array<Record<string, string>> = [{ 'x-bf-vk': KEY }, { authorization: `Bearer ${KEY}` }, { 'x-api-key': KEY }, { 'x-goog-api-key': KEY }, { 'x-bf-vk': 'legacy-key-without-prefix' }]
    for (const headers of styles) {
      const response = await chat(gateway, headers)
      expect(response.status, JSON.stringify(headers)).toBe(200)
    }
    // Without the prefix, Authorization is not a virtual key (it could be a provider key).
    expect((await chat(gateway, { authorization: 'Bearer legacy-key-without-prefix' })).status).toBe(200)
    await expect.poll(() => seen.length).toBe(6)
    expect(seen.map((state) => (state.get(VIRTUAL_KEY_STATE) as { id: string } | undefined)?.id)).toEqual(['vk-1', 'vk-1', 'vk-1', 'vk-1', 'vk-legacy', undefined])
  })

  it('403 for a provider or a model the key does not allow', async () => {
    const gateway = await start({ virtual_keys: [key({ provider_configs: [{ provider: 'mock', allowed_models: ['echo'] }] })] })
    expect((await chat(gateway, { 'x-bf-vk': KEY })).status).toBe(200)
    const model = await chat(gateway, { 'x-bf-vk': KEY }, { model: 'mock/other' })
    expect(model.status).toBe(403)
    expect((await model.json()).error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed' })
    const provider = await chat(gateway, { 'x-bf-vk': KEY }, { model: 'openai/gpt-4o' })
    expect(provider.status).toBe(403)
    expect((await provider.json()).error.code).toBe('provider_not_allowed')
  })

  it('routes a bare model to the key\'s provider mix (ctx.route)', async () => {
    const gateway = await start({ virtual_keys: [key({ provider_configs: [{ provider: 'mock', allowed_models: ['echo'], weight: 1 }] })] })
    const response = await chat(gateway, { 'x-bf-vk': KEY }, { model: 'echo' })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-provider')).toBe('mock')
  })
})

describe('rate limits', () => {
  it('429 with retry-after and x-ratelimit-* once the requests of the window are used', async () => {
    const gateway = await start({ virtual_keys: [key({ rate_limit: { request_max_limit: 2, request_reset_duration: '1h' } })] })
    const first = await chat(gateway, { 'x-bf-vk': KEY })
    expect(first.status).toBe(200)
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1')
    expect((await chat(gateway, { 'x-bf-vk': KEY })).status).toBe(200)
    const refused = await chat(gateway, { 'x-bf-vk': KEY })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect((await refused.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' })
  })

  it('holds tokens: the reservation is the estimate, the settlement the real usage', async () => {
    // 'four words of text' is 18 characters: 5 tokens in; max_tokens 10 out.
    const gateway = await start({ virtual_keys: [key({ rate_limit: { token_max_limit: 40, token_reset_duration: '1h' } })] })
    const body = { max_tokens: 10 }
    const results = []
    for (let index = 0; index < 6; index++) results.push((await chat(gateway, { 'x-bf-vk': KEY }, body)).status)
    // Each request really uses about 9 tokens (the mock echoes): 4 fit in 40, then the estimate (15) no longer does.
    expect(results.filter((status) => status === 200).length).toBeGreaterThanOrEqual(3)
    expect(results.at(-1)).toBe(429)
  })
})

describe('budgets', () => {
  it('402 once the budget is spent; usage is charged from the real usage', async () => {
    const seen: Map<string, unknown>[] = []
    // The mock counts 6 tokens in (22 characters with the role) and echoes 5 out: $0.011 a request.
    // The reservation's estimate is the same here (22 characters of text, max_tokens 5), so three
    // requests fit $0.033 exactly and the fourth is refused before it runs.
    const gateway = await start({ virtual_keys: [key({ budgets: [{ max_limit: 0.033, reset_duration: '1d' }] })] }, { seen })
    const statuses = []
    for (let index = 0; index < 4; index++) statuses.push((await chat(gateway, { 'x-bf-vk': KEY }, { max_tokens: 5 })).status)
    expect(statuses).toEqual([200, 200, 200, 402])
    await expect.poll(() => seen.length).toBe(4)
    expect(seen[0]!.get(COST_STATE)).toEqual({ usd: expect.closeTo(0.011, 9), priced: true })
  })

  it('checks every budget on the path: team and customer too', async () => {
    const gateway = await start({
      customers: [{ id: 'acme', name: 'Acme', budgets: [{ max_limit: 0.015, reset_duration: '1M' }] }],
      teams: [{ id: 'ml', name: 'ML', customer_id: 'acme' }],
      virtual_keys: [key({ team_id: 'ml', budgets: [{ max_limit: 100, reset_duration: '1M' }] })],
    })
    expect((await chat(gateway, { 'x-bf-vk': KEY }, { max_tokens: 5 })).status).toBe(200)
    const refused = await chat(gateway, { 'x-bf-vk': KEY }, { max_tokens: 5 })
    expect(refused.status).toBe(402)
    expect((await refused.json()).error.message).toContain('customer "acme"')
  })

  it('refuses a model with no price under a budget (never charged as $0), unless unpriced_models is allow', async () => {
    const strict = await start({ pricing: {}, virtual_keys: [key({ budgets: [{ max_limit: 1, reset_duration: '1d' }] })] })
    const refused = await chat(strict, { 'x-bf-vk': KEY })
    expect(refused.status).toBe(403)
    expect((await refused.json()).error.code).toBe('model_unpriced')
    const seen: Map<string, unknown>[] = []
    const lenient = await start({ pricing: {}, unpriced_models: 'allow', virtual_keys: [key({ budgets: [{ max_limit: 1, reset_duration: '1d' }] })] }, { seen })
    expect((await chat(lenient, { 'x-bf-vk': KEY })).status).toBe(200)
    await expect.poll(() => seen.length).toBe(1)
    expect(seen[0]!.get(COST_STATE)).toEqual({ usd: undefined, priced: false })
  })
})

describe('failure policy', () => {
  const broken = (): AtomicStore => {
    const store = createMemoryAtomicStore()
    const fail = async () => {
      throw new Error('connection refused')
    }
    return { ...store, reserve: fail, add: fail, get: fail }
  }

  it('fail_closed (default): 503 when the counter store is unreachable', async () => {
    const gateway = await start({ virtual_keys: [key({ rate_limit: { request_max_limit: 5, request_reset_duration: '1h' } })] }, { atomic: broken() })
    const response = await chat(gateway, { 'x-bf-vk': KEY })
    expect(response.status).toBe(503)
    expect((await response.json()).error.code).toBe('governance_unavailable')
  })

  it('fail_open: served unchecked', async () => {
    const gateway = await start({ failure_policy: 'fail_open', virtual_keys: [key({ rate_limit: { request_max_limit: 5, request_reset_duration: '1h' } })] }, { atomic: broken() })
    expect((await chat(gateway, { 'x-bf-vk': KEY })).status).toBe(200)
  })
})

describe('config', () => {
  it('a bad governance block stops the start, naming the field', async () => {
    const plugin = createGovernancePlugin()
    const gateway = createGateway({ config: parseConfig({ governance: { virtual_keys: [{ id: 'x', name: 'x', team_id: 'missing', budgets: [{ max_limit: 1, reset_duration: '3 days' }] }] } }), providers: [openai, mock], plugins: [plugin], logger: silentLogger })
    gateways.push(gateway)
    await expect(gateway.ready).rejects.toThrow(/governance\.virtual_keys\[0\]\.budgets\[0\]\.reset_duration/)
  })

  it('seeds the config once: a key changed through storage survives a restart while its config entry is unchanged', async () => {
    const storage = createStorage()
    // A gateway disposes its storage on close; this one outlives the gateways (a restart).
    storage.dispose = async () => undefined
    const config = { virtual_keys: [key()] }
    await (await start(config, { storage })).close()
    gateways.length = 0
    const stored = (await storage.getItem('governance:virtual_key:vk-1')) as Record<string, unknown>
    await storage.setItem('governance:virtual_key:vk-1', { ...stored, is_active: false })
    const again = await start(config, { storage })
    expect((await chat(again, { 'x-bf-vk': KEY })).status).toBe(401)
    await again.close()
    gateways.length = 0
    // The config entry changed: the file wins.
    const changed = await start({ virtual_keys: [key({ name: 'renamed' })] }, { storage })
    expect((await chat(changed, { 'x-bf-vk': KEY })).status).toBe(200)
  })
})
