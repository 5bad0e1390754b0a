import { GatewayError, type AtomicStore, type CounterAdd, type HookContext, type Logger, type RouteOverride, type UpstreamCall, type UpstreamOutcome, type Usage } from '@switchyard/core'
import { readVirtualKey } from './credentials.js'
import { estimateRequest, imagesOf, type Estimate } from './estimate.js'
import { allows, counterKey, expiryOf, NANO_PER_USD, pathLimits, providerLimits, windowOf, type CompiledKey, type CompiledProvider, type Limit, type Snapshot } from './model.js'
import { costOf, type ModelPrice, type PriceBook } from './prices.js'
import { secondsUntil } from './window.js'

/** `ctx.state` keys other plugins read (routing rules, async inference, metrics, logging, MCP). */
export const VIRTUAL_KEY_STATE = 'switchyard:virtual_key'
export const TEAM_STATE = 'switchyard:team'
export const CUSTOMER_STATE = 'switchyard:customer'
/** `{ usd, priced }` of a finished request (see {@link CostState}). */
export const COST_STATE = 'switchyard:cost'
/** Set to `true` (before `beforeUpstream`) by a plugin that runs a request as part of a batch: the batch discount applies. */
export const BATCH_STATE = 'switchyard:batch'
const REQUEST_STATE = '@switchyard/plugin-governance'

/** What a request cost: `usd` undefined when unknown (no price, or no usage reported); `priced` false when the model has no price. */
export interface CostState {
  usd: number | undefined
  priced: boolean
}

/** One counter a request holds a reservation on. */
interface Held {
  limit: Limit
  key: string
  amount: number
  expireAt: number
  windowEnd: number
}

interface RequestState {
  key: CompiledKey | undefined
  async: boolean
  images: number | undefined
  reservation: { provider: string; at: number; held: Held[] } | undefined
  settled: boolean
}

export interface EnforcerOptions {
  atomic: AtomicStore
  prices: PriceBook
  log: Logger
  snapshot(): Snapshot
  failurePolicy: 'fail_closed' | 'fail_open'
  unpriced: 'reject' | 'allow'
  estimatedOutputTokens: number
  /** `client.enforce_governance_header`: a request without a virtual key gets 401. */
  requireKey: boolean
  /** `client.allow_direct_keys`: a virtual key in a credential header must not reach a provider as its key. */
  allowDirectKeys: boolean
  /**
   * The async inference plugin is enabled: a submit (`x-bf-async: true`) or poll (`x-bf-async-id`)
   * is only authenticated and authorized; the job's own run is enforced. Without the plugin those
   * headers change nothing here (a request that runs is always reserved for).
   */
  asyncInference: boolean
  /** Provider ids the gateway can route to. */
  providers(): ReadonlySet<string>
  /** Models a provider's configured keys name (a catalog besides the prices). */
  keyModels(provider: string): ReadonlySet<string>
  now?(): number
}

/**
 * USD to whole nano-dollars, rounded up; a product like 363 x 0.0001 that lands a hair above a
 * whole number (binary fractions) is not pushed to the next one.
 */
export const toNano = (usd: number) => Math.ceil(usd * NANO_PER_USD - 1e-6)

const denied = (status: number, code: string, type: string, message: string, headers?: Record<string, string>) => new GatewayError({ status, code, type, message, retryable: false, headers })

const usd = (nano: number) => `$${(nano / NANO_PER_USD).toFixed(6).replace(/0+$/, '').replace(/\.$/, '')}`
const OWNER_NAMES: Record<Limit['scope'], string> = { virtual_key: 'virtual key', parent_key: 'minting virtual key', team: 'team', customer: 'customer', provider_config: 'provider config' }

/** Tokens of a usage report: the total, else input plus output; undefined when nothing was counted. */
function tokensOf(usage: Usage | undefined): number | undefined {
  if (!usage) return undefined
  if (usage.totalTokens !== undefined) return usage.totalTokens
  if (usage.inputTokens === undefined && usage.outputTokens === undefined) return undefined
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)
}

/** The reservation's price: the parts the price sheet covers (a missing part counts nothing before the call). */
function estimatedCost(price: ModelPrice, estimate: Estimate, batch: boolean): number {
  let total = estimate.inputTokens * (price.input_cost_per_token ?? 0) + estimate.outputTokens * (price.output_cost_per_token ?? 0)
  if (estimate.images !== undefined) total += estimate.images * (price.output_cost_per_image ?? 0)
  return batch && price.batch_discount ? total * (1 - price.batch_discount) : total
}

export interface Enforcer {
  onRequest(ctx: HookContext): void | Promise<void>
  beforeUpstream(ctx: HookContext, call: UpstreamCall): Promise<undefined>
  afterUpstream(ctx: HookContext, outcome: UpstreamOutcome): Promise<void>
  onFinish(ctx: HookContext): Promise<void>
}

export function createEnforcer(options: EnforcerOptions): Enforcer {
  const { atomic, prices, log } = options
  const now = options.now ?? Date.now
  let lastStoreWarning = 0
  const warnedUnpriced = new Set<string>()

  /** Runs a counter operation; an unreachable store fails the request (fail_closed) or lets it through unchecked (fail_open). */
  async function guarded<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run()
    } catch (error) {
      const at = now()
      if (at - lastStoreWarning > 10_000) {
        lastStoreWarning = at
        log.error(`governance: the counter store failed (${what}); policy ${options.failurePolicy}`, { error: String((error as Error)?.message ?? error) })
      }
      if (options.failurePolicy === 'fail_open') return undefined
      throw new GatewayError({ status: 503, code: 'overloaded', type: 'governance_unavailable', message: 'budgets and rate limits cannot be checked right now (the governance store is unreachable); try again shortly', retryable: true, headers: { 'retry-after': '1' } })
    }
  }

  function refuseTarget(key: CompiledKey, provider: string, model: string): GatewayError {
    const name = key.entity.name
    for (let current: CompiledKey | undefined = key; current; current = current.parent) {
      if (!current.providers.has(provider) && !current.allowAll) return denied(403, 'permission', 'provider_not_allowed', `provider "${provider}" is not allowed for virtual key "${name}"`)
    }
    return denied(403, 'permission', 'model_not_allowed', `model "${model}" of provider "${provider}" is not allowed for virtual key "${name}"`)
  }

  /** The providers of `key` that may serve a bare `model`, best match first. */
  function candidatesFor(key: CompiledKey, model: string): CompiledProvider[] {
    const loaded = options.providers()
    const usable = [...key.providers.values()].filter((config) => loaded.has(config.entity.provider) && allows(key, config.entity.provider, model))
    const named = usable.filter((config) => config.models.has(model))
    if (named.length > 0) return named
    const wildcard = usable.filter((config) => config.allModels)
    // `*` providers serve the models they are known for: priced for them, or named by their keys.
    const known = wildcard.filter((config) => prices.knows(config.entity.provider, model) || options.keyModels(config.entity.provider).has(model))
    if (known.length > 0) return known
    return wildcard.length === 1 ? wildcard : []
  }

  /** `ctx.route` for a bare model the key routes itself (a weighted mix of its providers), or undefined. */
  function routeFor(key: CompiledKey, requested: string): RouteOverride | undefined {
    const slash = requested.indexOf('/')
    if (slash > 0 && options.providers().has(requested.slice(0, slash))) {
      const provider = requested.slice(0, slash)
      const model = requested.slice(slash + 1)
      if (!allows(key, provider, model)) throw refuseTarget(key, provider, model)
      return undefined
    }
    const candidates = candidatesFor(key, requested)
    if (candidates.length === 0) {
      if (key.allowAll) return undefined
      const hint = [...key.providers.values()].filter((config) => config.allModels).length > 1 ? ' (several of its providers allow every model: name one, as "provider/model")' : ''
      throw denied(403, 'permission', 'model_not_allowed', `model "${requested}" is not allowed for virtual key "${key.entity.name}"${hint}`)
    }
    const weighted = candidates.filter((config) => config.weight !== null && config.weight > 0)
    const targets = (weighted.length > 0 ? weighted : candidates).map((config) => ({ provider: config.entity.provider, model: requested, weight: weighted.length > 0 ? (config.weight as number) : 1 }))
    const fallbacks = key.entity.fallbacks ?? (candidates.length > 1 ? [...candidates].sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0)).map((config) => `${config.entity.provider}/${requested}`) : undefined)
    return fallbacks ? { targets, fallbacks } : { targets }
  }

  /** Drops targets whose provider-config budget or rate limit is used up (unless that drops them all). */
  async function withoutExhausted(key: CompiledKey, route: RouteOverride): Promise<RouteOverride> {
    if (route.targets.length < 2) return route
    const limited = route.targets.map((target) => ({ target, limits: providerLimits(key, target.provider) }))
    if (!limited.some((entry) => entry.limits.length > 0)) return route
    const at = now()
    const keys = limited.flatMap((entry) => entry.limits.map((limit) => counterKey(limit, windowOf(limit, at))))
    const values = await guarded('read provider limits', () => atomic.get(keys))
    if (!values) return route
    let index = 0
    const open = limited.filter((entry) => {
      let exhausted = false
      for (const limit of entry.limits) if (values[index++]!.value >= limit.max) exhausted = true
      return !exhausted
    })
    if (open.length === 0 || open.length === limited.length) return route
    return { ...route, targets: open.map((entry) => entry.target) }
  }

  function refusal(held: Held, value: number, at: number): GatewayError {
    const { limit } = held
    const owner = `${OWNER_NAMES[limit.scope]} "${limit.ownerId}"`
    const resetMs = Math.max(0, held.windowEnd - at)
    if (limit.kind === 'budget') {
      return denied(402, 'budget_exceeded', 'budget_exceeded', `budget "${limit.id}" of ${owner} is exhausted: ${usd(value)} of ${usd(limit.max)} used in this window (it resets in ${secondsUntil(resetMs)} s), and this request may cost up to ${usd(held.amount)}`)
    }
    const unit = limit.kind
    const remaining = Math.max(0, limit.max - value)
    const headers: Record<string, string> = {
      'retry-after': String(secondsUntil(resetMs)),
      [`x-ratelimit-limit-${unit}`]: String(limit.max),
      [`x-ratelimit-remaining-${unit}`]: String(remaining),
      [`x-ratelimit-reset-${unit}`]: `${secondsUntil(resetMs)}s`,
    }
    const what = unit === 'requests' ? `${limit.max} requests` : `${limit.max} tokens`
    const need = unit === 'tokens' ? ` (${remaining} left, this request may use up to ${held.amount})` : ''
    return denied(429, 'rate_limit', 'rate_limit_exceeded', `rate limit "${limit.id}" of ${owner} reached: ${what} per ${limit.duration.count}${limit.duration.unit}${need}; retry in ${secondsUntil(resetMs)} s`, headers)
  }

  /** `x-ratelimit-*` of the tightest request and token limits, on an admitted request. */
  function rateHeaders(ctx: HookContext, held: Held[], values: number[], at: number): void {
    for (const unit of ['requests', 'tokens'] as const) {
      let best: { held: Held; remaining: number } | undefined
      held.forEach((entry, index) => {
        if (entry.limit.kind !== unit) return
        const remaining = Math.max(0, entry.limit.max - values[index]!)
        if (!best || remaining < best.remaining) best = { held: entry, remaining }
      })
      if (!best) continue
      const chosen: { held: Held; remaining: number } = best
      ctx.responseHeaders.set(`x-ratelimit-limit-${unit}`, String(chosen.held.limit.max))
      ctx.responseHeaders.set(`x-ratelimit-remaining-${unit}`, String(chosen.remaining))
      ctx.responseHeaders.set(`x-ratelimit-reset-${unit}`, `${secondsUntil(chosen.held.windowEnd - at)}s`)
    }
  }

  /** Counter additions for `limits` in the windows of `at`: one request, `tokens`, `nano` (unknown amounts are skipped). */
  function additions(limits: readonly Limit[], at: number, amounts: { requests: number; tokens: number | undefined; nano: number | undefined }): CounterAdd[] {
    const out: CounterAdd[] = []
    for (const limit of limits) {
      const amount = limit.kind === 'budget' ? amounts.nano : limit.kind === 'tokens' ? amounts.tokens : amounts.requests
      if (amount === undefined || amount === 0) continue
      const window = windowOf(limit, at)
      out.push({ key: counterKey(limit, window), amount, expireAt: expiryOf(window) })
    }
    return out
  }

  async function apply(adds: CounterAdd[]): Promise<void> {
    if (adds.length === 0) return
    try {
      await atomic.add(adds)
    } catch (error) {
      log.error('governance: settling a request failed; its usage is not counted', { error: String((error as Error)?.message ?? error) })
    }
  }

  /** Replaces the reservation with what the request used (nothing when it failed). */
  async function settle(ctx: HookContext, state: RequestState, outcome: UpstreamOutcome, nano: number | undefined): Promise<void> {
    const key = state.key!
    const tokens = outcome.ok ? tokensOf(outcome.usage) : undefined
    const reservation = state.reservation
    const adds: CounterAdd[] = []
    if (!reservation) {
      // Nothing was reserved: charge what it used. A model call (the store was down under
      // fail_open) also counts as a request; a call that is not one (a stored response, a file) does not.
      const modelCall = !ctx.forwarded && ctx.operation !== 'files' && ctx.operation !== 'batches'
      if (outcome.ok) adds.push(...additions(pathLimits(key, ctx.provider), now(), { requests: modelCall ? 1 : 0, tokens, nano }))
      return apply(adds)
    }
    const moved = ctx.provider !== reservation.provider
    for (const held of reservation.held) {
      if (held.limit.kind === 'requests') continue
      const measured = held.limit.kind === 'budget' ? nano : tokens
      let used: number
      if (!outcome.ok || (moved && held.limit.scope === 'provider_config')) used = 0
      else if (measured === undefined) used = held.amount // unknown: the reservation stands as the charge
      else if (outcome.aborted) used = Math.max(measured, held.amount)
      else used = measured
      if (used !== held.amount) adds.push({ key: held.key, amount: used - held.amount, expireAt: held.expireAt })
    }
    // A fallback answered: the provider that did the work is charged, in the windows of the reservation.
    if (moved && outcome.ok && ctx.provider) adds.push(...additions(providerLimits(key, ctx.provider), reservation.at, { requests: 1, tokens, nano }))
    return apply(adds)
  }

  return {
    async onRequest(ctx) {
      const found = readVirtualKey(ctx.headers)
      if (!found) {
        if (options.requireKey) throw denied(401, 'authentication', 'virtual_key_required', 'a virtual key is required: send it in the x-bf-vk header, or as the API key (Authorization: Bearer sk-bf-..., x-api-key, x-goog-api-key)')
        return
      }
      const key = options.snapshot().byValue.get(found.value)
      if (!key) throw denied(401, 'authentication', 'invalid_api_key', 'virtual key not found')
      if (key.problem) throw denied(401, 'authentication', 'virtual_key_inactive', `virtual key "${key.entity.name}" cannot be used: ${key.problem}`)
      if (key.expiresAt !== undefined && now() >= key.expiresAt) throw denied(401, 'authentication', 'virtual_key_expired', `virtual key "${key.entity.name}" has expired`)
      ctx.state.set(VIRTUAL_KEY_STATE, key.state)
      if (key.team) ctx.state.set(TEAM_STATE, { id: key.team.id, name: key.team.name })
      if (key.customer) ctx.state.set(CUSTOMER_STATE, { id: key.customer.id, name: key.customer.name })
      if (found.header !== 'x-bf-vk' && options.allowDirectKeys) {
        // The caller's credential header holds the virtual key: it must not reach a provider as a direct key.
        try {
          ctx.headers.delete(found.header)
        } catch {
          throw denied(400, 'invalid_request', 'invalid_request_error', 'with direct keys allowed, send the virtual key in the x-bf-vk header')
        }
      }
      const submit = ctx.headers.get('x-bf-async')?.trim().toLowerCase()
      const async = options.asyncInference && (submit === 'true' || submit === '1' || ctx.headers.has('x-bf-async-id'))
      const state: RequestState = { key, async, images: undefined, reservation: undefined, settled: false }
      ctx.state.set(REQUEST_STATE, state)
      if (ctx.forwarded) {
        // Not a model call (a stored response, a token count): the target is the caller's; check it.
        if (ctx.provider && ctx.model && !allows(key, ctx.provider, ctx.model)) throw refuseTarget(key, ctx.provider, ctx.model)
        return
      }
      if (!ctx.requestedModel || ctx.route) return
      const route = routeFor(key, ctx.requestedModel)
      if (route) ctx.route = async ? route : await withoutExhausted(key, route)
    },

    async beforeUpstream(ctx, call) {
      const state = ctx.state.get(REQUEST_STATE) as RequestState | undefined
      const images = imagesOf(call.operation, call.body)
      if (!state) {
        // No virtual key: remember only what the cost needs (images asked for).
        if (images !== undefined) ctx.state.set(REQUEST_STATE, { key: undefined, async: false, images, reservation: undefined, settled: true } satisfies RequestState)
        return undefined
      }
      state.images = images
      const key = state.key
      if (!key || !ctx.provider || ctx.model === undefined) return undefined
      // The final word on the target, whoever chose it (a routing rule may have moved the request).
      if (!allows(key, ctx.provider, ctx.model)) throw refuseTarget(key, ctx.provider, ctx.model)
      if (state.async) return undefined
      const limits = pathLimits(key, ctx.provider)
      if (limits.length === 0) return undefined
      const estimate = estimateRequest(call.operation, call.body, options.estimatedOutputTokens)
      let nano: number | undefined
      if (limits.some((limit) => limit.kind === 'budget')) {
        const price = prices.lookup(ctx.provider, ctx.model)
        if (price) nano = toNano(estimatedCost(price, estimate, ctx.state.get(BATCH_STATE) === true))
        else if (options.unpriced === 'reject') {
          throw denied(403, 'permission', 'model_unpriced', `model "${ctx.model}" of provider "${ctx.provider}" has no price, so the budgets of virtual key "${key.entity.name}" cannot be enforced for it; add it to governance.pricing`)
        }
      }
      const at = now()
      const held: Held[] = []
      for (const limit of limits) {
        const amount = limit.kind === 'budget' ? nano : limit.kind === 'requests' ? 1 : estimate.inputTokens + estimate.outputTokens
        if (amount === undefined) continue
        const window = windowOf(limit, at)
        held.push({ limit, key: counterKey(limit, window), amount, expireAt: expiryOf(window), windowEnd: window.end })
      }
      if (held.length === 0) return undefined
      const result = await guarded('reserve', () => atomic.reserve(held.map((entry) => ({ key: entry.key, amount: entry.amount, limit: entry.limit.max, expireAt: entry.expireAt }))))
      if (!result) return undefined
      if (!result.ok) throw refusal(held[result.index]!, result.value, at)
      state.reservation = { provider: ctx.provider, at, held }
      rateHeaders(ctx, held, result.values, at)
      return undefined
    },

    async afterUpstream(ctx, outcome) {
      const state = ctx.state.get(REQUEST_STATE) as RequestState | undefined
      // The cost is set before anything is awaited: plugins later in the order, and onFinish, read it.
      let nano: number | undefined
      if (outcome.ok && ctx.provider && ctx.model !== undefined) {
        const price = prices.lookup(ctx.provider, ctx.model)
        const cost = price ? costOf(price, outcome.usage, { images: state?.images, batch: ctx.state.get(BATCH_STATE) === true }) : undefined
        ctx.state.set(COST_STATE, { usd: cost, priced: price !== undefined } satisfies CostState)
        if (cost !== undefined) nano = toNano(cost)
        if (!price) {
          const name = `${ctx.provider}/${ctx.model}`
          if (!warnedUnpriced.has(name) && warnedUnpriced.size < 1_000) {
            warnedUnpriced.add(name)
            log.warn('governance: a model has no price; its requests are recorded as unpriced (not as $0). Add it to governance.pricing', { model: name })
          }
        }
      }
      // An async submit or poll normally never gets here (the async plugin answers it); one that
      // did reach the provider is charged what it used, like any call that reserved nothing.
      if (!state?.key || state.settled) return
      state.settled = true
      await settle(ctx, state, outcome, nano)
    },

    async onFinish(ctx) {
      const state = ctx.state.get(REQUEST_STATE) as RequestState | undefined
      // Answered without an upstream outcome (a plugin's ready response): give the reservation back.
      if (!state?.key || state.settled || !state.reservation) return
      state.settled = true
      await settle(ctx, state, { ok: false, error: new GatewayError({ status: 499, code: 'client_closed', message: 'answered without an upstream call' }) }, undefined)
    },
  }
}
