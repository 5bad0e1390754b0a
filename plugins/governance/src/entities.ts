import type { BudgetInput, BudgetLine, CustomerInput, GovernanceConfig, ProviderConfigInput, RateLimitInput, RateLimitLine, TeamInput, VirtualKeyInput } from './schema.js'
import { parseDuration } from './window.js'

/**
 * Governance entities as they are stored (one storage key each) and held in memory. Budgets and
 * rate limits are entities of their own; an owner refers to them (`budget_id`, `rate_limit_id`)
 * or a budget names its owner (`team_id` ...). Inline `budgets`/`rate_limit` of the input shape
 * become such entities, with ids derived from their owner's.
 */

/** Where an entity came from and when it changed. */
export interface Meta {
  created_at: string
  updated_at: string
  /** `config`: seeded from config.json (the file wins when it changes); `api`: made through the management API. */
  source: 'config' | 'api'
  /** Hash of the config entry a `config` entity was seeded from. */
  config_hash?: string
}

export interface BudgetEntity extends Meta {
  id: string
  max_limit: number
  reset_duration: string
  calendar_aligned?: boolean
  /** Start of the first rolling window (ISO); absent: windows count from 1970-01-01T00:00Z. */
  last_reset?: string
  virtual_key_id?: string
  team_id?: string
  customer_id?: string
  provider_config_id?: string
}

export interface RateLimitEntity extends Meta {
  id: string
  token_max_limit?: number
  token_reset_duration?: string
  request_max_limit?: number
  request_reset_duration?: string
  calendar_aligned?: boolean
}

export interface CustomerEntity extends Meta {
  id: string
  name: string
  budget_id?: string
  rate_limit_id?: string
  calendar_aligned?: boolean
}

export interface TeamEntity extends Meta {
  id: string
  name: string
  customer_id?: string
  budget_id?: string
  rate_limit_id?: string
  calendar_aligned?: boolean
}

export interface ProviderConfigEntity {
  id: string
  provider: string
  /** `null`: out of the weighted choice; the provider still serves `provider/model`. */
  weight: number | null
  allowed_models: string[]
  blacklisted_models: string[]
  key_ids?: string[]
  budget_id?: string
  rate_limit_id?: string
}

export interface McpConfigEntity {
  mcp_client_name?: string
  mcp_client_id?: string
  tools_to_execute: string[]
}

export interface VirtualKeyEntity extends Meta {
  id: string
  name: string
  description?: string
  value: string
  is_active: boolean
  team_id?: string
  customer_id?: string
  budget_id?: string
  rate_limit_id?: string
  calendar_aligned?: boolean
  allow_all_providers: boolean
  provider_configs: ProviderConfigEntity[]
  mcp_configs: McpConfigEntity[]
  fallbacks?: string[]
  expires_at?: string
  can_mint: boolean
  /** The virtual key that minted this one: its limits and permissions bound this key's. */
  parent_id?: string
}

export type EntityKind = 'virtual_key' | 'team' | 'customer' | 'budget' | 'rate_limit'

export interface EntityOf {
  virtual_key: VirtualKeyEntity
  team: TeamEntity
  customer: CustomerEntity
  budget: BudgetEntity
  rate_limit: RateLimitEntity
}

/** Every governance entity, by kind and id. */
export interface GovernanceState {
  virtual_key: Map<string, VirtualKeyEntity>
  team: Map<string, TeamEntity>
  customer: Map<string, CustomerEntity>
  budget: Map<string, BudgetEntity>
  rate_limit: Map<string, RateLimitEntity>
}

export const ENTITY_KINDS: readonly EntityKind[] = ['customer', 'team', 'budget', 'rate_limit', 'virtual_key']

export function emptyState(): GovernanceState {
  return { virtual_key: new Map(), team: new Map(), customer: new Map(), budget: new Map(), rate_limit: new Map() }
}

/** A copy whose maps can be changed without touching `state` (entities are replaced, never mutated). */
export function copyState(state: GovernanceState): GovernanceState {
  return { virtual_key: new Map(state.virtual_key), team: new Map(state.team), customer: new Map(state.customer), budget: new Map(state.budget), rate_limit: new Map(state.rate_limit) }
}

/** Prefixes that mark a virtual key in the credential headers SDKs send (`Authorization`, `x-api-key` ...). */
export const VIRTUAL_KEY_PREFIXES = ['sk-bf-', 'vk_'] as const

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** A new virtual key value: `sk-bf-` and 40 random characters (about 238 bits). */
export function generateKeyValue(): string {
  let out = 'sk-bf-'
  // Bytes of 248 and above are skipped (248 = 4 x 62), so every character is equally likely.
  while (out.length < 46) {
    for (const byte of crypto.getRandomValues(new Uint8Array(48))) if (byte < 248 && out.length < 46) out += ALPHABET[byte % 62]
  }
  return out
}

/** A value shown in listings: the prefix and the last 4 characters. */
export function maskSecret(value: string): string {
  if (value.length < 12) return '****'
  const prefix = VIRTUAL_KEY_PREFIXES.find((candidate) => value.startsWith(candidate)) ?? value.slice(0, 3)
  return `${prefix}****${value.slice(-4)}`
}

/** FNV-1a (53 bits) of a JSON value: tells whether a config entry changed since it was seeded. */
export function hashOf(value: unknown): string {
  const text = JSON.stringify(value)
  let high = 0x811c9dc5
  let low = 0x01000193
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    high = Math.imul(high ^ code, 0x01000193) >>> 0
    low = Math.imul(low ^ code, 0x5bd1e995) >>> 0
  }
  return `${high.toString(36)}${low.toString(36)}`
}

const readEnv = (name: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]

/** `env.VAR` resolved from the process environment; other strings as they are. */
export function resolveEnv(value: string | undefined, path: string, issues: string[]): string | undefined {
  if (value === undefined || !value.startsWith('env.')) return value
  const resolved = readEnv(value.slice(4))
  if (!resolved) issues.push(`${path}: environment variable ${value.slice(4)} is not set`)
  return resolved || undefined
}

// ---- From the input shape to entities -------------------------------------------------------

type Owner = { kind: 'virtual_key' | 'team' | 'customer' | 'provider_config'; id: string }
const OWNER_FIELD = { virtual_key: 'virtual_key_id', team: 'team_id', customer: 'customer_id', provider_config: 'provider_config_id' } as const

const meta = (now: string, source: Meta['source']): Meta => ({ created_at: now, updated_at: now, source })

export function budgetFromInput(input: BudgetInput | BudgetLine, id: string, now: string, source: Meta['source'], owner?: Owner): BudgetEntity {
  const budget: BudgetEntity = { id, max_limit: input.max_limit, reset_duration: input.reset_duration, ...meta(now, source) }
  if (input.calendar_aligned !== undefined) budget.calendar_aligned = input.calendar_aligned
  if (input.last_reset !== undefined) budget.last_reset = new Date(Date.parse(input.last_reset)).toISOString()
  const full = input as BudgetInput
  if (full.virtual_key_id !== undefined) budget.virtual_key_id = full.virtual_key_id
  if (full.team_id !== undefined) budget.team_id = full.team_id
  if (full.customer_id !== undefined) budget.customer_id = full.customer_id
  if (full.provider_config_id !== undefined) budget.provider_config_id = String(full.provider_config_id)
  if (owner) budget[OWNER_FIELD[owner.kind]] = owner.id
  return budget
}

export function rateLimitFromInput(input: RateLimitInput | RateLimitLine, id: string, now: string, source: Meta['source']): RateLimitEntity {
  const limit: RateLimitEntity = { id, ...meta(now, source) }
  for (const field of ['token_max_limit', 'token_reset_duration', 'request_max_limit', 'request_reset_duration', 'calendar_aligned'] as const) {
    if (input[field] !== undefined) (limit as unknown as Record<string, unknown>)[field] = input[field]
  }
  return limit
}

/** What an owner's inline `budgets`/`budget`/`rate_limit` became. */
export interface InlineLimits {
  budgets: BudgetEntity[]
  rateLimit?: RateLimitEntity
}

/** Budgets and the rate limit written inline on an owner, as entities owned by it. */
export function inlineLimits(input: { budgets?: BudgetLine[]; budget?: BudgetLine; rate_limit?: RateLimitLine }, owner: Owner, now: string, source: Meta['source']): InlineLimits {
  const lines = [...(input.budget ? [input.budget] : []), ...(input.budgets ?? [])]
  const budgets = lines.map((line, index) => budgetFromInput(line, line.id ?? (lines.length === 1 ? `${owner.id}:budget` : `${owner.id}:budget:${index + 1}`), now, source, owner))
  const rateLimit = input.rate_limit ? rateLimitFromInput(input.rate_limit, input.rate_limit.id ?? `${owner.id}:rate-limit`, now, source) : undefined
  return { budgets, rateLimit }
}

export function customerFromInput(input: CustomerInput, now: string, source: Meta['source']): { customer: CustomerEntity } & InlineLimits {
  const inline = inlineLimits(input, { kind: 'customer', id: input.id }, now, source)
  const customer: CustomerEntity = { id: input.id, name: input.name, ...meta(now, source) }
  if (input.budget_id !== undefined) customer.budget_id = input.budget_id
  const rateLimit = inline.rateLimit?.id ?? input.rate_limit_id
  if (rateLimit !== undefined) customer.rate_limit_id = rateLimit
  if (input.calendar_aligned !== undefined) customer.calendar_aligned = input.calendar_aligned
  return { customer, ...inline }
}

export function teamFromInput(input: TeamInput, now: string, source: Meta['source']): { team: TeamEntity } & InlineLimits {
  const inline = inlineLimits(input, { kind: 'team', id: input.id }, now, source)
  const team: TeamEntity = { id: input.id, name: input.name, ...meta(now, source) }
  if (input.customer_id !== undefined) team.customer_id = input.customer_id
  if (input.budget_id !== undefined) team.budget_id = input.budget_id
  const rateLimit = inline.rateLimit?.id ?? input.rate_limit_id
  if (rateLimit !== undefined) team.rate_limit_id = rateLimit
  if (input.calendar_aligned !== undefined) team.calendar_aligned = input.calendar_aligned
  return { team, ...inline }
}

export function providerConfigFromInput(input: ProviderConfigInput, keyId: string, now: string, source: Meta['source']): { config: ProviderConfigEntity } & InlineLimits {
  const id = input.id !== undefined ? String(input.id) : `${keyId}:${input.provider}`
  const inline = inlineLimits(input, { kind: 'provider_config', id }, now, source)
  const config: ProviderConfigEntity = {
    id,
    provider: input.provider,
    weight: input.weight === undefined ? 1 : input.weight,
    allowed_models: input.allowed_models ?? [],
    blacklisted_models: input.blacklisted_models ?? [],
  }
  if (input.key_ids !== undefined) config.key_ids = input.key_ids
  if (input.budget_id !== undefined) config.budget_id = input.budget_id
  const rateLimit = inline.rateLimit?.id ?? input.rate_limit_id
  if (rateLimit !== undefined) config.rate_limit_id = rateLimit
  return { config, ...inline }
}

/** A virtual key and everything written inline on it (its provider configs' limits included). */
export interface KeyFromInput {
  key: VirtualKeyEntity
  budgets: BudgetEntity[]
  rateLimits: RateLimitEntity[]
}

export function virtualKeyFromInput(input: VirtualKeyInput, value: string, now: string, source: Meta['source']): KeyFromInput {
  const own = inlineLimits(input, { kind: 'virtual_key', id: input.id }, now, source)
  const budgets = [...own.budgets]
  const rateLimits = own.rateLimit ? [own.rateLimit] : []
  const configs = (input.provider_configs ?? []).map((config) => {
    const made = providerConfigFromInput(config, input.id, now, source)
    budgets.push(...made.budgets)
    if (made.rateLimit) rateLimits.push(made.rateLimit)
    return made.config
  })
  const key: VirtualKeyEntity = {
    id: input.id,
    name: input.name,
    value,
    is_active: input.is_active ?? true,
    allow_all_providers: input.allow_all_providers ?? false,
    provider_configs: configs,
    mcp_configs: (input.mcp_configs ?? []).map((config) => ({
      ...(config.mcp_client_name !== undefined && { mcp_client_name: config.mcp_client_name }),
      ...(config.mcp_client_id !== undefined && { mcp_client_id: String(config.mcp_client_id) }),
      tools_to_execute: config.tools_to_execute ?? [],
    })),
    can_mint: input.can_mint ?? false,
    ...meta(now, source),
  }
  if (input.description !== undefined) key.description = input.description
  if (input.team_id !== undefined) key.team_id = input.team_id
  if (input.customer_id !== undefined) key.customer_id = input.customer_id
  if (input.budget_id !== undefined) key.budget_id = input.budget_id
  const rateLimit = own.rateLimit?.id ?? input.rate_limit_id
  if (rateLimit !== undefined) key.rate_limit_id = rateLimit
  if (input.calendar_aligned !== undefined) key.calendar_aligned = input.calendar_aligned
  if (input.fallbacks !== undefined) key.fallbacks = input.fallbacks
  if (input.expires_at) key.expires_at = new Date(Date.parse(input.expires_at)).toISOString()
  return { key, budgets, rateLimits }
}

/** Strips what is not the config's own content (timestamps, origin), for hashing. */
const contentOf = (entity: Meta & object) => {
  const { created_at: _created, updated_at: _updated, source: _source, config_hash: _hash, ...rest } = entity
  return rest
}

/**
 * The config's `governance` block as entities, each stamped `source: 'config'` with the hash of
 * its content. `issues` collects unset environment variables.
 */
export function stateFromConfig(config: GovernanceConfig, now: string): { state: GovernanceState; issues: string[]; missingValues: Set<string> } {
  const state = emptyState()
  const issues: string[] = []
  const missingValues = new Set<string>()
  const seen = (kind: EntityKind, id: string, path: string) => {
    if (state[kind].has(id)) issues.push(`${path}: duplicate ${kind.replace('_', ' ')} id "${id}"`)
  }
  const add = <K extends EntityKind>(kind: K, entity: EntityOf[K], path: string) => {
    seen(kind, entity.id, path)
    ;(state[kind] as Map<string, EntityOf[K]>).set(entity.id, entity)
  }
  config.budgets.forEach((budget, index) => add('budget', budgetFromInput(budget, budget.id, now, 'config'), `governance.budgets[${index}]`))
  config.rate_limits.forEach((limit, index) => add('rate_limit', rateLimitFromInput(limit, limit.id, now, 'config'), `governance.rate_limits[${index}]`))
  const addInline = (inline: InlineLimits, path: string) => {
    for (const budget of inline.budgets) add('budget', budget, `${path}.budgets`)
    if (inline.rateLimit) add('rate_limit', inline.rateLimit, `${path}.rate_limit`)
  }
  config.customers.forEach((input, index) => {
    const made = customerFromInput(input, now, 'config')
    add('customer', made.customer, `governance.customers[${index}]`)
    addInline(made, `governance.customers[${index}]`)
  })
  config.teams.forEach((input, index) => {
    const made = teamFromInput(input, now, 'config')
    add('team', made.team, `governance.teams[${index}]`)
    addInline(made, `governance.teams[${index}]`)
  })
  config.virtual_keys.forEach((input, index) => {
    const path = `governance.virtual_keys[${index}]`
    const value = resolveEnv(input.value, `${path}.value`, issues)
    if (value === undefined && input.value === undefined) missingValues.add(input.id)
    const made = virtualKeyFromInput(input, value ?? '', now, 'config')
    add('virtual_key', made.key, path)
    for (const budget of made.budgets) add('budget', budget, `${path}.budgets`)
    for (const limit of made.rateLimits) add('rate_limit', limit, `${path}.rate_limit`)
  })
  for (const kind of ENTITY_KINDS) {
    for (const entity of state[kind].values()) entity.config_hash = hashOf(contentOf(entity))
  }
  return { state, issues, missingValues }
}

// ---- Consistency ------------------------------------------------------------------------------

/**
 * Everything that must hold between entities: references resolve, a key belongs to a team or a
 * customer (not both), values are unique, durations parse, a budget has at most one owner.
 */
export function checkState(state: GovernanceState): string[] {
  const issues: string[] = []
  const providerConfigs = new Set<string>()
  for (const key of state.virtual_key.values()) for (const config of key.provider_configs) providerConfigs.add(config.id)
  const budget = (id: string | undefined, where: string) => {
    if (id !== undefined && !state.budget.has(id)) issues.push(`${where}: budget "${id}" does not exist`)
  }
  const rateLimit = (id: string | undefined, where: string) => {
    if (id !== undefined && !state.rate_limit.has(id)) issues.push(`${where}: rate limit "${id}" does not exist`)
  }
  for (const entity of state.budget.values()) {
    const where = `budget "${entity.id}"`
    if (!parseDuration(entity.reset_duration)) issues.push(`${where}: bad reset_duration "${entity.reset_duration}"`)
    const owners = [entity.virtual_key_id, entity.team_id, entity.customer_id, entity.provider_config_id].filter((owner) => owner !== undefined)
    if (owners.length > 1) issues.push(`${where}: a budget has at most one owner (virtual_key_id, team_id, customer_id or provider_config_id)`)
    if (entity.virtual_key_id !== undefined && !state.virtual_key.has(entity.virtual_key_id)) issues.push(`${where}: virtual key "${entity.virtual_key_id}" does not exist`)
    if (entity.team_id !== undefined && !state.team.has(entity.team_id)) issues.push(`${where}: team "${entity.team_id}" does not exist`)
    if (entity.customer_id !== undefined && !state.customer.has(entity.customer_id)) issues.push(`${where}: customer "${entity.customer_id}" does not exist`)
    if (entity.provider_config_id !== undefined && !providerConfigs.has(entity.provider_config_id)) issues.push(`${where}: provider config "${entity.provider_config_id}" does not exist`)
  }
  for (const customer of state.customer.values()) {
    budget(customer.budget_id, `customer "${customer.id}"`)
    rateLimit(customer.rate_limit_id, `customer "${customer.id}"`)
  }
  for (const team of state.team.values()) {
    const where = `team "${team.id}"`
    if (team.customer_id !== undefined && !state.customer.has(team.customer_id)) issues.push(`${where}: customer "${team.customer_id}" does not exist`)
    budget(team.budget_id, where)
    rateLimit(team.rate_limit_id, where)
  }
  const values = new Map<string, string>()
  for (const key of state.virtual_key.values()) {
    const where = `virtual key "${key.id}"`
    if (key.team_id !== undefined && key.customer_id !== undefined) issues.push(`${where}: a virtual key belongs to a team or to a customer, not both`)
    if (key.team_id !== undefined && !state.team.has(key.team_id)) issues.push(`${where}: team "${key.team_id}" does not exist`)
    if (key.customer_id !== undefined && !state.customer.has(key.customer_id)) issues.push(`${where}: customer "${key.customer_id}" does not exist`)
    if (key.parent_id !== undefined && !state.virtual_key.has(key.parent_id)) issues.push(`${where}: parent virtual key "${key.parent_id}" does not exist`)
    budget(key.budget_id, where)
    rateLimit(key.rate_limit_id, where)
    const other = values.get(key.value)
    if (other !== undefined) issues.push(`${where}: the same value as virtual key "${other}"`)
    else values.set(key.value, key.id)
    const providers = new Set<string>()
    for (const config of key.provider_configs) {
      if (providers.has(config.provider)) issues.push(`${where}: provider "${config.provider}" has two provider configs`)
      providers.add(config.provider)
      budget(config.budget_id, `${where} provider config "${config.id}"`)
      rateLimit(config.rate_limit_id, `${where} provider config "${config.id}"`)
    }
  }
  return issues
}
