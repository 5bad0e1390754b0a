import { GatewayError } from '../errors.js'
import type { Logger } from '../log.js'
import type { RouteOverride } from '../plugin.js'
import { isTargetFault, resolveModel, type RegisteredProvider, type Route } from '../router.js'

/** Most entries a request's `fallbacks` field may list (each can cost a full upstream call). */
export const MAX_REQUEST_FALLBACKS = 10

/**
 * The request-level `fallbacks` field (`["anthropic/claude-...", "openai/gpt-4o"]`, as Bifrost
 * documents it) checked: an array of at most {@link MAX_REQUEST_FALLBACKS} `provider/model`
 * strings (a bare model name is refused: it would only mean the default provider again);
 * `null` counts as none. Throws a 400 (`param: "fallbacks"` or `"fallbacks[i]"`) otherwise.
 */
export function parseFallbacksField(value: unknown): string[] {
  if (value === null) return []
  if (!Array.isArray(value)) throw GatewayError.badRequest('fallbacks must be an array of "<provider>/<model>" strings', 'fallbacks')
  value.forEach((entry, index) => {
    if (typeof entry !== 'string' || entry.indexOf('/') < 1 || entry.endsWith('/')) {
      throw GatewayError.badRequest(`fallbacks[${index}] must be a "<provider>/<model>" string, got ${JSON.stringify(entry)}`, `fallbacks[${index}]`)
    }
  })
  if (value.length > MAX_REQUEST_FALLBACKS) throw GatewayError.badRequest(`fallbacks lists ${value.length} targets; at most ${MAX_REQUEST_FALLBACKS} are allowed`, 'fallbacks')
  return value as string[]
}

/**
 * The target a route override picks: one of `targets` at random by weight (default 1).
 * A target naming no loaded provider is a gateway configuration error: 500.
 */
export function pickRouteTarget(route: RouteOverride, providers: ReadonlyMap<string, RegisteredProvider>, random: () => number = Math.random): Route {
  const targets = route.targets
  if (!Array.isArray(targets) || targets.length === 0) throw routingFault('a route override has no targets')
  let chosen = targets[0]!
  if (targets.length > 1) {
    let total = 0
    for (const target of targets) total += Math.max(0, target.weight ?? 1)
    let pick = random() * total
    for (const target of targets) {
      pick -= Math.max(0, target.weight ?? 1)
      if (pick < 0) {
        chosen = target
        break
      }
    }
  }
  const provider = providers.get(chosen.provider)
  if (!provider) throw routingFault(`a route override names provider "${chosen.provider}", which is not loaded`)
  if (typeof chosen.model !== 'string' || chosen.model.length === 0) throw routingFault(`a route override to "${chosen.provider}" names no model`)
  return { provider, model: chosen.model }
}

const routingFault = (message: string) => new GatewayError({ status: 500, code: 'internal', message, retryable: false })

/**
 * The targets to try after the primary, in order: the request's `fallbacks` (already resolved:
 * a bad one was the caller's 400 before anything was sent), then the route override's, then
 * the primary provider's configured `fallbacks`, each `provider/model` once and never the
 * primary again. Undefined when there is none. Built only once the primary failed. An override
 * or config entry that does not resolve is logged and skipped.
 */
export function fallbackChain(options: {
  primary: Route
  requested: readonly Route[] | undefined
  override: readonly string[] | undefined
  providers: ReadonlyMap<string, RegisteredProvider>
  defaultProvider: string
  log: Logger
}): Route[] | undefined {
  const { primary, requested, override, providers, defaultProvider, log } = options
  const configured = primary.provider.fallbacks
  if (!requested?.length && !override?.length && configured.length === 0) return undefined
  const chain: Route[] = []
  const seen = new Set([`${primary.provider.id}/${primary.model}`])
  const add = (route: Route) => {
    const name = `${route.provider.id}/${route.model}`
    if (seen.has(name)) return
    seen.add(name)
    chain.push(route)
  }
  for (const route of requested ?? []) add(route)
  for (const name of [...(override ?? []), ...configured]) {
    try {
      add(resolveModel(name, providers, defaultProvider, 'fallbacks'))
    } catch {
      log.warn('fallback target skipped: no such provider', { target: name })
    }
  }
  return chain.length > 0 ? chain : undefined
}

/**
 * Whether a failure moves on to the next fallback: any failure (connection, timeout, 429,
 * 401/403, 404, 5xx, a full queue) except the caller's own errors (400, 413, 422, unless the
 * target itself cannot serve the request) and the caller leaving (499).
 */
export function canFallBack(error: GatewayError): boolean {
  if (error.status === 499) return false
  if (error.status === 400 || error.status === 413 || error.status === 422) return isTargetFault(error)
  return true
}
