import { formatPath } from '@switchyard/core'
import * as v from 'valibot'
import { parseDuration } from './window.js'

/**
 * The `governance` block of config.json and the bodies of the management API, in the documented
 * Bifrost shape (virtual keys with provider configs, teams, customers, budgets, rate limits,
 * `auth_config`), plus Switchyard's own settings (`pricing`, `failure_policy` ...). Entities keep
 * members this version does not act on (`description`, `profile` ...), so one file serves both.
 */

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(200), v.regex(/^[^\s/]+$/, 'ids have no spaces or slashes'))
const Duration = v.pipe(v.string(), v.check((text) => parseDuration(text) !== undefined, 'a duration is a whole number and a unit: 30s, 5m, 1h, 1d, 1w, 1M, 1Q or 1Y'))
const Timestamp = v.pipe(v.string(), v.check((text) => !Number.isNaN(Date.parse(text)), 'an RFC 3339 timestamp such as 2025-01-01T00:00:00Z'))
const Count = v.pipe(v.number(), v.integer(), v.minValue(0))
const Usd = v.pipe(v.number(), v.minValue(0), v.maxValue(9_000_000, 'budgets hold up to 9,000,000 USD per window'))
const ModelList = v.array(v.pipe(v.string(), v.minLength(1)))

/** A budget written inline on its owner (`budgets: [...]` of a virtual key, team, customer, provider config). */
export const BudgetLineSchema = v.looseObject({
  id: v.optional(Id),
  /** Most USD spent per window. */
  max_limit: Usd,
  reset_duration: Duration,
  calendar_aligned: v.optional(v.boolean()),
  last_reset: v.optional(Timestamp),
})

/** A budget of `governance.budgets`, owned by at most one entity. */
export const BudgetSchema = v.looseObject({
  ...BudgetLineSchema.entries,
  id: Id,
  virtual_key_id: v.optional(Id),
  team_id: v.optional(Id),
  customer_id: v.optional(Id),
  provider_config_id: v.optional(v.union([Id, v.number()])),
})

const rateLimitEntries = {
  token_max_limit: v.optional(Count),
  token_reset_duration: v.optional(Duration),
  request_max_limit: v.optional(Count),
  request_reset_duration: v.optional(Duration),
  calendar_aligned: v.optional(v.boolean()),
}
const pairs = <T extends { token_max_limit?: number; token_reset_duration?: string; request_max_limit?: number; request_reset_duration?: string }>(limit: T) =>
  (limit.token_max_limit === undefined) === (limit.token_reset_duration === undefined) && (limit.request_max_limit === undefined) === (limit.request_reset_duration === undefined)
const PAIRS_MESSAGE = 'a rate limit gives token_max_limit with token_reset_duration, and request_max_limit with request_reset_duration'

/** A rate limit written inline on its owner (`rate_limit: {...}`). */
export const RateLimitLineSchema = v.pipe(v.looseObject({ id: v.optional(Id), ...rateLimitEntries }), v.check(pairs, PAIRS_MESSAGE))
/** A rate limit of `governance.rate_limits`. */
export const RateLimitSchema = v.pipe(v.looseObject({ id: Id, ...rateLimitEntries }), v.check(pairs, PAIRS_MESSAGE))

/** Budgets and a rate limit, by reference or inline: what every owner may carry. */
const limitEntries = {
  budget_id: v.optional(Id),
  budgets: v.optional(v.array(BudgetLineSchema)),
  budget: v.optional(BudgetLineSchema),
  rate_limit_id: v.optional(Id),
  rate_limit: v.optional(RateLimitLineSchema),
  calendar_aligned: v.optional(v.boolean()),
}

export const CustomerSchema = v.looseObject({ id: Id, name: v.pipe(v.string(), v.minLength(1)), ...limitEntries })
export const TeamSchema = v.looseObject({ id: Id, name: v.pipe(v.string(), v.minLength(1)), customer_id: v.optional(Id), ...limitEntries })

/** Which providers and models a virtual key may use, with what weight and limits. */
export const ProviderConfigSchema = v.looseObject({
  id: v.optional(v.union([Id, v.number()])),
  /** Provider id as configured (`openai`, `anthropic` ...). */
  provider: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider ids are lower-case letters, digits, - and _')),
  /** Share of the traffic for a bare model several providers allow. `null` takes the provider out of the weighted choice (it still serves `provider/model`). Default 1. */
  weight: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0)))),
  /** Models allowed: `["*"]` all, `[]` (or absent) none. */
  allowed_models: v.optional(ModelList),
  /** Models refused even when `allowed_models` lets them through; `["*"]` all. */
  blacklisted_models: v.optional(ModelList),
  /** Provider key names this virtual key may use (accepted; key selection is not restricted yet). */
  key_ids: v.optional(v.array(v.string())),
  ...limitEntries,
})

/** MCP tools a virtual key may run: per MCP client, `["*"]` all, `[]` none. */
export const McpConfigSchema = v.looseObject({
  mcp_client_name: v.optional(v.pipe(v.string(), v.minLength(1))),
  mcp_client_id: v.optional(v.union([v.string(), v.number()])),
  tools_to_execute: v.optional(v.array(v.string())),
})

const Fallback = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*\/.+$/, 'fallbacks are "<provider>/<model>"'))

const virtualKeyEntries = {
  name: v.pipe(v.string(), v.minLength(1)),
  description: v.optional(v.string()),
  /** The key callers send; `env.VAR` reads it from the environment. Generated (`sk-bf-...`) when absent. */
  value: v.optional(v.pipe(v.string(), v.minLength(8, 'a virtual key value has at least 8 characters'))),
  is_active: v.optional(v.boolean()),
  team_id: v.optional(Id),
  customer_id: v.optional(Id),
  ...limitEntries,
  /** Every configured provider, all models, besides `provider_configs`. Default false. */
  allow_all_providers: v.optional(v.boolean()),
  provider_configs: v.optional(v.array(ProviderConfigSchema)),
  mcp_configs: v.optional(v.array(McpConfigSchema)),
  /** `provider/model` tried in order when the chosen provider fails; default: the key's other allowed providers by weight. */
  fallbacks: v.optional(v.array(Fallback)),
  expires_at: v.optional(v.nullable(Timestamp)),
  /** This key may mint virtual keys (within its own limits) through the management API. Default false. */
  can_mint: v.optional(v.boolean()),
}

export const VirtualKeySchema = v.looseObject({ id: Id, ...virtualKeyEntries })

/** Admin credentials of the management API. */
export const AuthConfigSchema = v.looseObject({
  is_enabled: v.optional(v.boolean()),
  admin_username: v.optional(v.string()),
  admin_password: v.optional(v.string()),
  /** A bearer token for the management API (besides `$SWITCHYARD_ADMIN_TOKEN`); `env.VAR` reads it. */
  admin_token: v.optional(v.pipe(v.string(), v.minLength(1))),
  disable_auth_on_inference: v.optional(v.boolean()),
})

const PriceSchema = v.looseObject({
  input_cost_per_token: v.optional(v.pipe(v.number(), v.minValue(0))),
  output_cost_per_token: v.optional(v.pipe(v.number(), v.minValue(0))),
  cache_read_input_token_cost: v.optional(v.pipe(v.number(), v.minValue(0))),
  cache_creation_input_token_cost: v.optional(v.pipe(v.number(), v.minValue(0))),
  output_cost_per_reasoning_token: v.optional(v.pipe(v.number(), v.minValue(0))),
  output_cost_per_image: v.optional(v.pipe(v.number(), v.minValue(0))),
  input_cost_per_audio_per_second: v.optional(v.pipe(v.number(), v.minValue(0))),
  batch_discount: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})

export const GovernanceSchema = v.looseObject({
  auth_config: v.optional(AuthConfigSchema),
  budgets: v.optional(v.array(BudgetSchema), []),
  rate_limits: v.optional(v.array(RateLimitSchema), []),
  customers: v.optional(v.array(CustomerSchema), []),
  teams: v.optional(v.array(TeamSchema), []),
  virtual_keys: v.optional(v.array(VirtualKeySchema), []),
  /** Prices by `provider/model` (USD per token ...), over the shipped table. */
  pricing: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*\/.+$/, 'pricing keys are "<provider>/<model>"')), PriceSchema), {}),
  /** What a request meets when the counter store (Redis) is unreachable. Default `fail_closed`. */
  failure_policy: v.optional(v.picklist(['fail_closed', 'fail_open']), 'fail_closed'),
  /** A model with no price under a budget: `reject` (default, 403) or `allow` (served, not charged, counted as unpriced). */
  unpriced_models: v.optional(v.picklist(['reject', 'allow']), 'reject'),
  /** Completion tokens a request is assumed to produce when it sets no max_tokens (for its reservation). Default 1024. */
  estimated_output_tokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 1024),
  /** Every instance reloads all governance entities from storage this often (seconds), besides on every change. Default 60; 0 = only on change. */
  refresh_interval_seconds: v.optional(v.pipe(v.number(), v.minValue(0)), 60),
})

export type GovernanceConfig = v.InferOutput<typeof GovernanceSchema>
export type BudgetLine = v.InferOutput<typeof BudgetLineSchema>
export type RateLimitLine = v.InferOutput<typeof RateLimitLineSchema>
export type ProviderConfigInput = v.InferOutput<typeof ProviderConfigSchema>
export type VirtualKeyInput = v.InferOutput<typeof VirtualKeySchema>
export type TeamInput = v.InferOutput<typeof TeamSchema>
export type CustomerInput = v.InferOutput<typeof CustomerSchema>
export type BudgetInput = v.InferOutput<typeof BudgetSchema>
export type RateLimitInput = v.InferOutput<typeof RateLimitSchema>

// ---- Management API bodies: the same entities, `id` optional on create, every field optional on update.

export const VirtualKeyCreateSchema = v.looseObject({ id: v.optional(Id), ...virtualKeyEntries })
export const VirtualKeyUpdateSchema = v.looseObject({ ...v.partial(v.object(virtualKeyEntries)).entries, reset_budget_usage: v.optional(v.boolean()) })
export const TeamCreateSchema = v.looseObject({ ...TeamSchema.entries, id: v.optional(Id) })
export const TeamUpdateSchema = v.looseObject({ ...v.partial(v.object({ name: TeamSchema.entries.name, customer_id: v.nullable(Id), ...limitEntries })).entries, reset_budget_usage: v.optional(v.boolean()) })
export const CustomerCreateSchema = v.looseObject({ ...CustomerSchema.entries, id: v.optional(Id) })
export const CustomerUpdateSchema = v.looseObject({ ...v.partial(v.object({ name: CustomerSchema.entries.name, ...limitEntries })).entries, reset_budget_usage: v.optional(v.boolean()) })
export const BudgetCreateSchema = v.looseObject({ ...BudgetSchema.entries, id: v.optional(Id) })
export const BudgetUpdateSchema = v.looseObject({ max_limit: v.optional(Usd), reset_duration: v.optional(Duration), calendar_aligned: v.optional(v.boolean()), reset_budget_usage: v.optional(v.boolean()) })
export const RateLimitCreateSchema = v.pipe(v.looseObject({ id: v.optional(Id), ...rateLimitEntries }), v.check(pairs, PAIRS_MESSAGE))
export const RateLimitUpdateSchema = v.looseObject({ ...rateLimitEntries, reset_usage: v.optional(v.boolean()) })

/** `root.path: message` of each issue, the way the config's own errors read. */
export function formatIssues(issues: readonly v.BaseIssue<unknown>[], root: string): string[] {
  return issues.map((issue) => {
    const path = formatPath(issue)
    return `${root}${path === '(root)' ? '' : path.startsWith('[') ? path : `.${path}`}: ${issue.message}`
  })
}
