import type { AtomicStore } from '@switchyard/core'
import { maskSecret, type BudgetEntity, type CustomerEntity, type GovernanceState, type RateLimitEntity, type TeamEntity, type VirtualKeyEntity } from './entities.js'
import { counterKey, limitResolver, NANO_PER_USD, windowOf, type CompiledKey, type Limit, type LimitScope } from './model.js'

/**
 * What the management API answers: the entities in the Bifrost response shape, each budget and
 * rate limit with its usage in the current window (read from the counters, one round trip per
 * answer).
 */

/** A limit's counter in its current window. */
export interface LimitUsage {
  limit: Limit
  used: number
  windowStart: number
  windowEnd: number
}

/** Reads the current window of every limit in one call. */
export async function usageOf(atomic: AtomicStore, limits: readonly Limit[], at: number = Date.now()): Promise<LimitUsage[]> {
  if (limits.length === 0) return []
  const windows = limits.map((limit) => windowOf(limit, at))
  const values = await atomic.get(limits.map((limit, index) => counterKey(limit, windows[index]!)))
  return limits.map((limit, index) => ({ limit, used: values[index]!.value, windowStart: windows[index]!.start, windowEnd: windows[index]!.end }))
}

const iso = (at: number) => new Date(at).toISOString()
const dollars = (nano: number) => Math.round(nano) / NANO_PER_USD

/** One line of a usage report. */
export function usageLine(usage: LimitUsage, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { limit } = usage
  const budget = limit.kind === 'budget'
  return {
    scope: limit.scope,
    owner_id: limit.ownerId,
    kind: limit.kind,
    id: limit.id,
    ...extra,
    max: budget ? dollars(limit.max) : limit.max,
    used: budget ? dollars(usage.used) : usage.used,
    remaining: budget ? dollars(Math.max(0, limit.max - usage.used)) : Math.max(0, limit.max - usage.used),
    reset_duration: `${limit.duration.count}${limit.duration.unit}`,
    calendar_aligned: limit.aligned,
    window_start: iso(usage.windowStart),
    reset_at: iso(usage.windowEnd),
  }
}

/** Everything a view needs: entities and the usage of their limits. */
export interface ViewContext {
  state: GovernanceState
  usage: ReadonlyMap<string, LimitUsage>
}

const usageKey = (kind: string, id: string) => `${kind}:${id}`

/** Reads the usage of every limit the given owners hold. */
export async function viewContext(atomic: AtomicStore, state: GovernanceState, owners: Array<{ scope: LimitScope; owner: { id: string; budget_id?: string; rate_limit_id?: string; calendar_aligned?: boolean } }>): Promise<ViewContext> {
  const resolve = limitResolver(state)
  const limits = new Map<string, Limit>()
  for (const { scope, owner } of owners) {
    for (const limit of resolve(scope, owner, scope, owner.calendar_aligned === true)) limits.set(usageKey(limit.kind, limit.id), limit)
  }
  const usage = new Map<string, LimitUsage>()
  for (const entry of await usageOf(atomic, [...limits.values()])) usage.set(usageKey(entry.limit.kind, entry.limit.id), entry)
  return { state, usage }
}

export function budgetView(budget: BudgetEntity, context: ViewContext): Record<string, unknown> {
  const usage = context.usage.get(usageKey('budget', budget.id))
  const used = usage ? dollars(usage.used) : 0
  return {
    ...budget,
    current_usage: used,
    remaining: Math.max(0, Math.round((budget.max_limit - used) * NANO_PER_USD) / NANO_PER_USD),
    ...(usage && { window_start: iso(usage.windowStart), reset_at: iso(usage.windowEnd) }),
  }
}

export function rateLimitView(limit: RateLimitEntity, context: ViewContext): Record<string, unknown> {
  const tokens = context.usage.get(usageKey('tokens', limit.id))
  const requests = context.usage.get(usageKey('requests', limit.id))
  return {
    ...limit,
    ...(limit.token_max_limit !== undefined && { token_current_usage: tokens?.used ?? 0, token_remaining: Math.max(0, limit.token_max_limit - (tokens?.used ?? 0)) }),
    ...(tokens && { token_reset_at: iso(tokens.windowEnd) }),
    ...(limit.request_max_limit !== undefined && { request_current_usage: requests?.used ?? 0, request_remaining: Math.max(0, limit.request_max_limit - (requests?.used ?? 0)) }),
    ...(requests && { request_reset_at: iso(requests.windowEnd) }),
  }
}

const ownedBudgets = (state: GovernanceState, field: 'virtual_key_id' | 'team_id' | 'customer_id' | 'provider_config_id', id: string, referenced: string | undefined) =>
  [...state.budget.values()].filter((budget) => budget[field] === id || budget.id === referenced)

const rateLimitOf = (state: GovernanceState, id: string | undefined, context: ViewContext) => {
  const limit = id !== undefined ? state.rate_limit.get(id) : undefined
  return limit ? rateLimitView(limit, context) : null
}

/** A virtual key; its value masked unless `reveal` (the answer to its creation). */
export function virtualKeyView(key: VirtualKeyEntity, context: ViewContext, reveal = false): Record<string, unknown> {
  const { state } = context
  return {
    ...key,
    value: reveal ? key.value : maskSecret(key.value),
    provider_configs: key.provider_configs.map((config) => ({
      ...config,
      virtual_key_id: key.id,
      budgets: ownedBudgets(state, 'provider_config_id', config.id, config.budget_id).map((budget) => budgetView(budget, context)),
      rate_limit: rateLimitOf(state, config.rate_limit_id, context),
    })),
    budgets: ownedBudgets(state, 'virtual_key_id', key.id, key.budget_id).map((budget) => budgetView(budget, context)),
    rate_limit: rateLimitOf(state, key.rate_limit_id, context),
  }
}

export function teamView(team: TeamEntity, context: ViewContext): Record<string, unknown> {
  const keys = [...context.state.virtual_key.values()].filter((key) => key.team_id === team.id)
  return {
    ...team,
    budgets: ownedBudgets(context.state, 'team_id', team.id, team.budget_id).map((budget) => budgetView(budget, context)),
    rate_limit: rateLimitOf(context.state, team.rate_limit_id, context),
    virtual_key_count: keys.length,
  }
}

export function customerView(customer: CustomerEntity, context: ViewContext): Record<string, unknown> {
  const { state } = context
  return {
    ...customer,
    budgets: ownedBudgets(state, 'customer_id', customer.id, customer.budget_id).map((budget) => budgetView(budget, context)),
    rate_limit: rateLimitOf(state, customer.rate_limit_id, context),
    team_ids: [...state.team.values()].filter((team) => team.customer_id === customer.id).map((team) => team.id),
    virtual_key_ids: [...state.virtual_key.values()].filter((key) => key.customer_id === customer.id).map((key) => key.id),
  }
}

/** The owners a set of virtual keys brings (for `viewContext`): each key and its provider configs. */
export function keyOwners(keys: Iterable<VirtualKeyEntity>): Array<{ scope: LimitScope; owner: { id: string; budget_id?: string; rate_limit_id?: string; calendar_aligned?: boolean } }> {
  const out: Array<{ scope: LimitScope; owner: { id: string; budget_id?: string; rate_limit_id?: string; calendar_aligned?: boolean } }> = []
  for (const key of keys) {
    out.push({ scope: 'virtual_key', owner: key })
    for (const config of key.provider_configs) out.push({ scope: 'provider_config', owner: { ...config, calendar_aligned: key.calendar_aligned } })
  }
  return out
}

/** Every limit on a key's path, with its usage: what a request of this key must fit. */
export async function keyUsage(atomic: AtomicStore, key: CompiledKey): Promise<Record<string, unknown>> {
  const perProvider = [...key.providers.values()].flatMap((config) => config.limits.map((limit) => ({ limit, provider: config.entity.provider })))
  const usage = await usageOf(atomic, [...key.limits, ...perProvider.map((entry) => entry.limit)])
  return {
    virtual_key: { id: key.entity.id, name: key.entity.name },
    limits: usage.map((entry, index) => usageLine(entry, index >= key.limits.length ? { provider: perProvider[index - key.limits.length]!.provider } : {})),
  }
}
