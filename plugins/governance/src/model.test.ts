import { describe, expect, it } from 'vitest'
import { checkState, copyState, stateFromConfig } from './entities.js'
import { allows, compile, pathLimits } from './model.js'
import { GovernanceSchema } from './schema.js'
import * as v from 'valibot'

const build = (governance: unknown) => {
  const { state, issues } = stateFromConfig(v.parse(GovernanceSchema, governance), '2025-01-01T00:00:00.000Z')
  expect([...issues, ...checkState(state)]).toEqual([])
  return compile(state)
}

describe('compile', () => {
  const governance = {
    budgets: [{ id: 'shared', max_limit: 50, reset_duration: '1M' }],
    rate_limits: [{ id: 'rl', request_max_limit: 10, request_reset_duration: '1m' }],
    customers: [{ id: 'acme', name: 'Acme', budget_id: 'shared' }],
    teams: [{ id: 'ml', name: 'ML', customer_id: 'acme', budgets: [{ max_limit: 20, reset_duration: '1w' }], calendar_aligned: true }],
    virtual_keys: [
      {
        id: 'vk',
        name: 'app',
        value: 'sk-bf-model-test-000000001',
        team_id: 'ml',
        budget_id: 'shared',
        rate_limit_id: 'rl',
        provider_configs: [
          { provider: 'openai', allowed_models: ['*'], blacklisted_models: ['gpt-4o'], budgets: [{ max_limit: 5, reset_duration: '1d' }] },
          { provider: 'anthropic', allowed_models: ['claude-sonnet-4-5'] },
        ],
      },
      { id: 'child', name: 'child', value: 'sk-bf-model-test-000000002', provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] },
    ],
  }
  /** The entities, with `child` minted by `vk` (only the management API sets parent_id). */
  const entities = () => {
    const { state } = stateFromConfig(v.parse(GovernanceSchema, governance), 'now')
    state.virtual_key.set('child', { ...state.virtual_key.get('child')!, parent_id: 'vk' })
    return state
  }

  it('puts every limit on the path once: the key, its team, its customer (a shared budget once), and the provider config', () => {
    const key = compile(entities()).byValue.get('sk-bf-model-test-000000001')!
    expect(key.problem).toBeUndefined()
    expect(key.limits.map((limit) => `${limit.scope}:${limit.kind}:${limit.id}`)).toEqual(['virtual_key:budget:shared', 'virtual_key:requests:rl', 'team:budget:ml:budget'])
    expect(key.limits.find((limit) => limit.id === 'ml:budget')!.aligned).toBe(true)
    expect(key.limits[0]!.max).toBe(50_000_000_000)
    expect(pathLimits(key, 'openai').map((limit) => limit.id)).toEqual(['vk:openai:budget', 'shared', 'rl', 'ml:budget'])
    expect(pathLimits(key, 'anthropic').map((limit) => limit.id)).toEqual(['shared', 'rl', 'ml:budget'])
  })

  it('allows what every key on the minting chain allows', () => {
    const snapshot = compile(entities())
    const parent = snapshot.byId.get('vk')!
    const child = snapshot.byId.get('child')!
    expect(allows(parent, 'openai', 'gpt-4o-mini')).toBe(true)
    expect(allows(parent, 'openai', 'gpt-4o')).toBe(false)
    expect(allows(parent, 'anthropic', 'claude-opus-4-1')).toBe(false)
    expect(allows(parent, 'mock', 'echo')).toBe(false)
    // The child allows every OpenAI model itself, but its parent blacklists gpt-4o.
    expect(allows(child, 'openai', 'gpt-4o-mini')).toBe(true)
    expect(allows(child, 'openai', 'gpt-4o')).toBe(false)
    // And it is bound by its parent's limits.
    expect(child.limits.map((limit) => `${limit.scope}:${limit.id}`)).toContain('parent_key:shared')
  })

  it('a key whose team, parent or own flag makes it unusable says why', () => {
    const snapshot = build({ virtual_keys: [{ id: 'a', name: 'a', value: 'sk-bf-model-test-000000003', is_active: false }] })
    expect(snapshot.byId.get('a')!.problem).toBe('the virtual key is inactive')
    const broken = copyState(entities())
    broken.team.delete('ml')
    expect(compile(broken).byId.get('vk')!.problem).toContain('its team "ml" no longer exists')
    broken.virtual_key.set('vk', { ...broken.virtual_key.get('vk')!, is_active: false })
    expect(compile(broken).byId.get('child')!.problem).toContain('the virtual key that minted it cannot be used')
  })

  it('checkState names what does not hold', () => {
    const { state } = stateFromConfig(v.parse(GovernanceSchema, { virtual_keys: [
      { id: 'a', name: 'a', value: 'sk-bf-same-value-00000001', team_id: 't', customer_id: 'c', rate_limit_id: 'nope' },
      { id: 'b', name: 'b', value: 'sk-bf-same-value-00000001', provider_configs: [{ provider: 'openai' }, { provider: 'openai' }] },
    ] }), 'now')
    expect(checkState(state)).toEqual([
      'virtual key "a": a virtual key belongs to a team or to a customer, not both',
      'virtual key "a": team "t" does not exist',
      'virtual key "a": customer "c" does not exist',
      'virtual key "a": rate limit "nope" does not exist',
      'virtual key "b": the same value as virtual key "a"',
      'virtual key "b": provider "openai" has two provider configs',
    ])
  })
})
