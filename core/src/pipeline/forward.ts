import type { Context } from 'hono'
import { GatewayError, toGatewayError } from '../errors.js'
import type { HookRunner } from '../hooks.js'
import type { Usage } from '../ir/usage.js'
import type { RequestContext } from '../plugin.js'
import { clientClosed, sendUpstream, type RegisteredProvider } from '../router.js'
import type { ContextCall, ForwardCall } from '../surface-host.js'
import { answerHeaders, type Accounting, type CallState } from './accounting.js'
import { guardUpstream } from './guard.js'
import { directKeyOf } from './headers.js'

/** What `forward` needs from its host. */
export interface ForwardDeps {
  providers: ReadonlyMap<string, RegisteredProvider>
  dialect: string
  defaultProvider: string
  allowDirectKeys: boolean
  fetch: typeof fetch
  hooks: HookRunner
  accounting: Accounting
  pickHeaders(headers: Headers): Record<string, string> | undefined
  createContext(c: Context, call: ContextCall): RequestContext
  renderError(ctx: RequestContext, error: GatewayError, state?: CallState): Response
}

const decoder = new TextDecoder()

/**
 * The hooks of a call that is not a model call (`forward`, a token count): `onRequest` before
 * anything is checked or sent, so that authentication and governance apply to every route of a
 * surface. Costs nothing when no plugin has the hook.
 */
export async function admitCall(hooks: HookRunner, ctx: RequestContext): Promise<void> {
  if (hooks.has.onRequest) await hooks.onRequest(ctx)
}

/** `afterUpstream` and `onFinish` of a call that failed or was refused, and its error in the caller's dialect. */
export function refuseCall(deps: Pick<ForwardDeps, 'accounting' | 'renderError'>, c: Context, ctx: RequestContext, state: CallState, caught: unknown): Response {
  const signal = c.req.raw.signal
  const error = signal.aborted ? clientClosed(ctx.provider, caught) : toGatewayError(caught, ctx.provider)
  deps.accounting.afterUpstream(ctx, { ok: false, error })
  deps.accounting.finish(ctx, state, { status: error.status, usage: undefined, error, firstByteMs: undefined, aborted: signal.aborted })
  return deps.renderError(ctx, error, state)
}

/**
 * Forwards a non-model request (GET /responses/{id}, count_tokens ...) to a same-dialect
 * provider, the answer relayed as is. Plugins see it with `ctx.forwarded` set: `onRequest` may
 * refuse it (nothing is sent), `afterUpstream` and `onFinish` get its status, and usage when the
 * surface says how to read what the call consumed (`ForwardCall.usageFrom`).
 */
export async function runForward(deps: ForwardDeps, c: Context, call: ForwardCall): Promise<Response> {
  const ctx = deps.createContext(c, { operation: 'chat', model: call.model ?? '', stream: false, forwarded: { method: call.method, path: call.path } })
  const state: CallState = { attempts: 0, retries: 0, fallbackIndex: 0 }
  const signal = c.req.raw.signal
  const id = call.provider ?? deps.defaultProvider
  const provider = deps.providers.get(id)
  // The target is the caller's choice, not a routing decision: hooks see it from `onRequest` on.
  if (provider) {
    ctx.provider = id
    if (call.model) ctx.model = call.model
  }
  try {
    await admitCall(deps.hooks, ctx)
    if (!provider) throw GatewayError.badRequest(`unknown provider "${id}"`)
    const upstream = provider.definition.upstream
    if (provider.definition.dialect !== deps.dialect || !upstream?.passthrough) {
      throw GatewayError.badRequest(`[${id}] provider does not serve ${call.method} ${call.path}`)
    }
    const directKey = deps.allowDirectKeys ? directKeyOf(c.req.raw.headers) : undefined
    const sent = await sendUpstream({
      route: { provider, model: call.model ?? '' },
      directKey,
      signal,
      fetch: deps.fetch,
      tally: state,
      build(context) {
        const target = upstream.passthrough!(call.path, context)
        // Allow-listed caller headers apply here as on model calls (a project header scopes stored objects).
        const headers = { ...deps.pickHeaders(c.req.raw.headers), ...target.headers, ...call.headers }
        if (call.contentType) headers['content-type'] = call.contentType
        else delete headers['content-type']
        return { url: target.url, method: call.method, headers, body: call.body }
      },
    })
    const status = sent.response.status
    const contentType = sent.response.headers.get('content-type') ?? 'application/json'
    const headers = answerHeaders(ctx, state, contentType)
    if (call.usageFrom && (deps.hooks.has.afterUpstream || deps.hooks.has.onFinish)) {
      // The usage is in the whole answer: read it (the request timeout covers the read), then send it.
      let bytes: Uint8Array<ArrayBuffer>
      try {
        bytes = new Uint8Array(await sent.response.arrayBuffer())
      } catch (caught) {
        throw sent.failed(caught)
      } finally {
        sent.settle()
      }
      const usage = status < 300 ? call.usageFrom(decoder.decode(bytes)) : undefined
      deps.accounting.afterUpstream(ctx, { ok: true, status, usage })
      deps.accounting.finish(ctx, state, { status, usage, error: undefined, firstByteMs: undefined, aborted: false })
      return new Response(bytes, { status, headers })
    }
    if (!sent.response.body) {
      sent.settle()
      deps.accounting.afterUpstream(ctx, { ok: true, status, usage: undefined })
      deps.accounting.finish(ctx, state, { status, usage: undefined, error: undefined, firstByteMs: undefined, aborted: false })
      return new Response(null, { status, headers })
    }
    let failure: GatewayError | undefined
    const relayed = guardUpstream(sent, { provider: id, idleMs: 0, signal, onError: (error) => (failure = error) })
    const body = deps.accounting.observe(ctx, state, relayed, { status, usage: () => undefined, error: () => failure })
    return new Response(body, { status, headers })
  } catch (caught) {
    return refuseCall(deps, c, ctx, state, caught)
  }
}
