import { definePlugin, type PluginSetupContext } from '@switchyard/core'
import { createMetrics, type GatewayMetrics } from './metrics.js'
import { resolveOptions } from './options.js'

export type { MetricsOptions, ResolvedMetricsOptions } from './options.js'
export { resolveOptions, DEFAULT_DURATION_BUCKETS, DEFAULT_TTFT_BUCKETS } from './options.js'
export type { GatewayMetrics } from './metrics.js'
export { createMetrics, COST_STATE } from './metrics.js'
export { toLabelName, headerLabelsOf, knownModelsOf, OTHER, NONE, MAX_HEADER_VALUE } from './labels.js'

/** Compares without stopping at the first difference, so response times do not leak the token. */
function sameToken(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length
  for (let i = 0; i < expected.length; i++) difference |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i)
  return difference === 0
}

/**
 * Prometheus metrics for Switchyard: `GET /metrics` in the text exposition format, from a
 * registry of its own (two gateways in one process never share series).
 *
 * ```json
 * { "plugins": [{ "name": "@switchyard/plugin-metrics", "config": { "token": "env.METRICS_TOKEN" } }] }
 * ```
 *
 * Per request it does a handful of counter and histogram updates in `onFinish`, after the
 * response is out; nothing runs per stream event and nothing is awaited. The per-provider
 * gauges (in flight, queue depth, keys cooling) are read from the router when scraped.
 */
export function createMetricsPlugin(input?: unknown) {
  const options = resolveOptions(input)
  let metrics: GatewayMetrics | undefined
  /** `routes` and `setup` both get the gateway's config; whichever runs first builds the metrics. */
  const init = (context: PluginSetupContext) => (metrics ??= createMetrics(context.config, context, options))

  return definePlugin({
    name: '@switchyard/plugin-metrics',
    setup(context) {
      init(context)
    },
    routes(app, context) {
      const { registry } = init(context)
      app.get(options.path, async (c) => {
        if (options.token !== undefined) {
          const header = c.req.header('authorization') ?? ''
          const given = header.slice(0, 7).toLowerCase() === 'bearer ' ? header.slice(7).trim() : ''
          if (!sameToken(given, options.token)) {
            return c.text('unauthorized: send the metrics token as "Authorization: Bearer <token>"\n', 401, { 'www-authenticate': 'Bearer realm="metrics"' })
          }
        }
        return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
      })
    },
    hooks: {
      // After the last byte went out; counters only, never awaited, never per stream event.
      onFinish(ctx, summary) {
        metrics?.record(ctx, summary)
      },
    },
    /** This gateway's registry, for tests and for embedding the metrics elsewhere. */
    registry() {
      return metrics?.registry
    },
  })
}

export default createMetricsPlugin
