import { definePlugin, GatewayError, type HookContext } from '@switchyard/core'

/**
 * A stand-in for an authenticating, accounting plugin (governance), loaded by file path from the
 * config so that it runs under every runtime: it refuses a request carrying `x-probe-deny` in
 * `onRequest` (403, as an authorization check would), stamps `x-probe: admitted` on the others,
 * and records what every hook saw. `GET /test-probe/events` returns the records.
 */

/** The request header that makes the probe refuse the request. */
export const PROBE_DENY = 'x-probe-deny'
/** Path of this file, for `plugins[].name`. */
export const PROBE_PLUGIN = new URL('./probe-plugin.ts', import.meta.url).pathname

/** What one hook saw (JSON: absent values are null). */
export interface ProbeEvent {
  hook: 'onRequest' | 'afterUpstream' | 'onFinish'
  requestId: string
  surface: string
  forwarded: { method: string; path: string } | null
  provider: string | null
  model: string | null
  /** `ctx.body.model` and `ctx.body.metadata`: what the hooks see of the caller's body. */
  bodyModel: string | null
  bodyMetadata: unknown
  /** afterUpstream: the outcome. */
  ok?: boolean
  /** afterUpstream and onFinish: the status. */
  status?: number
  usage?: unknown
  /** onFinish: the error code, whether the caller left, the attempts made. */
  error?: string | null
  aborted?: boolean
  attempts?: number
}

function seen(hook: ProbeEvent['hook'], ctx: HookContext): ProbeEvent {
  return {
    hook,
    requestId: ctx.id,
    surface: ctx.surface,
    forwarded: ctx.forwarded ? { method: ctx.forwarded.method, path: ctx.forwarded.path } : null,
    provider: ctx.provider ?? null,
    model: ctx.model ?? null,
    bodyModel: typeof ctx.body?.model === 'string' ? ctx.body.model : null,
    bodyMetadata: ctx.body?.metadata ?? null,
  }
}

export default function createProbe() {
  const events: ProbeEvent[] = []
  return definePlugin({
    name: 'test-probe',
    routes(app) {
      app.get('/test-probe/events', (c) => c.json(events))
    },
    hooks: {
      onRequest(ctx) {
        events.push(seen('onRequest', ctx))
        if (ctx.headers.has(PROBE_DENY)) throw new GatewayError({ status: 403, code: 'permission', message: 'probe: this caller may not use this route', retryable: false })
        ctx.responseHeaders.set('x-probe', 'admitted')
      },
      afterUpstream(ctx, outcome) {
        events.push({ ...seen('afterUpstream', ctx), ok: outcome.ok, status: outcome.ok ? outcome.status : outcome.error.status, usage: outcome.ok ? (outcome.usage ?? null) : null })
      },
      onFinish(ctx, summary) {
        events.push({ ...seen('onFinish', ctx), status: summary.status, usage: summary.usage ?? null, error: summary.error?.code ?? null, aborted: summary.aborted, attempts: summary.attempts })
      },
    },
  })
}

/** The events of one request (by its `x-request-id`), once its `onFinish` ran (it runs after the response). */
export async function probeEvents(gatewayUrl: string, requestId: string | null | undefined): Promise<ProbeEvent[]> {
  if (!requestId) throw new Error('the response carries no x-request-id')
  for (let tries = 0; tries < 100; tries++) {
    const events = ((await (await fetch(`${gatewayUrl}/test-probe/events`)).json()) as ProbeEvent[]).filter((event) => event.requestId === requestId)
    if (events.some((event) => event.hook === 'onFinish')) return events
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no onFinish recorded for ${requestId}`)
}
