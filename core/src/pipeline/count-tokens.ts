import type { Context } from 'hono'
import { GatewayError } from '../errors.js'
import { resolveModel, sendUpstream, type RegisteredProvider, type Route } from '../router.js'
import type { CountTokensCall } from '../surface-host.js'
import { answerHeaders, type CallState } from './accounting.js'
import { admitCall, refuseCall, type ForwardDeps } from './forward.js'
import { directKeyOf } from './headers.js'

/** What `countTokens` needs from its host: what `forward` needs, less the dialect check. */
export type CountTokensDeps = Omit<ForwardDeps, 'dialect'> & { providers: ReadonlyMap<string, RegisteredProvider> }

/**
 * A token count asked of a provider of another dialect: the caller's request as IR, encoded by the
 * target's `upstream.countTokens` codec and sent once (key choice, retries and timeout as for any
 * call), the count rendered in the caller's dialect. A target without that codec is a 400 naming
 * it, and nothing is sent. Plugins see it like a forwarded call (`ctx.forwarded`): `onRequest` may
 * refuse it, `afterUpstream` and `onFinish` get its status (no usage: nothing was generated).
 */
export async function runCountTokens(deps: CountTokensDeps, c: Context, call: CountTokensCall): Promise<Response> {
  const ctx = deps.createContext(c, { operation: 'chat', model: call.model, stream: false, forwarded: { method: 'POST', path: call.path } })
  const state: CallState = { attempts: 0, retries: 0, fallbackIndex: 0 }
  let route: Route | undefined
  let unrouted: unknown
  try {
    route = resolveModel(call.model, deps.providers, deps.defaultProvider)
    ctx.provider = route.provider.id
    ctx.model = route.model
  } catch (error) {
    // Said only once `onRequest` admitted the caller.
    unrouted = error
  }
  try {
    await admitCall(deps.hooks, ctx)
    if (!route) throw unrouted
    const id = route.provider.id
    const codec = route.provider.definition.upstream?.countTokens
    if (!codec) throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'model', message: `[${id}] provider has no token counting endpoint`, provider: id, retryable: false })
    const request = call.toIR(route.model)
    const sent = await sendUpstream({
      route,
      directKey: deps.allowDirectKeys ? directKeyOf(c.req.raw.headers) : undefined,
      signal: c.req.raw.signal,
      fetch: deps.fetch,
      tally: state,
      build(context) {
        const built = codec.request(request, context)
        // A retry builds afresh: the warnings are those of the last build.
        ctx.warnings.length = 0
        if (built.warnings) ctx.warnings.push(...built.warnings)
        const forwarded = deps.pickHeaders(c.req.raw.headers)
        return forwarded ? { ...built, headers: { ...forwarded, ...built.headers } } : built
      },
    })
    let json: unknown
    try {
      json = await sent.response.json()
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw sent.failed(error)
      throw new GatewayError({ status: 502, code: 'upstream', message: `[${id}] upstream returned invalid JSON`, provider: id, cause: error })
    } finally {
      sent.settle()
    }
    const count = codec.response(json, sent.context)
    const rendered = call.render(count, { requestedModel: call.model, provider: id, model: route.model, requestId: ctx.id, warnings: ctx.warnings })
    deps.accounting.afterUpstream(ctx, { ok: true, status: 200, usage: undefined })
    deps.accounting.finish(ctx, state, { status: 200, usage: undefined, error: undefined, firstByteMs: undefined, aborted: false })
    return new Response(JSON.stringify(rendered), { status: 200, headers: answerHeaders(ctx, state, 'application/json') })
  } catch (caught) {
    return refuseCall(deps, c, ctx, state, caught)
  }
}
