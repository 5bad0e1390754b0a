import { createGateway, createMemoryAtomicStore, parseConfig, silentLogger, type AtomicStore, type Gateway } from '@switchyard/core'
import mock from '@switchyard/provider-mock'
import openai from '@switchyard/provider-openai'
import { createStorage, type Storage } from 'unstorage'
import { afterEach, describe, expect, it } from 'vitest'
import createGovernancePlugin from './index.js'

/**
 * The management API in one process: two gateways share one storage and one atomic store, as
 * two instances share one Redis, so a change made through one is live on the other.
 */

const TOKEN = 'admin-token-for-tests-0001'
const PRICING = { 'mock/echo': { input_cost_per_token: 0.001, output_cost_per_token: 0.001 } }
const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
})

async function start(governance: Record<string, unknown> = {}, shared: { storage?: Storage; atomic?: AtomicStore } = {}) {
  const gateway = createGateway({
    config: parseConfig({
      providers: { mock: { keys: [] }, openai: { keys: [{ name: 'primary', value: 'sk-live-provider-secret-1234567890', models: ['gpt-4o'] }] } },
      governance: { pricing: PRICING, auth_config: { admin_token: TOKEN }, refresh_interval_seconds: 0, ...governance },
    }),
    providers: [openai, mock],
    plugins: [createGovernancePlugin()],
    storage: shared.storage,
    atomic: shared.atomic,
    logger: silentLogger,
  })
  gateways.push(gateway)
  await gateway.ready
  return gateway
}

const api = (gateway: Gateway, method: string, path: string, body?: unknown, credential: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  gateway.fetch(new Request(`http://gateway.test${path}`, { method, headers: { 'content-type': 'application/json', ...credential }, body: body === undefined ? undefined : JSON.stringify(body) }))

const chat = (gateway: Gateway, key: string, model = 'mock/echo') =>
  gateway.fetch(
    new Request('http://gateway.test/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-bf-vk': key },
      body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'four words of text' }] }),
    }),
  )

/** Settlement runs after the answer: wait until the usage shows `used` dollars. */
async function usedBecomes(gateway: Gateway, path: string, used: number) {
  await expect.poll(async () => ((await (await api(gateway, 'GET', path)).json()) as { limits: Array<{ kind: string; used: number }> }).limits.find((limit) => limit.kind === 'budget')?.used).toBeCloseTo(used, 9)
}

describe('admin credential', () => {
  it('401 without one, or with the wrong one; Basic auth from auth_config', async () => {
    const gateway = await start({ auth_config: { admin_token: TOKEN, is_enabled: true, admin_username: 'admin', admin_password: 'correct horse' } })
    expect((await api(gateway, 'GET', '/api/governance/virtual-keys', undefined, {})).status).toBe(401)
    expect((await api(gateway, 'GET', '/api/governance/virtual-keys', undefined, { authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await api(gateway, 'GET', '/api/governance/virtual-keys', undefined, { authorization: `Basic ${btoa('admin:wrong')}` })).status).toBe(401)
    expect((await api(gateway, 'GET', '/api/governance/virtual-keys', undefined, { authorization: `Basic ${btoa('admin:correct horse')}` })).status).toBe(200)
    expect((await api(gateway, 'GET', '/api/governance/virtual-keys')).status).toBe(200)
  })

  it('with no admin credential configured, the API says how to set one', async () => {
    const gateway = await start({ auth_config: undefined })
    const response = await api(gateway, 'GET', '/api/governance/teams', undefined, { authorization: 'Bearer anything' })
    expect(response.status).toBe(401)
    expect((await response.json()).error.message).toContain('SWITCHYARD_ADMIN_TOKEN')
  })

  it('lists the providers with their keys masked', async () => {
    const gateway = await start()
    const text = await (await api(gateway, 'GET', '/api/providers')).text()
    expect(text).not.toContain('sk-live-provider-secret-1234567890')
    expect(JSON.parse(text).providers).toContainEqual({ id: 'openai', keys: [{ name: 'primary', value: 'sk-****7890', models: ['gpt-4o'], weight: 1 }] })
  })
})

describe('CRUD, live on every instance', () => {
  it('creates a customer, a team and a key through one instance; the other enforces them at once', async () => {
    const shared = { storage: createStorage(), atomic: createMemoryAtomicStore() }
    const one = await start({}, shared)
    const two = await start({}, shared)
    expect((await api(one, 'POST', '/api/governance/customers', { id: 'acme', name: 'Acme', budgets: [{ max_limit: 100, reset_duration: '1M' }] })).status).toBe(200)
    expect((await api(one, 'POST', '/api/governance/teams', { id: 'ml', name: 'ML', customer_id: 'acme' })).status).toBe(200)
    const created = await api(one, 'POST', '/api/governance/virtual-keys', {
      name: 'app',
      team_id: 'ml',
      provider_configs: [{ provider: 'mock', allowed_models: ['echo'], weight: 1 }],
      budgets: [{ max_limit: 0.022, reset_duration: '1d' }],
      rate_limit: { request_max_limit: 100, request_reset_duration: '1h' },
    })
    expect(created.status).toBe(200)
    const { virtual_key: key } = (await created.json()) as { virtual_key: { id: string; value: string; budgets: Array<{ max_limit: number }> } }
    expect(key.value).toMatch(/^sk-bf-[A-Za-z0-9]{40}$/)
    expect(key.budgets).toMatchObject([{ max_limit: 0.022, current_usage: 0 }])
    // Shown once: listings mask it.
    const listed = (await (await api(two, 'GET', '/api/governance/virtual-keys')).json()) as { virtual_keys: Array<{ value: string }> }
    expect(listed.virtual_keys[0]!.value).toBe(`sk-bf-****${key.value.slice(-4)}`)

    expect((await chat(two, key.value)).status).toBe(200)
    expect((await chat(one, key.value)).status).toBe(200)
    expect((await chat(two, key.value)).status).toBe(402)
    await usedBecomes(one, `/api/governance/virtual-keys/${key.id}/usage`, 0.022)
    const usage = (await (await api(two, 'GET', `/api/governance/virtual-keys/${key.id}/usage`)).json()) as { limits: Array<Record<string, unknown>> }
    expect(usage.limits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'virtual_key', kind: 'budget', max: 0.022, used: 0.022, remaining: 0 }),
        // The refused request reserved nothing: reservations are all or nothing.
        expect.objectContaining({ scope: 'virtual_key', kind: 'requests', max: 100, used: 2 }),
        expect.objectContaining({ scope: 'customer', owner_id: 'acme', kind: 'budget', used: 0.022 }),
      ]),
    )

    // Raise the budget and clear its usage through the other instance.
    const raised = await api(two, 'PUT', `/api/governance/virtual-keys/${key.id}`, { budgets: [{ max_limit: 1, reset_duration: '1d' }], reset_budget_usage: true })
    expect(raised.status).toBe(200)
    expect((await chat(one, key.value)).status).toBe(200)

    // Deactivate: refused everywhere.
    expect((await api(one, 'PUT', `/api/governance/virtual-keys/${key.id}`, { is_active: false })).status).toBe(200)
    expect((await chat(two, key.value)).status).toBe(401)
    // A team with keys cannot go; the key can.
    expect((await api(two, 'DELETE', '/api/governance/teams/ml')).status).toBe(409)
    expect((await api(two, 'DELETE', `/api/governance/virtual-keys/${key.id}`)).status).toBe(200)
    expect((await chat(one, key.value)).status).toBe(401)
    expect((await api(two, 'DELETE', '/api/governance/teams/ml')).status).toBe(200)
    expect((await api(one, 'GET', '/api/governance/teams/ml')).status).toBe(404)
  })

  it('checks what it writes: a bad body or a dangling reference is a 400, nothing is stored', async () => {
    const gateway = await start()
    const bad = await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'x', budgets: [{ max_limit: -1, reset_duration: '1d' }] })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toContain('body.budgets[0].max_limit')
    const dangling = await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'x', team_id: 'nope' })
    expect(dangling.status).toBe(400)
    expect((await dangling.json()).error.message).toContain('team "nope" does not exist')
    expect(((await (await api(gateway, 'GET', '/api/governance/virtual-keys')).json()) as { count: number }).count).toBe(0)
  })

  it('budgets and rate limits have their own CRUD; one in use cannot be deleted', async () => {
    const gateway = await start()
    expect((await api(gateway, 'POST', '/api/governance/rate-limits', { id: 'rl', request_max_limit: 1, request_reset_duration: '1m' })).status).toBe(200)
    expect((await api(gateway, 'POST', '/api/governance/rate-limits', { id: 'half', request_max_limit: 1 })).status).toBe(400)
    const key = ((await (await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'k', rate_limit_id: 'rl', provider_configs: [{ provider: 'mock', allowed_models: ['*'] }] })).json()) as { virtual_key: { value: string } }).virtual_key
    expect((await chat(gateway, key.value)).status).toBe(200)
    expect((await chat(gateway, key.value)).status).toBe(429)
    const limit = (await (await api(gateway, 'GET', '/api/governance/rate-limits/rl')).json()) as { rate_limit: Record<string, unknown> }
    expect(limit.rate_limit).toMatchObject({ id: 'rl', request_max_limit: 1, request_current_usage: 1, request_remaining: 0 })
    expect((await api(gateway, 'DELETE', '/api/governance/rate-limits/rl')).status).toBe(409)
    expect((await api(gateway, 'PUT', '/api/governance/rate-limits/rl', { request_max_limit: 5 })).status).toBe(200)
    expect((await chat(gateway, key.value)).status).toBe(200)
  })
})

describe('minting', () => {
  const parent = {
    id: 'vk-parent',
    name: 'platform',
    value: 'sk-bf-parent-key-00000001',
    can_mint: true,
    provider_configs: [{ provider: 'mock', allowed_models: ['echo'] }],
    budgets: [{ max_limit: 0.022, reset_duration: '1d' }],
  }

  it('a key with can_mint mints keys within its own permissions, and its budget binds them', async () => {
    const gateway = await start({ virtual_keys: [parent] })
    const as = { 'x-bf-vk': parent.value }
    expect((await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'wider', provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }, as)).status).toBe(403)
    expect((await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'all', provider_configs: [{ provider: 'mock', allowed_models: ['*'] }] }, as)).status).toBe(403)
    expect((await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'minter', can_mint: true }, as)).status).toBe(403)
    // Admin-only calls stay closed to it.
    expect((await api(gateway, 'GET', '/api/governance/teams', undefined, as)).status).toBe(403)
    const minted = await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'child', budgets: [{ max_limit: 500, reset_duration: '1d' }] }, as)
    expect(minted.status).toBe(200)
    const child = ((await minted.json()) as { virtual_key: { id: string; value: string; parent_id: string; provider_configs: Array<{ provider: string; allowed_models: string[] }> } }).virtual_key
    expect(child.parent_id).toBe('vk-parent')
    expect(child.provider_configs).toMatchObject([{ provider: 'mock', allowed_models: ['echo'] }])
    // The child's own $500 does not lift the parent's $0.022: two requests, then 402.
    expect((await chat(gateway, child.value)).status).toBe(200)
    expect((await chat(gateway, parent.value)).status).toBe(200)
    expect((await chat(gateway, child.value)).status).toBe(402)
    expect((await chat(gateway, child.value, 'mock/other')).status).toBe(403)
    // It sees and deletes only what it minted.
    const mine = (await (await api(gateway, 'GET', '/api/governance/virtual-keys', undefined, as)).json()) as { count: number }
    expect(mine.count).toBe(1)
    expect((await api(gateway, 'DELETE', '/api/governance/virtual-keys/vk-parent', undefined, as)).status).toBe(404)
    expect((await api(gateway, 'DELETE', `/api/governance/virtual-keys/${child.id}`, undefined, as)).status).toBe(200)
    expect((await chat(gateway, child.value)).status).toBe(401)
  })

  it('a key without can_mint gets 403 from the API', async () => {
    const gateway = await start({ virtual_keys: [{ ...parent, can_mint: false }] })
    expect((await api(gateway, 'POST', '/api/governance/virtual-keys', { name: 'child' }, { authorization: `Bearer ${parent.value}` })).status).toBe(403)
  })
})
