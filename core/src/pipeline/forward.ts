import type { Context } from 'hono'
import { GatewayError, toGatewayError } from '../errors.js'
import type { Operation } from '../provider.js'
import type { RequestContext } from '../plugin.js'
import { clientClosed, sendUpstream, type RegisteredProvider } from '../router.js'
import type { ForwardCall } from '../surface-host.js'
import { answerHeaders, type CallState } from './accounting.js'
import { guardUpstream } from './guard.js'
import { directKeyOf } from './headers.js'

/** What `forward` needs from its host. */
export interface ForwardDeps {
  providers: ReadonlyMap<string, RegisteredProvider>
  dialect: string
  defaultProvider: string
  allowDirectKeys: boolean
  fetch: typeof fetch
  pickHeaders(headers: Headers): Record<string, string> | undefined
  createContext(c: Context, call: { operation: Operation; model: string; stream: boolean }): RequestContext
  renderError(ctx: RequestContext, error: GatewayError): Response
}

/** Forwards a non-model request (GET /responses/{id} ...) to a same-dialect provider, answer relayed as is. */
export async function runForward(deps: ForwardDeps, c: Context, call: ForwardCall): Promise<Response> {
  const ctx = deps.createContext(c, { operation: 'chat', model: '', stream: false })
  const state: CallState = { attempts: 0, retries: 0, fallbackIndex: 0 }
  const signal = c.req.raw.signal
  try {
    const id = call.provider ?? deps.defaultProvider
    const provider = deps.providers.get(id)
    if (!provider) throw GatewayError.badRequest(`unknown provider "${id}"`)
    const upstream = provider.definition.upstream
    if (provider.definition.dialect !== deps.dialect || !upstream?.passthrough) {
      throw GatewayError.badRequest(`[${id}] provider does not serve ${call.method} ${call.path}`)
    }
    ctx.provider = id
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
    const contentType = sent.response.headers.get('content-type') ?? 'application/json'
    const relayed = sent.response.body ? guardUpstream(sent, { provider: id, idleMs: 0, signal }) : (sent.settle(), null)
    return new Response(relayed, { status: sent.response.status, headers: answerHeaders(ctx, state, contentType) })
  } catch (caught) {
    return deps.renderError(ctx, signal.aborted ? clientClosed(ctx.provider, caught) : toGatewayError(caught, ctx.provider))
  }
}
