import * as v from 'valibot'
import {
  budgetFromInput,
  checkState,
  copyState,
  customerFromInput,
  generateKeyValue,
  rateLimitFromInput,
  resolveEnv,
  teamFromInput,
  virtualKeyFromInput,
  type BudgetEntity,
  type EntityKind,
  type GovernanceState,
  type Meta,
  type RateLimitEntity,
  type VirtualKeyEntity,
} from './entities.js'
import { allows, type CompiledKey } from './model.js'
import {
  BudgetCreateSchema,
  BudgetUpdateSchema,
  CustomerCreateSchema,
  CustomerUpdateSchema,
  formatIssues,
  RateLimitCreateSchema,
  RateLimitUpdateSchema,
  TeamCreateSchema,
  TeamUpdateSchema,
  VirtualKeyCreateSchema,
  VirtualKeyUpdateSchema,
  type VirtualKeyInput,
} from './schema.js'
import type { Change } from './store.js'

/**
 * What each management call changes: it works on a copy of the entities, checks the whole
 * result (`checkState`), and hands back the entity changes to commit. Nothing is written when a
 * check fails.
 */

/** A management call that cannot be done: its HTTP status and why. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly type: string = status === 404 ? 'not_found' : status === 403 ? 'permission_denied' : status === 409 ? 'conflict' : 'invalid_request') {
    super(message)
  }
}

/** Who calls: an admin, or a virtual key allowed to mint keys within its own limits. */
export type Principal = { kind: 'admin' } | { kind: 'minter'; key: CompiledKey }

export interface Mutation {
  changes: Change[]
  /** The id of the entity the call created or changed. */
  id: string
  /** Counters to clear (a budget usage reset). */
  resets: Array<{ kind: 'budget' | 'rate_limit'; id: string }>
}

function parse<T extends v.GenericSchema>(schema: T, body: unknown): v.InferOutput<T> {
  const result = v.safeParse(schema, body)
  if (!result.success) throw new ApiError(400, formatIssues(result.issues, 'body').join('; '))
  return result.output
}

const nowIso = () => new Date().toISOString()
const newId = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** Every entity that changed between `before` and `after`, as changes to commit. */
function diff(before: GovernanceState, after: GovernanceState): Change[] {
  const changes: Change[] = []
  for (const kind of Object.keys(after) as EntityKind[]) {
    const old = before[kind] as Map<string, unknown>
    const next = after[kind] as Map<string, unknown>
    for (const [id, entity] of next) if (old.get(id) !== entity) changes.push({ kind, id, entity: entity as never })
    for (const id of old.keys()) if (!next.has(id)) changes.push({ kind, id })
  }
  return changes
}

function finish(before: GovernanceState, after: GovernanceState, id: string, resets: Mutation['resets'] = []): Mutation {
  const issues = checkState(after)
  if (issues.length > 0) throw new ApiError(400, issues.join('; '))
  return { changes: diff(before, after), id, resets }
}

/** Budgets and rate limits written inline on an owner (ids derived from the owner's). */
function ownedLimits(state: GovernanceState, owner: { kind: 'virtual_key' | 'team' | 'customer'; id: string }, providerConfigs: readonly string[] = []) {
  const field = owner.kind === 'virtual_key' ? 'virtual_key_id' : owner.kind === 'team' ? 'team_id' : 'customer_id'
  const budgets = [...state.budget.values()].filter((budget) => budget[field] === owner.id || (budget.provider_config_id !== undefined && providerConfigs.includes(budget.provider_config_id)))
  const inlineRateLimits = new Set([owner.id, ...providerConfigs].map((id) => `${id}:rate-limit`))
  return { budgets: budgets.map((budget) => budget.id), rateLimits: [...state.rate_limit.keys()].filter((id) => inlineRateLimits.has(id)) }
}

const dropOwned = (draft: GovernanceState, owned: { budgets: string[]; rateLimits: string[] }, keepRateLimits: ReadonlySet<string> = new Set()) => {
  for (const id of owned.budgets) draft.budget.delete(id)
  for (const id of owned.rateLimits) if (!keepRateLimits.has(id)) draft.rate_limit.delete(id)
}

const addMade = (draft: GovernanceState, budgets: BudgetEntity[], rateLimits: RateLimitEntity[]) => {
  for (const budget of budgets) {
    if (draft.budget.has(budget.id)) throw new ApiError(409, `budget "${budget.id}" already exists`)
    draft.budget.set(budget.id, budget)
  }
  for (const limit of rateLimits) {
    if (draft.rate_limit.has(limit.id)) throw new ApiError(409, `rate limit "${limit.id}" already exists`)
    draft.rate_limit.set(limit.id, limit)
  }
}

/** Checks that a key minted by `minter` asks for nothing `minter` may not do, and binds it to `minter`. */
function bindToMinter(input: VirtualKeyInput, minter: CompiledKey): VirtualKeyInput {
  const parent = minter.entity
  if (input.can_mint) throw new ApiError(403, 'a minted virtual key cannot mint keys itself')
  if (input.team_id !== undefined && input.team_id !== parent.team_id) throw new ApiError(403, `a minted virtual key belongs to its minter's team (${parent.team_id ?? 'none'})`)
  if (input.customer_id !== undefined && input.customer_id !== parent.customer_id) throw new ApiError(403, `a minted virtual key belongs to its minter's customer (${parent.customer_id ?? 'none'})`)
  if (input.allow_all_providers && !minter.allowAll) throw new ApiError(403, 'the minting virtual key does not allow every provider')
  const configs = input.provider_configs ?? parent.provider_configs.map(({ id: _id, budget_id: _budget, rate_limit_id: _rate, ...config }) => config)
  for (const config of configs) {
    const own = minter.providers.get(config.provider)
    if (!own && !minter.allowAll) throw new ApiError(403, `the minting virtual key does not allow provider "${config.provider}"`)
    for (const model of config.allowed_models ?? []) {
      if (model === '*') {
        if (own && (!own.allModels || own.blacklist.size > 0)) throw new ApiError(403, `the minting virtual key does not allow every model of "${config.provider}"`)
        continue
      }
      if (!allows(minter, config.provider, model)) throw new ApiError(403, `the minting virtual key does not allow model "${model}" of "${config.provider}"`)
    }
  }
  for (const config of input.mcp_configs ?? []) {
    const client = config.mcp_client_name ?? (config.mcp_client_id !== undefined ? String(config.mcp_client_id) : '')
    for (const tool of config.tools_to_execute ?? []) {
      const granted = minter.mcp.get(client)
      if (tool === '*' ? granted !== '*' : !minter.state.allowsTool(client, tool)) throw new ApiError(403, `the minting virtual key may not run tool "${tool}" of MCP client "${client}"`)
    }
  }
  let expiresAt = input.expires_at ?? undefined
  if (minter.expiresAt !== undefined && (expiresAt === undefined || Date.parse(expiresAt) > minter.expiresAt)) expiresAt = new Date(minter.expiresAt).toISOString()
  return {
    ...input,
    provider_configs: configs,
    ...(parent.team_id !== undefined && { team_id: parent.team_id }),
    ...(parent.customer_id !== undefined && { customer_id: parent.customer_id }),
    ...(expiresAt !== undefined && { expires_at: expiresAt }),
    can_mint: false,
  }
}

export function createVirtualKey(state: GovernanceState, body: unknown, principal: Principal): Mutation {
  const parsed = parse(VirtualKeyCreateSchema, body)
  const id = parsed.id ?? newId('vk')
  if (state.virtual_key.has(id)) throw new ApiError(409, `virtual key "${id}" already exists`)
  let input: VirtualKeyInput = { ...parsed, id }
  if (principal.kind === 'minter') input = bindToMinter(input, principal.key)
  const issues: string[] = []
  const value = resolveEnv(input.value, 'body.value', issues) ?? generateKeyValue()
  if (issues.length > 0) throw new ApiError(400, issues.join('; '))
  const made = virtualKeyFromInput(input, value, nowIso(), 'api')
  if (principal.kind === 'minter') made.key.parent_id = principal.key.entity.id
  const draft = copyState(state)
  draft.virtual_key.set(id, made.key)
  addMade(draft, made.budgets, made.rateLimits)
  return finish(state, draft, id)
}

/** The stored key as input, so an update can be merged over it. */
function inputOf(key: VirtualKeyEntity): VirtualKeyInput {
  const { created_at: _c, updated_at: _u, source: _s, config_hash: _h, parent_id: _p, ...rest } = key
  return { ...rest, provider_configs: key.provider_configs.map((config) => ({ ...config })), mcp_configs: key.mcp_configs.map((config) => ({ ...config })) } as VirtualKeyInput
}

export function updateVirtualKey(state: GovernanceState, id: string, body: unknown): Mutation {
  const current = state.virtual_key.get(id)
  if (!current) throw new ApiError(404, `virtual key "${id}" not found`)
  const patch = parse(VirtualKeyUpdateSchema, body)
  const { reset_budget_usage: reset, ...fields } = patch
  const base = inputOf(current)
  // Inline limits replace the old ones; references replace the inline ones.
  if (fields.budgets !== undefined || fields.budget !== undefined) base.budget_id = undefined
  if (fields.rate_limit !== undefined) base.rate_limit_id = undefined
  const input: VirtualKeyInput = { ...base, ...fields, id, expires_at: fields.expires_at === null ? undefined : (fields.expires_at ?? base.expires_at) } as VirtualKeyInput
  const issues: string[] = []
  const value = fields.value !== undefined ? resolveEnv(fields.value, 'body.value', issues) : current.value
  if (issues.length > 0 || value === undefined) throw new ApiError(400, issues.join('; '))
  const made = virtualKeyFromInput(input, value, nowIso(), current.source)
  const key: VirtualKeyEntity = { ...made.key, created_at: current.created_at, ...(current.config_hash && { config_hash: current.config_hash }), ...(current.parent_id && { parent_id: current.parent_id }) }
  const draft = copyState(state)
  const replacedConfigs = fields.provider_configs !== undefined
  const owned = ownedLimits(state, { kind: 'virtual_key', id }, replacedConfigs ? current.provider_configs.map((config) => config.id) : [])
  // Budgets owned through `virtual_key_id` go only when new inline budgets replace them.
  const dropBudgets = owned.budgets.filter((budgetId) => {
    const budget = state.budget.get(budgetId)!
    return budget.provider_config_id !== undefined ? replacedConfigs : fields.budgets !== undefined || fields.budget !== undefined
  })
  const dropRate = owned.rateLimits.filter((rateId) => (rateId === `${id}:rate-limit` ? fields.rate_limit !== undefined || fields.rate_limit_id !== undefined : replacedConfigs))
  dropOwned(draft, { budgets: dropBudgets, rateLimits: dropRate })
  draft.virtual_key.set(id, key)
  // Inline limits the body did not restate are kept (their entities already exist).
  const budgets = made.budgets.filter((budget) => (budget.provider_config_id !== undefined ? replacedConfigs : fields.budgets !== undefined || fields.budget !== undefined))
  const rateLimits = made.rateLimits.filter((limit) => (limit.id === `${id}:rate-limit` ? fields.rate_limit !== undefined : replacedConfigs))
  addMade(draft, budgets, rateLimits)
  const resets = reset ? ownedLimits(draft, { kind: 'virtual_key', id }).budgets.map((budgetId) => ({ kind: 'budget' as const, id: budgetId })) : []
  return finish(state, draft, id, resets)
}

export function deleteVirtualKey(state: GovernanceState, id: string): Mutation {
  const current = state.virtual_key.get(id)
  if (!current) throw new ApiError(404, `virtual key "${id}" not found`)
  const draft = copyState(state)
  // Keys it minted go with it.
  const doomed = [id]
  for (let index = 0; index < doomed.length; index++) {
    for (const key of state.virtual_key.values()) if (key.parent_id === doomed[index] && !doomed.includes(key.id)) doomed.push(key.id)
  }
  for (const keyId of doomed) {
    const key = state.virtual_key.get(keyId)!
    draft.virtual_key.delete(keyId)
    dropOwned(draft, ownedLimits(state, { kind: 'virtual_key', id: keyId }, key.provider_configs.map((config) => config.id)))
  }
  return finish(state, draft, id)
}

type GroupKind = 'team' | 'customer'

export function createGroup(kind: GroupKind, state: GovernanceState, body: unknown): Mutation {
  const parsed = kind === 'team' ? parse(TeamCreateSchema, body) : parse(CustomerCreateSchema, body)
  const id = parsed.id ?? newId(kind)
  if (state[kind].has(id)) throw new ApiError(409, `${kind} "${id}" already exists`)
  const made = kind === 'team' ? teamFromInput({ ...parsed, id } as never, nowIso(), 'api') : customerFromInput({ ...parsed, id } as never, nowIso(), 'api')
  const draft = copyState(state)
  ;(draft[kind] as Map<string, unknown>).set(id, 'team' in made ? made.team : made.customer)
  addMade(draft, made.budgets, made.rateLimit ? [made.rateLimit] : [])
  return finish(state, draft, id)
}

export function updateGroup(kind: GroupKind, state: GovernanceState, id: string, body: unknown): Mutation {
  const current = state[kind].get(id)
  if (!current) throw new ApiError(404, `${kind} "${id}" not found`)
  const patch = kind === 'team' ? parse(TeamUpdateSchema, body) : parse(CustomerUpdateSchema, body)
  const { reset_budget_usage: reset, ...fields } = patch as typeof patch & { customer_id?: string | null }
  const { created_at: _c, updated_at: _u, source: _s, config_hash: _h, ...base } = current
  const merged = { ...base, ...fields, id } as Record<string, unknown>
  if (merged.customer_id === null) delete merged.customer_id
  if (fields.budgets !== undefined || fields.budget !== undefined) delete merged.budget_id
  if (fields.rate_limit !== undefined) delete merged.rate_limit_id
  const made = kind === 'team' ? teamFromInput(merged as never, nowIso(), current.source) : customerFromInput(merged as never, nowIso(), current.source)
  const entity = { ...('team' in made ? made.team : made.customer), created_at: current.created_at, ...(current.config_hash && { config_hash: current.config_hash }) }
  const draft = copyState(state)
  const owned = ownedLimits(state, { kind, id })
  dropOwned(draft, {
    budgets: fields.budgets !== undefined || fields.budget !== undefined ? owned.budgets : [],
    rateLimits: fields.rate_limit !== undefined || fields.rate_limit_id !== undefined ? owned.rateLimits : [],
  })
  ;(draft[kind] as Map<string, unknown>).set(id, entity)
  addMade(draft, fields.budgets !== undefined || fields.budget !== undefined ? made.budgets : [], fields.rate_limit !== undefined && made.rateLimit ? [made.rateLimit] : [])
  const resets = reset ? ownedLimits(draft, { kind, id }).budgets.map((budgetId) => ({ kind: 'budget' as const, id: budgetId })) : []
  return finish(state, draft, id, resets)
}

export function deleteGroup(kind: GroupKind, state: GovernanceState, id: string): Mutation {
  if (!state[kind].has(id)) throw new ApiError(404, `${kind} "${id}" not found`)
  const field = kind === 'team' ? 'team_id' : 'customer_id'
  const keys = [...state.virtual_key.values()].filter((key) => key[field] === id).length
  const teams = kind === 'customer' ? [...state.team.values()].filter((team) => team.customer_id === id).length : 0
  if (keys + teams > 0) throw new ApiError(409, `${kind} "${id}" still has ${keys} virtual key(s)${kind === 'customer' ? ` and ${teams} team(s)` : ''}; move or delete them first`)
  const draft = copyState(state)
  draft[kind].delete(id)
  dropOwned(draft, ownedLimits(state, { kind, id }))
  return finish(state, draft, id)
}

export function createBudget(state: GovernanceState, body: unknown): Mutation {
  const parsed = parse(BudgetCreateSchema, body)
  const id = parsed.id ?? newId('budget')
  if (state.budget.has(id)) throw new ApiError(409, `budget "${id}" already exists`)
  const draft = copyState(state)
  draft.budget.set(id, budgetFromInput({ ...parsed, id }, id, nowIso(), 'api'))
  return finish(state, draft, id)
}

export function updateBudget(state: GovernanceState, id: string, body: unknown): Mutation {
  const current = state.budget.get(id)
  if (!current) throw new ApiError(404, `budget "${id}" not found`)
  const { reset_budget_usage: reset, ...fields } = parse(BudgetUpdateSchema, body)
  const draft = copyState(state)
  draft.budget.set(id, { ...current, ...fields, updated_at: nowIso() })
  return finish(state, draft, id, reset ? [{ kind: 'budget', id }] : [])
}

export function createRateLimit(state: GovernanceState, body: unknown): Mutation {
  const parsed = parse(RateLimitCreateSchema, body)
  const id = parsed.id ?? newId('rate-limit')
  if (state.rate_limit.has(id)) throw new ApiError(409, `rate limit "${id}" already exists`)
  const draft = copyState(state)
  draft.rate_limit.set(id, rateLimitFromInput({ ...parsed, id }, id, nowIso(), 'api'))
  return finish(state, draft, id)
}

export function updateRateLimit(state: GovernanceState, id: string, body: unknown): Mutation {
  const current = state.rate_limit.get(id)
  if (!current) throw new ApiError(404, `rate limit "${id}" not found`)
  const { reset_usage: reset, ...fields } = parse(RateLimitUpdateSchema, body)
  const next: RateLimitEntity = { ...current, ...fields, updated_at: nowIso() }
  if ((next.token_max_limit === undefined) !== (next.token_reset_duration === undefined) || (next.request_max_limit === undefined) !== (next.request_reset_duration === undefined)) {
    throw new ApiError(400, 'a rate limit gives token_max_limit with token_reset_duration, and request_max_limit with request_reset_duration')
  }
  const draft = copyState(state)
  draft.rate_limit.set(id, next)
  return finish(state, draft, id, reset ? [{ kind: 'rate_limit', id }] : [])
}

/** Deletes a budget or rate limit nothing refers to by id (an owner's own limits go with their owner's update). */
export function deleteLimit(kind: 'budget' | 'rate_limit', state: GovernanceState, id: string): Mutation {
  if (!state[kind].has(id)) throw new ApiError(404, `${kind.replace('_', ' ')} "${id}" not found`)
  const field = kind === 'budget' ? 'budget_id' : 'rate_limit_id'
  const users: string[] = []
  for (const owner of [...state.customer.values(), ...state.team.values(), ...state.virtual_key.values()]) if ((owner as unknown as Record<string, unknown>)[field] === id) users.push(owner.id)
  for (const key of state.virtual_key.values()) for (const config of key.provider_configs) if (config[field] === id) users.push(config.id)
  if (users.length > 0) throw new ApiError(409, `${kind.replace('_', ' ')} "${id}" is still used by ${users.join(', ')}`)
  const draft = copyState(state)
  draft[kind].delete(id)
  return finish(state, draft, id)
}
