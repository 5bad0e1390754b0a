import { ConfigError, definePlugin, GatewayError, type AtomicStore } from '@switchyard/core'
import * as v from 'valibot'
import { registerApi, type AdminCredentials } from './api.js'
import { createEnforcer, type Enforcer } from './enforce.js'
import { checkState, resolveEnv, stateFromConfig } from './entities.js'
import { createPriceBook } from './prices.js'
import { formatIssues, GovernanceSchema, type GovernanceConfig } from './schema.js'
import { createEntityStore, type EntityStore } from './store.js'

export { VIRTUAL_KEY_STATE, TEAM_STATE, CUSTOMER_STATE, COST_STATE, BATCH_STATE, type CostState } from './enforce.js'
export type { VirtualKeyState } from './model.js'
export { createPriceBook, costOf, baseModelName, DEFAULT_PRICES, PRICES_AS_OF, type ModelPrice, type PriceBook, type CostExtras } from './prices.js'
export { estimateRequest, type Estimate } from './estimate.js'
export { parseDuration, windowAt, type Duration, type Window } from './window.js'
export { readVirtualKey } from './credentials.js'
export { GovernanceSchema, type GovernanceConfig } from './schema.js'
export { VIRTUAL_KEY_PREFIXES, generateKeyValue, maskSecret } from './entities.js'

/** Package name; also the plugin's name. */
export const PLUGIN_NAME = '@switchyard/plugin-governance'

/** The async inference plugin: submits and polls it answers are authenticated and authorized, not reserved for. */
const ASYNC_PLUGIN = '@switchyard/plugin-async-inference'

/** Sections of Bifrost's governance block this plugin does not act on (they are accepted, with a warning). */
const NOT_ENFORCED = ['routing_rules', 'model_configs', 'providers', 'business_units', 'roles', 'pricing_overrides', 'complexity_analyzer_config']

const readEnv = (name: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]

/** The governance block, checked; a bad field stops the start with its path. */
export function parseGovernance(input: unknown): GovernanceConfig {
  const result = v.safeParse(GovernanceSchema, input ?? {})
  if (!result.success) throw new ConfigError(formatIssues(result.issues, 'governance'))
  return result.output
}

/** The management API's admin credentials: `$SWITCHYARD_ADMIN_TOKEN`, `auth_config.admin_token`, and `auth_config` Basic auth. */
function credentialsOf(config: GovernanceConfig, issues: string[]): AdminCredentials {
  const tokens: string[] = []
  const fromEnv = readEnv('SWITCHYARD_ADMIN_TOKEN')
  if (fromEnv) tokens.push(fromEnv)
  const auth = config.auth_config
  const token = resolveEnv(auth?.admin_token, 'governance.auth_config.admin_token', issues)
  if (token) tokens.push(token)
  let basic: AdminCredentials['basic']
  if (auth?.is_enabled) {
    const username = resolveEnv(auth.admin_username, 'governance.auth_config.admin_username', issues)
    const password = resolveEnv(auth.admin_password, 'governance.auth_config.admin_password', issues)
    if (!username || !password) issues.push('governance.auth_config: is_enabled needs admin_username and admin_password')
    else basic = { username, password }
  }
  return { tokens, basic }
}

/**
 * Governance for Switchyard: virtual keys, teams, customers, budgets and rate limits, exact
 * across gateway instances, and the management API under `/api`.
 *
 * Active whenever the config has a `governance` block (the runtime loads this package by name
 * and runs it before the other plugins), or when listed in `plugins` (its `config`, when given,
 * is the governance block). Per request it reads memory only: one map lookup for the key, one
 * atomic reservation before the upstream call and one settlement after it.
 */
export function createGovernancePlugin(input?: unknown) {
  let store: EntityStore | undefined
  let enforcer: Enforcer | undefined
  let atomicStore: AtomicStore | undefined
  const starting = () => new GatewayError({ status: 503, code: 'overloaded', type: 'governance_unavailable', message: 'governance is starting', retryable: true, headers: { 'retry-after': '1' } })
  /** Set by `routes`, filled by `setup`: the API answers 503 until then. */
  const api = { credentials: { tokens: [] } as AdminCredentials }

  return definePlugin({
    name: PLUGIN_NAME,
    async setup(context) {
      const raw = input ?? (context.config as { governance?: unknown }).governance
      const config = parseGovernance(raw)
      const now = new Date().toISOString()
      const seeded = stateFromConfig(config, now)
      const issues = [...seeded.issues, ...checkState(seeded.state)]
      api.credentials = credentialsOf(config, issues)
      if (issues.length > 0) throw new ConfigError(issues)
      for (const section of NOT_ENFORCED) {
        if ((config as Record<string, unknown>)[section] !== undefined) context.log.warn(`governance.${section} is accepted but not enforced by Switchyard (see docs/governance.md)`)
      }
      const providers = new Set([...Object.keys(context.stats().providers), ...Object.keys(context.config.providers)])
      for (const key of seeded.state.virtual_key.values()) {
        for (const provider of key.provider_configs) {
          if (!providers.has(provider.provider)) context.log.warn('governance: a virtual key names a provider the gateway does not serve; it is never routed there', { virtual_key: key.id, provider: provider.provider })
          if (provider.key_ids && !(provider.key_ids.length === 1 && provider.key_ids[0] === '*')) context.log.warn('governance: provider_configs[].key_ids is accepted but does not restrict key selection yet', { virtual_key: key.id, provider: provider.provider })
        }
      }
      const keyModels = new Map<string, ReadonlySet<string>>()
      for (const [id, provider] of Object.entries(context.config.providers)) keyModels.set(id, new Set(provider.keys.flatMap((key) => key.models)))
      const client = context.config.client as Record<string, unknown>
      const requireKey = config.auth_config?.disable_auth_on_inference === true ? false : client.enforce_governance_header === true || client.enforce_auth_on_inference === true

      atomicStore = context.atomic
      store = createEntityStore({ storage: context.storage, atomic: context.atomic, log: context.log, refreshIntervalMs: config.refresh_interval_seconds * 1_000 })
      await store.seed(seeded.state, seeded.missingValues)
      const current = store
      enforcer = createEnforcer({
        atomic: context.atomic,
        prices: createPriceBook(config.pricing),
        log: context.log,
        snapshot: () => current.snapshot,
        failurePolicy: config.failure_policy,
        unpriced: config.unpriced_models,
        estimatedOutputTokens: config.estimated_output_tokens,
        requireKey,
        allowDirectKeys: context.config.client.allow_direct_keys,
        asyncInference: context.config.plugins.some((entry) => entry.name === ASYNC_PLUGIN && entry.enabled !== false),
        providers: () => providers,
        keyModels: (provider) => keyModels.get(provider) ?? new Set(),
      })
      context.log.info('governance ready', { virtual_keys: current.snapshot.state.virtual_key.size, teams: current.snapshot.state.team.size, customers: current.snapshot.state.customer.size, failure_policy: config.failure_policy })
    },
    routes(app, context) {
      const deferred: Pick<EntityStore, 'snapshot' | 'commit'> = {
        get snapshot() {
          return store!.snapshot
        },
        commit: (changes) => store!.commit(changes),
      }
      registerApi(app, {
        store: deferred,
        get atomic() {
          return atomicStore ?? context.atomic
        },
        config: context.config,
        get credentials() {
          return api.credentials
        },
        log: context.log,
        ready: () => enforcer !== undefined,
      })
    },
    hooks: {
      onRequest(ctx) {
        if (!enforcer) throw starting()
        return enforcer.onRequest(ctx)
      },
      beforeUpstream(ctx, call) {
        if (!enforcer) throw starting()
        return enforcer.beforeUpstream(ctx, call)
      },
      afterUpstream(ctx, outcome) {
        return enforcer?.afterUpstream(ctx, outcome)
      },
      onFinish(ctx) {
        return enforcer?.onFinish(ctx)
      },
    },
    close() {
      store?.close()
    },
  })
}

export default createGovernancePlugin
