import type { BudgetEntity, CustomerEntity, GovernanceState, ProviderConfigEntity, RateLimitEntity, TeamEntity, VirtualKeyEntity } from './entities.js'
import { parseDuration, windowAt, type Duration, type Window } from './window.js'

/**
 * The governance entities compiled for the request path: a virtual key by its value in one map
 * lookup, with every limit on its path (its own, the key that minted it, its team, its
 * customer) and its provider configs ready to check. Rebuilt whenever an entity changes; a
 * request only reads it.
 */

/** Budgets count nano-dollars: whole numbers, so every instance adds them up to the same total. */
export const NANO_PER_USD = 1_000_000_000

export type LimitKind = 'budget' | 'requests' | 'tokens'
export type LimitScope = 'virtual_key' | 'parent_key' | 'team' | 'customer' | 'provider_config'

/** One budget or one rate-limit counter a request must fit. */
export interface Limit {
  kind: LimitKind
  /** Budget or rate limit id. */
  id: string
  /** Whose limit it is. */
  scope: LimitScope
  ownerId: string
  /** Most per window: nano-USD for a budget, requests or tokens for a rate limit. */
  max: number
  duration: Duration
  aligned: boolean
  /** Start of the first rolling window (epoch ms). */
  anchor: number
}

/** The counter key of a limit's window: windows are part of the key, so a new window starts at 0. */
export function counterKey(limit: Limit, window: Window): string {
  const code = limit.kind === 'budget' ? 'b' : limit.kind === 'requests' ? 'rr' : 'rt'
  return `gov:${code}:${limit.id}:${window.start}`
}

export function windowOf(limit: Limit, now: number): Window {
  return windowAt(limit.duration, now, { calendarAligned: limit.aligned, anchor: limit.anchor })
}

/** When a counter may go: one window after its own ended, so the last window's usage can still be read. */
export function expiryOf(window: Window): number {
  return window.end + (window.end - window.start)
}

export interface CompiledProvider {
  entity: ProviderConfigEntity
  allModels: boolean
  models: ReadonlySet<string>
  blockAll: boolean
  blacklist: ReadonlySet<string>
  weight: number | null
  limits: Limit[]
}

/** What other plugins find under `ctx.state.get('switchyard:virtual_key')`. */
export interface VirtualKeyState {
  id: string
  name: string
  team_id?: string
  customer_id?: string
  /** True when this key may run `tool` of the MCP client named (or with the id) `client`. */
  allowsTool(client: string, tool: string): boolean
  /** True when this key may use `model` of `provider`. */
  allowsModel(provider: string, model: string): boolean
}

export interface CompiledKey {
  entity: VirtualKeyEntity
  parent: CompiledKey | undefined
  team: TeamEntity | undefined
  customer: CustomerEntity | undefined
  /** Why the key cannot be used (inactive, its team is gone ...), if it cannot. */
  problem: string | undefined
  /** The earliest expiry on the key's chain (epoch ms). */
  expiresAt: number | undefined
  /** Every limit on the key's path except the provider configs'. */
  limits: Limit[]
  providers: ReadonlyMap<string, CompiledProvider>
  allowAll: boolean
  /** Mcp client -> `*` or the tools allowed. */
  mcp: ReadonlyMap<string, '*' | ReadonlySet<string>>
  state: VirtualKeyState
}

export interface Snapshot {
  readonly state: GovernanceState
  readonly byValue: ReadonlyMap<string, CompiledKey>
  readonly byId: ReadonlyMap<string, CompiledKey>
}

/** True when `key` and every key above it allow `model` of `provider`. */
export function allows(key: CompiledKey, provider: string, model: string): boolean {
  for (let current: CompiledKey | undefined = key; current; current = current.parent) {
    const config = current.providers.get(provider)
    if (!config) {
      if (!current.allowAll) return false
      continue
    }
    if (config.blockAll || config.blacklist.has(model)) return false
    if (!config.allModels && !config.models.has(model)) return false
  }
  return true
}

/** The provider-config limits of `provider` along the key's chain. */
export function providerLimits(key: CompiledKey, provider: string): Limit[] {
  const out: Limit[] = []
  for (let current: CompiledKey | undefined = key; current; current = current.parent) {
    const config = current.providers.get(provider)
    if (config) out.push(...config.limits)
  }
  return out
}

/** Every limit a request of `key` to `provider` must fit, each once. */
export function pathLimits(key: CompiledKey, provider: string | undefined): Limit[] {
  const own = provider ? providerLimits(key, provider) : []
  if (own.length === 0) return key.limits
  const seen = new Set(own.map((limit) => `${limit.kind}:${limit.id}`))
  return [...own, ...key.limits.filter((limit) => !seen.has(`${limit.kind}:${limit.id}`))]
}

const anchorOf = (budget: BudgetEntity) => (budget.last_reset ? Date.parse(budget.last_reset) : 0)

/** Limits of an owner: its budgets (owned, or referenced by `budget_id`) and its rate limit. */
type LimitsOf = (scope: LimitScope, owner: { id: string; budget_id?: string; rate_limit_id?: string }, ownerScope: string, aligned: boolean) => Limit[]

/** Indexes the budgets by owner once; the returned function gives one owner's limits. */
export function limitResolver(state: GovernanceState): LimitsOf {
  const budgetsOf = new Map<string, BudgetEntity[]>()
  const own = (scope: string, id: string, budget: BudgetEntity) => {
    const key = `${scope}:${id}`
    let list = budgetsOf.get(key)
    if (!list) budgetsOf.set(key, (list = []))
    if (!list.includes(budget)) list.push(budget)
  }
  for (const budget of state.budget.values()) {
    if (budget.virtual_key_id !== undefined) own('virtual_key', budget.virtual_key_id, budget)
    if (budget.team_id !== undefined) own('team', budget.team_id, budget)
    if (budget.customer_id !== undefined) own('customer', budget.customer_id, budget)
    if (budget.provider_config_id !== undefined) own('provider_config', budget.provider_config_id, budget)
  }
  return (scope, owner, ownerScope, aligned) => {
    const limits: Limit[] = []
    const budgets = [...(budgetsOf.get(`${ownerScope}:${owner.id}`) ?? [])]
    const referenced = owner.budget_id !== undefined ? state.budget.get(owner.budget_id) : undefined
    if (referenced && !budgets.includes(referenced)) budgets.push(referenced)
    for (const budget of budgets) {
      const duration = parseDuration(budget.reset_duration)
      if (!duration) continue
      limits.push({ kind: 'budget', id: budget.id, scope, ownerId: owner.id, max: Math.round(budget.max_limit * NANO_PER_USD), duration, aligned: aligned || budget.calendar_aligned === true, anchor: anchorOf(budget) })
    }
    const rate: RateLimitEntity | undefined = owner.rate_limit_id !== undefined ? state.rate_limit.get(owner.rate_limit_id) : undefined
    if (rate) {
      const rateAligned = aligned || rate.calendar_aligned === true
      const requests = rate.request_reset_duration ? parseDuration(rate.request_reset_duration) : undefined
      if (requests && rate.request_max_limit !== undefined) limits.push({ kind: 'requests', id: rate.id, scope, ownerId: owner.id, max: rate.request_max_limit, duration: requests, aligned: rateAligned, anchor: 0 })
      const tokens = rate.token_reset_duration ? parseDuration(rate.token_reset_duration) : undefined
      if (tokens && rate.token_max_limit !== undefined) limits.push({ kind: 'tokens', id: rate.id, scope, ownerId: owner.id, max: rate.token_max_limit, duration: tokens, aligned: rateAligned, anchor: 0 })
    }
    return limits
  }
}

/** Compiles the entities; a reference that does not resolve makes the keys that depend on it unusable. */
export function compile(state: GovernanceState): Snapshot {
  const limitsOf = limitResolver(state)

  const byId = new Map<string, CompiledKey>()
  const compiling = new Set<string>()
  const build = (entity: VirtualKeyEntity): CompiledKey => {
    const done = byId.get(entity.id)
    if (done) return done
    compiling.add(entity.id)
    let problem: string | undefined
    const parentEntity = entity.parent_id !== undefined ? state.virtual_key.get(entity.parent_id) : undefined
    let parent: CompiledKey | undefined
    if (entity.parent_id !== undefined) {
      if (!parentEntity) problem = 'the virtual key that minted it no longer exists'
      else if (compiling.has(parentEntity.id)) problem = 'its minting chain loops'
      else {
        parent = build(parentEntity)
        if (parent.problem) problem = `the virtual key that minted it cannot be used (${parent.problem})`
      }
    }
    const team = entity.team_id !== undefined ? state.team.get(entity.team_id) : undefined
    if (entity.team_id !== undefined && !team) problem ??= `its team "${entity.team_id}" no longer exists`
    const customerId = entity.customer_id ?? team?.customer_id
    const customer = customerId !== undefined ? state.customer.get(customerId) : undefined
    if (customerId !== undefined && !customer) problem ??= `its customer "${customerId}" no longer exists`
    if (!entity.is_active) problem = 'the virtual key is inactive'

    const aligned = entity.calendar_aligned === true
    const limits: Limit[] = []
    const seen = new Set<string>()
    const push = (list: Limit[]) => {
      for (const limit of list) {
        const id = `${limit.kind}:${limit.id}`
        if (seen.has(id)) continue
        seen.add(id)
        limits.push(limit)
      }
    }
    push(limitsOf('virtual_key', entity, 'virtual_key', aligned))
    if (parent) push(parent.limits.map((limit) => (limit.scope === 'virtual_key' ? { ...limit, scope: 'parent_key' as const } : limit)))
    if (team) push(limitsOf('team', team, 'team', team.calendar_aligned === true))
    if (customer) push(limitsOf('customer', customer, 'customer', customer.calendar_aligned === true))

    const providers = new Map<string, CompiledProvider>()
    for (const config of entity.provider_configs) {
      providers.set(config.provider, {
        entity: config,
        allModels: config.allowed_models.includes('*'),
        models: new Set(config.allowed_models),
        blockAll: config.blacklisted_models.includes('*'),
        blacklist: new Set(config.blacklisted_models),
        weight: config.weight,
        limits: limitsOf('provider_config', config, 'provider_config', aligned),
      })
    }
    const mcp = new Map<string, '*' | ReadonlySet<string>>()
    for (const config of entity.mcp_configs) {
      const tools = config.tools_to_execute.includes('*') ? '*' : new Set(config.tools_to_execute)
      if (config.mcp_client_name !== undefined) mcp.set(config.mcp_client_name, tools)
      if (config.mcp_client_id !== undefined) mcp.set(config.mcp_client_id, tools)
    }
    const ownExpiry = entity.expires_at ? Date.parse(entity.expires_at) : undefined
    const expiresAt = [ownExpiry, parent?.expiresAt].filter((at): at is number => at !== undefined).reduce<number | undefined>((min, at) => (min === undefined || at < min ? at : min), undefined)

    const compiled: CompiledKey = {
      entity,
      parent,
      team,
      customer,
      problem,
      expiresAt,
      limits,
      providers,
      allowAll: entity.allow_all_providers,
      mcp,
      state: undefined as unknown as VirtualKeyState,
    }
    compiled.state = {
      id: entity.id,
      name: entity.name,
      ...(team && { team_id: team.id }),
      ...(customer && { customer_id: customer.id }),
      allowsTool(client, tool) {
        for (let current: CompiledKey | undefined = compiled; current; current = current.parent) {
          const allowed = current.mcp.get(client)
          if (allowed === undefined || (allowed !== '*' && !allowed.has(tool))) return false
        }
        return true
      },
      allowsModel: (provider, model) => allows(compiled, provider, model),
    }
    compiling.delete(entity.id)
    byId.set(entity.id, compiled)
    return compiled
  }
  for (const entity of state.virtual_key.values()) build(entity)
  const byValue = new Map<string, CompiledKey>()
  for (const key of byId.values()) if (key.entity.value) byValue.set(key.entity.value, key)
  return { state, byValue, byId }
}

/** Limits a team or a customer holds itself (for the usage API). */
export function ownerLimits(state: GovernanceState, scope: 'team' | 'customer', owner: TeamEntity | CustomerEntity): Limit[] {
  return limitResolver(state)(scope, owner, scope, owner.calendar_aligned === true)
}
