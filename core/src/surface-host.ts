import type { Context } from 'hono'
import type { Storage } from 'unstorage'
import type { Config } from './config.js'
import { GatewayError, toGatewayError } from './errors.js'
import type { ChatRequest } from './ir/chat.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Usage } from './ir/usage.js'
import type { Warning } from './ir/warning.js'
import type { Logger } from './log.js'
import { codecOf, type Operation, type OperationTypes, type SurfaceDefinition, type TokenCount, type UpstreamContext } from './provider.js'
import type { HookRunner } from './hooks.js'
import type { ForwardedCall, RequestContext } from './plugin.js'
import { clientClosed, isTargetFault, markTargetFault, resolveModel, sendUpstream, type RegisteredProvider, type Route } from './router.js'
import { answerHeaders, createAccounting, extraFields, type CallState } from './pipeline/accounting.js'
import { createBodyReader } from './pipeline/body.js'
import { catchStreamFailures, guardUpstream } from './pipeline/guard.js'
import { directKeyOf, forwardableHeaders } from './pipeline/headers.js'
import { runForward } from './pipeline/forward.js'
import { runCountTokens } from './pipeline/count-tokens.js'
import { runPassthrough } from './pipeline/passthrough.js'
import { eventsFromResponse } from './pipeline/replay.js'
import { canFallBack, fallbackChain, pickRouteTarget } from './pipeline/targets.js'

export { forwardableHeaders } from './pipeline/headers.js'
export { eventsFromResponse } from './pipeline/replay.js'

/** What a renderer knows about the call it renders. */
export interface RenderContext {
  /** Model as the caller wrote it. */
  requestedModel: string
  provider: string
  model: string
  requestId: string
  /**
   * The call's warnings: a non-stream renderer may add what the caller's dialect cannot say
   * (they go out in `x-switchyard-warnings`). Stream headers are sent before rendering starts.
   */
  warnings: Warning[]
}

/** Same-dialect forwarding of the caller's body. */
export interface PassthroughSpec {
  /** Path below the dialect's API root ("/chat/completions"). */
  path: string
  /**
   * The body to send: the caller's, with the model replaced (and stream usage requested when
   * `injectUsage`). Bytes for bodies that are not text (a multipart upload, sent with its own
   * `content-type` in `headers`).
   */
  body(model: string, injectUsage: boolean): string | Uint8Array
  /** The caller asked for usage in the stream itself. */
  wantsStreamUsage: boolean
  /** Usage from a response body (JSON text) or one SSE `data:` payload. */
  usageFrom(data: string): Usage | undefined
  /** True for the usage-only stream chunk the gateway requested and must keep from the caller. */
  isUsageOnly?(data: string): boolean
  /**
   * Combines usage reported by several stream events (Anthropic reports input tokens in
   * `message_start` and output tokens in `message_delta`). Without it the last report wins.
   */
  mergeUsage?(earlier: Usage, later: Usage): Usage
  /**
   * Protocol headers of the caller's request that the same-dialect upstream must see
   * (Anthropic's `anthropic-version`); they override the provider's defaults.
   */
  headers?: Record<string, string>
  /**
   * One complete SSE frame (text, ending in a blank line) that tells the caller in this dialect
   * that the stream failed after it started (the upstream broke off or went silent past the
   * stream idle timeout). Without it a generic `event: error` frame is sent.
   */
  streamError?(error: GatewayError): string
  /**
   * Relay the answer as it arrives, whatever its content type (binary audio), instead of reading a
   * non-stream answer whole. An answer that breaks off then ends the caller's body with an error.
   */
  relay?: boolean
}

/** One model-routed call, described by a surface. */
export interface SurfaceCall<Op extends Operation> {
  operation: Op
  body: Record<string, unknown>
  /** Model as the caller wrote it (may carry a provider prefix). */
  model: string
  stream: boolean
  /** Caller body -> IR, with the target's model name. Throws GatewayError(400) on bad input. */
  toIR(model: string): OperationTypes[Op]['request']
  renderResponse(response: OperationTypes[Op]['response'], context: RenderContext): unknown
  /** IR events -> SSE bytes in this dialect. */
  renderStream?(events: ReadableStream<StreamEvent>, context: RenderContext): ReadableStream<Uint8Array>
  passthrough?: PassthroughSpec
  /** How error messages name this call (`POST /images/generations`); default the operation. */
  label?: string
}

/** Non-model calls forwarded to a same-dialect provider (GET /responses/{id} ...). */
export interface ForwardCall {
  /** Provider id; defaults to the surface's default provider. */
  provider?: string
  /** Model the call concerns, for choosing among keys restricted to some models (default: any key). */
  model?: string
  path: string
  method: string
  body?: string | ReadableStream<Uint8Array>
  contentType?: string
  /** Protocol headers for the upstream (override the provider's defaults), as in `PassthroughSpec.headers`. */
  headers?: Record<string, string>
  /**
   * Usage the call consumed, read from its (2xx) answer, for `afterUpstream` and `onFinish`: only
   * for a call that generates. Leave it out for one that reads a stored object (a stored response
   * reports the usage of the call that made it, which was accounted then). When set and a plugin
   * wants usage, the answer is read whole before it is sent.
   */
  usageFrom?(text: string): Usage | undefined
}

/** A token count asked of a provider of another dialect than the caller's (see `SurfaceHost.countTokens`). */
export interface CountTokensCall {
  /** Model as the caller wrote it (may carry a provider prefix). */
  model: string
  /** The caller's path below the surface's API root (`/models/openai/gpt-4o-mini:countTokens`), for `ctx.forwarded`. */
  path: string
  /** Caller body -> IR chat request, with the target's model name. Throws GatewayError(400) on bad input. */
  toIR(model: string): ChatRequest
  /** The count -> the answer's JSON in this dialect. */
  render(count: TokenCount, context: RenderContext): unknown
}

/** What a request context is made from (`createContext`). */
export interface ContextCall {
  operation: Operation
  model: string
  stream: boolean
  /** The caller's parsed JSON body; default: the one `readJson` read for this request, if any. */
  body?: Record<string, unknown>
  /** For a forwarded call: method and path (`ctx.forwarded`). */
  forwarded?: ForwardedCall
}

/** Where a model name routes, without calling anything. */
export interface ResolvedModel {
  /** Provider id. */
  provider: string
  /** Model name as that provider knows it (prefix removed). */
  model: string
  /** Wire format of the provider (`openai`, `anthropic` ...), when it declares one. */
  dialect: string | undefined
}

/** What a surface's routes use: body reading, routing, the whole hook pipeline. */
export interface SurfaceHost {
  readonly config: Config
  readonly log: Logger
  /** Reads and parses a JSON object body, enforcing the size limit; 400/413 on bad input. */
  readJson(c: Context): Promise<Record<string, unknown>>
  /** The exact text a body returned by `readJson` was parsed from. */
  rawBody(body: Record<string, unknown>): string
  /** Reads a body of any content type (a multipart upload) as bytes, enforcing the size limit; 400/413 on bad input. */
  readBytes(c: Context): Promise<Uint8Array>
  /** Runs a model-routed call through hooks, router and provider. */
  handle<Op extends Operation>(c: Context, call: SurfaceCall<Op>): Promise<Response>
  /** Forwards a non-model request to a same-dialect provider unchanged. */
  forward(c: Context, call: ForwardCall): Promise<Response>
  /**
   * Counts the input tokens of a request at a provider of another dialect, through its
   * `upstream.countTokens` codec (a 400 naming the provider when it has none). A same-dialect
   * target takes `forward` instead, with the caller's body.
   */
  countTokens(c: Context, call: CountTokensCall): Promise<Response>
  /** Models the gateway can serve for this surface, as `provider/model`. */
  listModels(): Array<{ id: string; provider: string }>
  /**
   * Where `model` routes (`provider/model`, or a bare name -> the surface's default provider),
   * for routes that answer differently per target. Throws the same 400 as a model call would.
   */
  resolve(model: string): ResolvedModel
}

export interface HostOptions {
  surface: SurfaceDefinition
  dialect: string
  config: Config
  providers: ReadonlyMap<string, RegisteredProvider>
  hooks: HookRunner
  storage: Storage
  log: Logger
  fetch: typeof fetch
  /** Registers background work (drained on shutdown). */
  waitUntil(promise: Promise<unknown>): void
}

let sequence = 0
const processTag = Math.random().toString(36).slice(2, 8)

/** Cheap unique request id: process tag + time + counter (no crypto on the hot path). */
function nextRequestId(): string {
  sequence = (sequence + 1) % 0x7fffffff
  return `req_${processTag}${Date.now().toString(36)}${sequence.toString(36)}`
}

type Invoke = (request: unknown, context: UpstreamContext) => Promise<unknown>

export function createSurfaceHost(options: HostOptions): SurfaceHost {
  const { surface, dialect, config, providers, hooks, storage, log } = options
  const allowDirectKeys = config.client.allow_direct_keys
  const pickHeaders = forwardableHeaders(config)
  const accounting = createAccounting(hooks)
  const deps = { hooks, accounting, fetch: options.fetch, pickHeaders }

  // Forwarded calls find their body by request: kept only when a hook they run can read it.
  const { readJson, rawBody, fallbacksOf, readBytes, bodyOf } = createBodyReader(config, { bodyByRequest: hooks.has.onRequest || hooks.has.afterUpstream || hooks.has.onFinish })

  function createContext(c: Context, call: ContextCall): RequestContext {
    return {
      id: nextRequestId(),
      surface: dialect,
      operation: call.operation,
      requestedModel: call.model,
      provider: undefined,
      model: undefined,
      stream: call.stream,
      headers: c.req.raw.headers,
      config,
      storage,
      log,
      signal: c.req.raw.signal,
      waitUntil: options.waitUntil,
      state: new Map(),
      warnings: [],
      startedAt: performance.now(),
      route: undefined,
      // The parsed object itself (a model call's, else the one `readJson` read for this request): no copy.
      body: call.body ?? bodyOf(c.req.raw),
      forwarded: call.forwarded,
    }
  }

  function renderError(ctx: RequestContext | undefined, error: GatewayError, state?: CallState): Response {
    const response = surface.renderError(error)
    if (ctx) {
      response.headers.set('x-request-id', ctx.id)
      if (ctx.provider) response.headers.set('x-bf-provider', ctx.provider)
      if (state && state.fallbackIndex > 0) response.headers.set('x-bf-fallback-index', String(state.fallbackIndex))
    }
    if (error.headers) for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value)
    return response
  }

  async function handle<Op extends Operation>(c: Context, call: SurfaceCall<Op>): Promise<Response> {
    const ctx = createContext(c, call)
    const state: CallState = { attempts: 0, retries: 0, fallbackIndex: 0 }
    try {
      if (hooks.has.onRequest) await hooks.onRequest(ctx)
      const primary = ctx.route ? pickRouteTarget(ctx.route, providers) : resolveModel(call.model, providers, surface.defaultProvider)
      ctx.provider = primary.provider.id
      ctx.model = primary.model
      let irRequest: OperationTypes[Op]['request'] | undefined
      const ir = () => (irRequest ??= call.toIR(primary.model))

      if (hooks.has.beforeUpstream) {
        const hit = await hooks.beforeUpstream(ctx, { operation: call.operation, body: call.body, ir })
        if (hit) return 'http' in hit ? answerAsIs(ctx, state, hit.http) : renderIR(ctx, call, state, hit.response as OperationTypes[Op]['response'])
      }

      const directKey = allowDirectKeys ? directKeyOf(c.req.raw.headers) : undefined
      // The caller's own fallbacks are checked before anything is sent (a bad one is its 400).
      const requested = fallbacksOf(call.body)?.map((name) => resolveModel(name, providers, surface.defaultProvider, 'fallbacks'))
      try {
        return await attempt(c, ctx, call, state, primary, ir, directKey)
      } catch (caught) {
        const error = c.req.raw.signal.aborted ? clientClosed(primary.provider.id, caught) : toGatewayError(caught, primary.provider.id)
        if (!canFallBack(error)) throw error
        // Only now, on a failure, is the fallback list built: it costs nothing while the primary answers.
        const chain = fallbackChain({ primary, requested, override: ctx.route?.fallbacks, providers, defaultProvider: surface.defaultProvider, log })
        if (!chain) throw error
        return await fallBack(c, ctx, call, state, primary, chain, error, directKey)
      }
    } catch (caught) {
      const error = c.req.raw.signal.aborted ? clientClosed(ctx.provider, caught) : toGatewayError(caught, ctx.provider)
      if (error.status >= 500 && error.code === 'internal') log.error('request failed', { requestId: ctx.id, error: String((caught as Error)?.stack ?? caught) })
      accounting.afterUpstream(ctx, { ok: false, error })
      accounting.finish(ctx, state, { status: error.status, usage: undefined, error, firstByteMs: undefined, aborted: c.req.raw.signal.aborted })
      return renderError(ctx, error, state)
    }
  }

  /**
   * Tries `chain` (the targets after the primary) in order after the primary failed with `error`.
   * Every target failing: the caller gets the last failure, and the headers name its target.
   */
  async function fallBack<Op extends Operation>(c: Context, ctx: RequestContext, call: SurfaceCall<Op>, state: CallState, primary: Route, chain: readonly Route[], error: GatewayError, directKey: string | undefined): Promise<Response> {
    let failure = error
    let failedAt = 0
    for (let index = 1; index <= chain.length; index++) {
      const target = chain[index - 1]!
      log.warn('falling back', { requestId: ctx.id, failed: `${ctx.provider}/${ctx.model}`, status: failure.status, next: `${target.provider.id}/${target.model}` })
      state.fallbackIndex = index
      ctx.warnings.length = 0
      try {
        // The caller's own key belongs to the provider it asked for, not to another one.
        const key = target.provider === primary.provider ? directKey : undefined
        return await attempt(c, ctx, call, state, target, () => call.toIR(target.model), key)
      } catch (caught) {
        const next = c.req.raw.signal.aborted ? clientClosed(target.provider.id, caught) : toGatewayError(caught, target.provider.id)
        // A target that could not even be tried (no keys ...) does not hide a real upstream failure.
        if (!isTargetFault(next)) {
          failure = next
          failedAt = index
        }
        if (!canFallBack(next)) break
      }
    }
    const failed = failedAt === 0 ? primary : chain[failedAt - 1]!
    ctx.provider = failed.provider.id
    ctx.model = failed.model
    state.fallbackIndex = failedAt
    throw failure
  }

  /** One target: passthrough, in-process invoke, or translation through the IR. Throws before the response starts. */
  async function attempt<Op extends Operation>(c: Context, ctx: RequestContext, call: SurfaceCall<Op>, state: CallState, route: Route, ir: () => OperationTypes[Op]['request'], directKey: string | undefined): Promise<Response> {
    ctx.provider = route.provider.id
    ctx.model = route.model
    const definition = route.provider.definition
    if (call.passthrough && definition.dialect === dialect && definition.upstream?.passthrough && !definition.invoke?.[call.operation] && (definition.upstream.passthroughOperations?.includes(call.operation) ?? true)) {
      return await runPassthrough(deps, c, ctx, call, call.passthrough, route, directKey, state)
    }

    const invoke = definition.invoke?.[call.operation] as Invoke | undefined
    const codec = codecOf(definition, call.operation)
    if (!invoke && !codec) {
      throw markTargetFault(new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', message: `[${route.provider.id}] provider does not support ${call.label ?? call.operation}`, provider: route.provider.id, retryable: false }))
    }
    const request = ir()
    if (invoke) {
      state.attempts++
      const result = await invoke(request, { providerId: route.provider.id, key: undefined, baseURL: route.provider.baseURL, config: route.provider.config, signal: c.req.raw.signal })
      return result instanceof ReadableStream
        ? renderEvents(ctx, call, state, result as ReadableStream<StreamEvent>)
        : renderIR(ctx, call, state, result as OperationTypes[Op]['response'])
    }

    // No invoke: the codec exists (checked above).
    if (call.stream && !codec!.stream) {
      throw markTargetFault(new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'stream', message: `[${route.provider.id}] provider does not support streaming ${call.operation}`, provider: route.provider.id, retryable: false }))
    }
    const sent = await sendUpstream({
      route,
      directKey,
      signal: c.req.raw.signal,
      fetch: options.fetch,
      tally: state,
      build(context) {
        const built = codec!.request(request as never, context)
        if (built.warnings) for (const warning of built.warnings) if (!ctx.warnings.includes(warning)) ctx.warnings.push(warning)
        const forwarded = pickHeaders(c.req.raw.headers)
        return forwarded ? { ...built, headers: { ...forwarded, ...built.headers } } : built
      },
    })
    if (call.stream) {
      sent.done()
      const body = guardUpstream(sent, { provider: route.provider.id, idleMs: route.provider.streamIdleMs, signal: c.req.raw.signal })
      return renderEvents(ctx, call, state, codec!.stream!(body, sent.context))
    }
    let json: unknown
    try {
      json = await sent.response.json()
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw sent.failed(error)
      throw new GatewayError({ status: 502, code: 'upstream', message: `[${route.provider.id}] upstream returned invalid JSON`, provider: route.provider.id, cause: error })
    } finally {
      sent.settle()
    }
    return renderIR(ctx, call, state, codec!.response(json, sent.context) as OperationTypes[Op]['response'])
  }

  /** A plugin's ready HTTP answer (`{ http }` from `beforeUpstream`): sent as is, with the request id; only `onFinish` sees it. */
  function answerAsIs(ctx: RequestContext, state: CallState, response: Response): Response {
    let answer = response
    if (!answer.headers.has('x-request-id')) {
      try {
        answer.headers.set('x-request-id', ctx.id)
      } catch {
        // Immutable headers (a Response taken from fetch): copy once, then set.
        answer = new Response(answer.body, answer)
        answer.headers.set('x-request-id', ctx.id)
      }
    }
    accounting.finish(ctx, state, { status: answer.status, usage: undefined, error: undefined, firstByteMs: undefined, aborted: false })
    return answer
  }

  function renderContext(ctx: RequestContext, call: { model: string }): RenderContext {
    return { requestedModel: call.model, provider: ctx.provider!, model: ctx.model!, requestId: ctx.id, warnings: ctx.warnings }
  }

  function renderIR<Op extends Operation>(ctx: RequestContext, call: SurfaceCall<Op>, state: CallState, response: OperationTypes[Op]['response']): Response {
    if (call.stream) {
      // A short-circuit or in-process full answer for a streaming caller: replay it as events.
      return renderEvents(ctx, call, state, eventsFromResponse(call.operation, response))
    }
    const usage = (response as { usage?: Usage }).usage
    accounting.afterUpstream(ctx, { ok: true, status: 200, usage, response })
    accounting.finish(ctx, state, { status: 200, usage, error: undefined, firstByteMs: undefined, aborted: false })
    const rendered = call.renderResponse(response, renderContext(ctx, call))
    if (typeof rendered === 'object' && rendered !== null && !Array.isArray(rendered)) (rendered as Record<string, unknown>).extra_fields = extraFields(ctx, state)
    return new Response(JSON.stringify(rendered), { status: 200, headers: answerHeaders(ctx, state, 'application/json') })
  }

  function renderEvents<Op extends Operation>(ctx: RequestContext, call: SurfaceCall<Op>, state: CallState, events: ReadableStream<StreamEvent>): Response {
    if (!call.renderStream) throw GatewayError.badRequest(`streaming is not supported for ${call.operation}`, 'stream')
    let usage: Usage | undefined
    let failure: GatewayError | undefined
    const observed = catchStreamFailures(events, ctx.provider, (event) => {
      if (event.type === 'finish') usage = event.usage ?? usage
      else if (event.type === 'usage') usage = event.usage
      else if (event.type === 'error' && !ctx.signal.aborted) failure = event.error
      if (hooks.has.onStreamEvent) hooks.onStreamEvent(ctx, event)
    })
    const body = accounting.observe(ctx, state, call.renderStream(observed, renderContext(ctx, call)), { status: 200, usage: () => usage, error: () => failure })
    return new Response(body, { status: 200, headers: { ...answerHeaders(ctx, state, 'text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' } })
  }

  const countTokens = (c: Context, call: CountTokensCall) => runCountTokens({ ...deps, providers, defaultProvider: surface.defaultProvider, allowDirectKeys, createContext, renderError }, c, call)

  const forward = (c: Context, call: ForwardCall) => runForward({ ...deps, providers, dialect, defaultProvider: surface.defaultProvider, allowDirectKeys, createContext, renderError }, c, call)

  function listModels(): Array<{ id: string; provider: string }> {
    const out: Array<{ id: string; provider: string }> = []
    for (const provider of providers.values()) {
      if (!provider.usable) continue
      const names = new Set<string>()
      for (const key of provider.config.keys) for (const model of key.models) names.add(model)
      if (names.size === 0) for (const model of provider.definition.models ?? []) names.add(model)
      for (const model of names) out.push({ id: `${provider.id}/${model}`, provider: provider.id })
    }
    return out
  }

  function resolve(model: string): ResolvedModel {
    const route = resolveModel(model, providers, surface.defaultProvider)
    return { provider: route.provider.id, model: route.model, dialect: route.provider.definition.dialect }
  }

  return { config, log, readJson, rawBody, readBytes, handle, forward, countTokens, listModels, resolve }
}

export type { Route }
