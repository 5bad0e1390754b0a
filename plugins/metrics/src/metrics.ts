import type { Config, FinishSummary, HookContext, PluginSetupContext, ProviderStats } from '@switchyard/core'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { createCappedLabel, createModelLabel, headerLabelsOf, headerLabelValues, knownModelsOf, NONE, OTHER, type HeaderLabel } from './labels.js'
import type { ResolvedMetricsOptions } from './options.js'

/** `ctx.state` key under which the governance plugin leaves `{ usd, priced }` of a request. */
export const COST_STATE = 'switchyard:cost'

/** Error codes of the gateway (`GatewayError.code`); anything else is counted as `other`. */
const ERROR_CODES: ReadonlySet<string> = new Set([
  'invalid_request', 'authentication', 'permission', 'not_found', 'payload_too_large', 'rate_limit', 'budget_exceeded',
  'timeout', 'upstream', 'overloaded', 'internal', 'client_closed',
])
/** Distinct error `type` values kept before new ones count as `other` (they come from upstreams). */
const MAX_ERROR_TYPES = 50

/** The metrics of one gateway, in their own registry. */
export interface GatewayMetrics {
  readonly registry: Registry
  /** Records one finished request: a few counter and histogram updates, nothing awaited. */
  record(ctx: HookContext, summary: FinishSummary): void
}

/** How many retries a finished request needed, and whether a fallback answered. */
function routingOf(summary: FinishSummary): { retries: number; fallback: boolean } {
  // Summaries from a core without the routing fields: attempts beyond the first were retries.
  const retries = typeof summary.retries === 'number' ? summary.retries : Math.max(0, summary.attempts - 1)
  return { retries, fallback: typeof summary.fallbackIndex === 'number' && summary.fallbackIndex > 0 }
}

/**
 * Creates the metrics for a gateway `config`. `context` is read on every scrape for the
 * per-provider gauges.
 */
export function createMetrics(config: Config, context: PluginSetupContext, options: ResolvedMetricsOptions): GatewayMetrics {
  const registry = new Registry()
  const headerLabels: HeaderLabel[] = headerLabelsOf(config.client.prometheus_labels ?? [])
  const extra = headerLabels.map((label) => label.name)
  const modelLabel = createModelLabel(knownModelsOf(config, options.models))
  const errorType = createCappedLabel(MAX_ERROR_TYPES)
  const registers = [registry]

  const requests = new Counter({
    name: 'switchyard_requests_total',
    help: 'Model requests answered, by inbound surface, provider and model they routed to, and HTTP status.',
    labelNames: ['surface', 'provider', 'model', 'status_code', ...extra],
    registers,
  })
  const duration = new Histogram({
    name: 'switchyard_request_duration_seconds',
    help: 'Seconds from the request arriving to the last byte of the answer, retries and fallbacks included.',
    labelNames: ['surface', 'provider', 'model', ...extra],
    buckets: options.durationBuckets,
    registers,
  })
  const firstToken = new Histogram({
    name: 'switchyard_time_to_first_token_seconds',
    help: 'Streams: seconds from the request arriving to the first byte of the stream sent to the caller.',
    labelNames: ['surface', 'provider', 'model', ...extra],
    buckets: options.ttftBuckets,
    registers,
  })
  const tokens = new Counter({
    name: 'switchyard_tokens_total',
    help: 'Tokens by type: input (the whole prompt), output (reasoning included), and the parts cached (read from cache), cache_write and reasoning.',
    labelNames: ['provider', 'model', 'type', ...extra],
    registers,
  })
  const errors = new Counter({
    name: 'switchyard_errors_total',
    help: 'Failed requests, by gateway error code and the error type shown to the caller.',
    labelNames: ['surface', 'provider', 'type', 'code', ...extra],
    registers,
  })
  const retries = new Counter({
    name: 'switchyard_retries_total',
    help: 'Upstream attempts repeated after a retryable failure.',
    labelNames: ['provider'],
    registers,
  })
  const fallbacks = new Counter({
    name: 'switchyard_fallbacks_total',
    help: 'Requests answered by a fallback, by the provider first tried and the one that answered.',
    labelNames: ['from_provider', 'to_provider'],
    registers,
  })

  const cost = new Counter({
    name: 'switchyard_cost_usd_total',
    help: 'What the requests cost in USD (from the governance price table), by provider and model. Requests whose model has no price are not in it: see switchyard_unpriced_requests_total.',
    labelNames: ['provider', 'model', ...extra],
    registers,
  })
  const unpriced = new Counter({
    name: 'switchyard_unpriced_requests_total',
    help: 'Answered requests whose model has no price, so their cost is unknown (never counted as $0), by provider and model.',
    labelNames: ['provider', 'model', ...extra],
    registers,
  })

  // Gauges are read from the router when Prometheus scrapes, never updated per request.
  const perProvider = (name: string, help: string, field: keyof ProviderStats) =>
    new Gauge({
      name,
      help,
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset()
        const providers = context.stats?.().providers ?? {}
        for (const [provider, stats] of Object.entries(providers)) this.set({ provider }, stats[field])
      },
    })
  perProvider('switchyard_provider_in_flight', 'Upstream requests under way, per provider (a stream counts until its last byte).', 'inFlight')
  perProvider('switchyard_provider_queue_depth', 'Requests waiting for a concurrency slot, per provider.', 'queued')
  perProvider('switchyard_provider_keys_cooling', 'Keys cooling down after a 429, 401, 402 or 403, per provider.', 'cooling')

  const add = (labels: Record<string, string>, type: string, count: number | undefined) => {
    if (count !== undefined && count > 0) tokens.inc({ ...labels, type }, count)
  }

  /** Provider ids the gateway serves: the only values `from_provider` may take. */
  let providerIds: Set<string> | undefined
  const knownProvider = (id: string) => {
    providerIds ??= new Set([...Object.keys(config.providers), ...Object.keys(context.stats?.().providers ?? {})])
    return providerIds.has(id)
  }
  /** The provider tried first: the route override's target, else the prefix of the model asked for. */
  const firstProviderOf = (ctx: HookContext): string => {
    const targets = ctx.route?.targets
    if (targets?.length === 1) return targets[0]!.provider
    if (targets === undefined) {
      const slash = ctx.requestedModel.indexOf('/')
      if (slash > 0 && knownProvider(ctx.requestedModel.slice(0, slash))) return ctx.requestedModel.slice(0, slash)
    }
    return OTHER
  }

  return {
    registry,
    record(ctx, summary) {
      const provider = ctx.provider ?? NONE
      const model = modelLabel(ctx.provider, ctx.model)
      const base: Record<string, string> = { surface: ctx.surface, provider, model }
      if (headerLabels.length > 0) headerLabelValues(headerLabels, ctx.headers, base)
      requests.inc({ ...base, status_code: String(summary.status) })
      duration.observe(base, summary.durationMs / 1000)
      if (ctx.stream && summary.firstByteMs !== undefined && summary.status < 400) firstToken.observe(base, summary.firstByteMs / 1000)
      const usage = summary.usage
      if (usage) {
        const labels: Record<string, string> = { provider, model }
        for (const name of extra) labels[name] = base[name]!
        add(labels, 'input', usage.inputTokens)
        add(labels, 'output', usage.outputTokens)
        add(labels, 'cached', usage.cachedInputTokens)
        add(labels, 'cache_write', usage.cacheWriteInputTokens)
        add(labels, 'reasoning', usage.reasoningTokens)
      }
      // The governance plugin leaves the request's cost here (switchyard:cost) after the upstream answered.
      const spent = ctx.state?.get(COST_STATE) as { usd?: unknown; priced?: unknown } | undefined
      if (spent && !summary.error) {
        const labels: Record<string, string> = { provider, model }
        for (const name of extra) labels[name] = base[name]!
        if (spent.priced === false) unpriced.inc(labels)
        else if (typeof spent.usd === 'number' && Number.isFinite(spent.usd) && spent.usd > 0) cost.inc(labels, spent.usd)
      }
      const error = summary.error
      if (error) {
        const labels: Record<string, string> = { surface: ctx.surface, provider, type: errorType(error.type), code: ERROR_CODES.has(error.code) ? error.code : OTHER }
        for (const name of extra) labels[name] = base[name]!
        errors.inc(labels)
      }
      const routing = routingOf(summary)
      if (routing.retries > 0 && ctx.provider) retries.inc({ provider: ctx.provider }, routing.retries)
      if (routing.fallback && ctx.provider) fallbacks.inc({ from_provider: firstProviderOf(ctx), to_provider: ctx.provider })
    },
  }
}
