import type { Context } from 'hono'
import type { Storage } from 'unstorage'
import type { Config } from './config.js'
import { GatewayError, toGatewayError } from './errors.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Usage } from './ir/usage.js'
import { formatWarnings, type Warning } from './ir/warning.js'
import type { Logger } from './log.js'
import type { Operation, OperationTypes, SurfaceDefinition } from './provider.js'
import type { HookRunner } from './hooks.js'
import type { FinishSummary, RequestContext } from './plugin.js'
import { resolveModel, sendUpstream, type RegisteredProvider, type Route } from './router.js'
import { relayStream } from './relay.js'

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
  /** The body to send: the caller's, with the model replaced (and stream usage requested when `injectUsage`). */
  body(model: string, injectUsage: boolean): string
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
  /** Runs a model-routed call through hooks, router and provider. */
  handle<Op extends Operation>(c: Context, call: SurfaceCall<Op>): Promise<Response>
  /** Forwards a non-model request to a same-dialect provider unchanged. */
  forward(c: Context, call: ForwardCall): Promise<Response>
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

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])
const NEVER_FORWARD = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie'])

/** Caller headers to forward: the allowlist minus denylist, hop-by-hop, credentials and x-bf-*. */
export function forwardableHeaders(config: Config): (headers: Headers) => Record<string, string> | undefined {
  const filter = config.client.header_filter_config
  const deny = new Set((filter?.denylist ?? []).map((name) => name.toLowerCase()))
  const allow = (filter?.allowlist ?? [])
    .map((name) => name.toLowerCase())
    .filter((name) => !deny.has(name) && !HOP_BY_HOP.has(name) && !NEVER_FORWARD.has(name) && !name.startsWith('x-bf-'))
  if (allow.length === 0) return () => undefined
  return (headers) => {
    let out: Record<string, string> | undefined
    for (const name of allow) {
      const value = headers.get(name)
      if (value !== null) (out ??= {})[name] = value
    }
    return out
  }
}

/** The caller's own provider key, when direct keys are allowed. */
function directKeyOf(headers: Headers): string | undefined {
  const authorization = headers.get('authorization')
  if (authorization && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') return authorization.slice(7).trim()
  return headers.get('x-api-key') ?? headers.get('x-goog-api-key') ?? undefined
}

let sequence = 0
const processTag = Math.random().toString(36).slice(2, 8)

/** Cheap unique request id: process tag + time + counter (no crypto on the hot path). */
function nextRequestId(): string {
  sequence = (sequence + 1) % 0x7fffffff
  return `req_${processTag}${Date.now().toString(36)}${sequence.toString(36)}`
}

export function createSurfaceHost(options: HostOptions): SurfaceHost {
  const { surface, dialect, config, providers, hooks, storage, log } = options
  const maxBodyBytes = config.client.max_request_body_size_mb * 1024 * 1024
  const allowDirectKeys = config.client.allow_direct_keys
  const pickHeaders = forwardableHeaders(config)

  const fail = (status: number, message: string, code = 'invalid_request') =>
    new GatewayError({ status, code, message, retryable: false, type: status === 413 ? 'request_too_large' : 'invalid_request_error' })

  async function readJson(c: Context): Promise<Record<string, unknown>> {
    const length = Number(c.req.header('content-length') ?? 0)
    if (length > maxBodyBytes) throw fail(413, `request body is larger than ${config.client.max_request_body_size_mb} MB`, 'payload_too_large')
    let text: string
    try {
      text = await c.req.text()
    } catch (error) {
      throw fail(400, `could not read the request body: ${(error as Error).message}`)
    }
    if (text.length > maxBodyBytes) throw fail(413, `request body is larger than ${config.client.max_request_body_size_mb} MB`, 'payload_too_large')
    if (text.length === 0) throw fail(400, 'request body is empty; expected a JSON object')
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (error) {
      throw fail(400, `request body is not valid JSON: ${(error as Error).message}`)
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail(400, 'request body must be a JSON object')
    rawBodies.set(body, text)
    return body as Record<string, unknown>
  }

  /** Raw text of each parsed body, so passthrough can splice instead of re-serializing. */
  const rawBodies = new WeakMap<object, string>()

  function createContext(c: Context, call: { operation: Operation; model: string; stream: boolean }): RequestContext & { pending: Promise<unknown>[] } {
    const pending: Promise<unknown>[] = []
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
      waitUntil(promise) {
        pending.push(promise)
        options.waitUntil(promise)
      },
      state: new Map(),
      warnings: [],
      startedAt: performance.now(),
      pending,
    }
  }

  function responseHeaders(ctx: RequestContext, contentType: string): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': contentType, 'x-request-id': ctx.id }
    if (ctx.provider) headers['x-bf-provider'] = ctx.provider
    if (ctx.model) headers['x-bf-model'] = ctx.model
    const warnings = formatWarnings(ctx.warnings)
    if (warnings) headers['x-switchyard-warnings'] = warnings
    return headers
  }

  function renderError(ctx: RequestContext | undefined, error: GatewayError): Response {
    const response = surface.renderError(error)
    if (ctx) {
      response.headers.set('x-request-id', ctx.id)
      if (ctx.provider) response.headers.set('x-bf-provider', ctx.provider)
    }
    if (error.headers) for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value)
    return response
  }

  function finish(ctx: RequestContext, summary: Omit<FinishSummary, 'durationMs'>): void {
    if (!hooks.has.onFinish) return
    const full: FinishSummary = { ...summary, durationMs: performance.now() - ctx.startedAt }
    // After the response was handed to the runtime: a timer, never a microtask before the write.
    setTimeout(() => ctx.waitUntil(hooks.onFinish(ctx, full)), 0)
  }

  /** Wraps an outgoing byte stream to report first byte, completion and disconnects. */
  function observeOutgoing(ctx: RequestContext, body: ReadableStream<Uint8Array>, state: { usage: () => Usage | undefined; attempts: number; status: number }): ReadableStream<Uint8Array> {
    if (!hooks.has.onFinish && !hooks.has.afterUpstream) return body
    let firstByteMs: number | undefined
    let ended = false
    const end = (aborted: boolean, error?: GatewayError) => {
      if (ended) return
      ended = true
      const usage = state.usage()
      if (hooks.has.afterUpstream) ctx.waitUntil(hooks.afterUpstream(ctx, error ? { ok: false, error } : { ok: true, status: state.status, usage }))
      finish(ctx, { status: state.status, usage, error, firstByteMs, attempts: state.attempts, aborted })
    }
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (firstByteMs === undefined) firstByteMs = performance.now() - ctx.startedAt
          controller.enqueue(chunk)
        },
        flush() {
          end(false)
        },
        cancel() {
          end(true)
        },
      } as Transformer<Uint8Array, Uint8Array> & { cancel(): void }),
    )
  }

  async function handle<Op extends Operation>(c: Context, call: SurfaceCall<Op>): Promise<Response> {
    const ctx = createContext(c, call)
    let attempts = 0
    try {
      if (hooks.has.onRequest) await hooks.onRequest(ctx)
      const route = resolveModel(call.model, providers, surface.defaultProvider)
      ctx.provider = route.provider.id
      ctx.model = route.model
      const render: RenderContext = { requestedModel: call.model, provider: route.provider.id, model: route.model, requestId: ctx.id, warnings: ctx.warnings }
      let irRequest: OperationTypes[Op]['request'] | undefined
      const ir = () => (irRequest ??= call.toIR(route.model))

      if (hooks.has.beforeUpstream) {
        const hit = await hooks.beforeUpstream(ctx, { operation: call.operation, body: call.body, ir })
        if (hit) return renderIR(ctx, call, render, hit.response as OperationTypes[Op]['response'], 0)
      }

      const definition = route.provider.definition
      const directKey = allowDirectKeys ? directKeyOf(c.req.raw.headers) : undefined
      if (call.passthrough && definition.dialect === dialect && definition.upstream?.passthrough && !definition.invoke?.[call.operation]) {
        return await passthrough(c, ctx, call, call.passthrough, route, directKey)
      }

      const invoke = definition.invoke?.[call.operation] as
        | ((request: unknown, context: import('./provider.js').UpstreamContext) => Promise<unknown>)
        | undefined
      const request = ir()
      if (invoke) {
        const signal = c.req.raw.signal
        const result = await invoke(request, { providerId: route.provider.id, key: undefined, baseURL: route.provider.baseURL, config: route.provider.config, signal })
        attempts = 1
        return result instanceof ReadableStream
          ? renderEvents(ctx, call, render, result as ReadableStream<StreamEvent>, 1)
          : renderIR(ctx, call, render, result as OperationTypes[Op]['response'], 1)
      }

      const codec = definition.upstream?.[call.operation]
      if (!codec) {
        throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', message: `[${route.provider.id}] provider does not support ${call.operation}`, provider: route.provider.id, retryable: false })
      }
      if (call.stream && !codec.stream) {
        throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'stream', message: `[${route.provider.id}] provider does not support streaming ${call.operation}`, provider: route.provider.id, retryable: false })
      }
      const sent = await sendUpstream({
        route,
        directKey,
        signal: c.req.raw.signal,
        fetch: options.fetch,
        build(context) {
          const built = codec.request(request as never, context)
          if (built.warnings) for (const warning of built.warnings) if (!ctx.warnings.includes(warning)) ctx.warnings.push(warning)
          const forwarded = pickHeaders(c.req.raw.headers)
          return forwarded ? { ...built, headers: { ...forwarded, ...built.headers } } : built
        },
      })
      attempts = sent.attempts
      if (call.stream) {
        sent.done()
        const events = codec.stream!(sent.response.body!, sent.context)
        return renderEvents(ctx, call, render, events, attempts)
      }
      let json: unknown
      try {
        json = await sent.response.json()
      } catch (error) {
        throw new GatewayError({ status: 502, code: 'upstream', message: `[${route.provider.id}] upstream returned invalid JSON`, provider: route.provider.id, cause: error })
      } finally {
        sent.done()
      }
      return renderIR(ctx, call, render, codec.response(json, sent.context) as OperationTypes[Op]['response'], attempts)
    } catch (caught) {
      const error = toGatewayError(caught, ctx.provider)
      if (error.status >= 500 && error.code === 'internal') log.error('request failed', { requestId: ctx.id, error: String((caught as Error)?.stack ?? caught) })
      if (hooks.has.afterUpstream) ctx.waitUntil(hooks.afterUpstream(ctx, { ok: false, error }))
      finish(ctx, { status: error.status, usage: undefined, error, firstByteMs: undefined, attempts, aborted: c.req.raw.signal.aborted })
      return renderError(ctx, error)
    }
  }

  function renderIR<Op extends Operation>(ctx: RequestContext, call: SurfaceCall<Op>, render: RenderContext, response: OperationTypes[Op]['response'], attempts: number): Response {
    if (call.stream) {
      // A short-circuit or in-process full answer for a streaming caller: replay it as events.
      return renderEvents(ctx, call, render, eventsFromResponse(call.operation, response), attempts)
    }
    const usage = (response as { usage?: Usage }).usage
    if (hooks.has.afterUpstream) ctx.waitUntil(hooks.afterUpstream(ctx, { ok: true, status: 200, usage, response }))
    finish(ctx, { status: 200, usage, error: undefined, firstByteMs: undefined, attempts, aborted: false })
    return new Response(JSON.stringify(call.renderResponse(response, render)), { status: 200, headers: responseHeaders(ctx, 'application/json') })
  }

  function renderEvents<Op extends Operation>(ctx: RequestContext, call: SurfaceCall<Op>, render: RenderContext, events: ReadableStream<StreamEvent>, attempts: number): Response {
    if (!call.renderStream) throw GatewayError.badRequest(`streaming is not supported for ${call.operation}`, 'stream')
    let usage: Usage | undefined
    const observed = events.pipeThrough(
      new TransformStream<StreamEvent, StreamEvent>({
        transform(event, controller) {
          if (event.type === 'finish') usage = event.usage
          else if (event.type === 'usage') usage = event.usage
          if (hooks.has.onStreamEvent) hooks.onStreamEvent(ctx, event)
          controller.enqueue(event)
        },
      }),
    )
    const body = observeOutgoing(ctx, call.renderStream(observed, render), { usage: () => usage, attempts, status: 200 })
    return new Response(body, { status: 200, headers: { ...responseHeaders(ctx, 'text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' } })
  }

  async function passthrough<Op extends Operation>(c: Context, ctx: RequestContext, call: SurfaceCall<Op>, spec: PassthroughSpec, route: Route, directKey: string | undefined): Promise<Response> {
    const injectUsage = call.stream && !spec.wantsStreamUsage && spec.isUsageOnly !== undefined
    const body = spec.body(route.model, injectUsage)
    const upstream = route.provider.definition.upstream!
    const sent = await sendUpstream({
      route,
      directKey,
      signal: c.req.raw.signal,
      fetch: options.fetch,
      build(context) {
        const target = upstream.passthrough!(spec.path, context)
        const forwarded = pickHeaders(c.req.raw.headers)
        const headers = forwarded || spec.headers ? { ...forwarded, ...target.headers, ...spec.headers } : target.headers
        return { url: target.url, method: 'POST', headers, body }
      },
    })
    const contentType = sent.response.headers.get('content-type') ?? (call.stream ? 'text/event-stream' : 'application/json')
    const wantsUsage = hooks.has.afterUpstream || hooks.has.onFinish
    if (!call.stream || !contentType.startsWith('text/event-stream')) {
      if (!wantsUsage) {
        // Zero-copy: the upstream body goes to the caller as it arrives; the timeout covers the read.
        const relayed = sent.response.body!.pipeThrough(new TransformStream({ flush: () => sent.done() }))
        return new Response(relayed, { status: sent.response.status, headers: responseHeaders(ctx, contentType) })
      }
      const text = await sent.response.text().finally(() => sent.done())
      const usage = spec.usageFrom(text)
      if (hooks.has.afterUpstream) ctx.waitUntil(hooks.afterUpstream(ctx, { ok: true, status: sent.response.status, usage }))
      finish(ctx, { status: sent.response.status, usage, error: undefined, firstByteMs: undefined, attempts: sent.attempts, aborted: false })
      return new Response(text, { status: sent.response.status, headers: responseHeaders(ctx, contentType) })
    }
    sent.done()
    const relay = relayStream(sent.response.body!, {
      strip: injectUsage ? spec.isUsageOnly : undefined,
      usageFrom: wantsUsage || injectUsage ? spec.usageFrom : undefined,
      onEvent: undefined,
      mergeUsage: spec.mergeUsage,
    })
    const outgoing = observeOutgoing(ctx, relay.stream, { usage: relay.usage, attempts: sent.attempts, status: sent.response.status })
    return new Response(outgoing, { status: sent.response.status, headers: { ...responseHeaders(ctx, contentType), 'cache-control': 'no-cache' } })
  }

  async function forward(c: Context, call: ForwardCall): Promise<Response> {
    const ctx = createContext(c, { operation: 'chat', model: '', stream: false })
    try {
      const id = call.provider ?? surface.defaultProvider
      const provider = providers.get(id)
      if (!provider) throw GatewayError.badRequest(`unknown provider "${id}"`)
      const upstream = provider.definition.upstream
      if (provider.definition.dialect !== dialect || !upstream?.passthrough) {
        throw GatewayError.badRequest(`[${id}] provider does not serve ${call.method} ${call.path}`)
      }
      ctx.provider = id
      const directKey = allowDirectKeys ? directKeyOf(c.req.raw.headers) : undefined
      const sent = await sendUpstream({
        route: { provider, model: call.model ?? '' },
        directKey,
        signal: c.req.raw.signal,
        fetch: options.fetch,
        build(context) {
          const target = upstream.passthrough!(call.path, context)
          // Allow-listed caller headers apply here as on model calls (a project header scopes stored objects).
          const headers = { ...pickHeaders(c.req.raw.headers), ...target.headers, ...call.headers }
          if (call.contentType) headers['content-type'] = call.contentType
          else delete headers['content-type']
          return { url: target.url, method: call.method, headers, body: call.body }
        },
      })
      const contentType = sent.response.headers.get('content-type') ?? 'application/json'
      const relayed = sent.response.body ? sent.response.body.pipeThrough(new TransformStream({ flush: () => sent.done() })) : (sent.done(), null)
      return new Response(relayed, { status: sent.response.status, headers: responseHeaders(ctx, contentType) })
    } catch (caught) {
      return renderError(ctx, toGatewayError(caught, ctx.provider))
    }
  }

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

  return { config, log, readJson, rawBody: (body) => rawBodies.get(body) ?? JSON.stringify(body), handle, forward, listModels, resolve }
}

/** Replays a complete IR answer as stream events (cache hits and in-process answers for streaming callers). */
export function eventsFromResponse(operation: Operation, response: unknown): ReadableStream<StreamEvent> {
  const events: StreamEvent[] = []
  if (operation === 'chat' || operation === 'responses') {
    const chat = response as OperationTypes['chat']['response']
    events.push({ type: 'response-start', id: chat.id, model: chat.model, created: chat.created })
    for (const choice of chat.choices) {
      choice.message.content.forEach((part, index) => {
        const id = `${choice.index}:${index}`
        const base = { id, choice: choice.index }
        if (part.type === 'text') events.push({ type: 'text-start', ...base }, { type: 'text-delta', ...base, delta: part.text }, { type: 'text-end', ...base })
        else if (part.type === 'reasoning') {
          events.push({ type: 'reasoning-start', ...base, redacted: part.redacted }, { type: 'reasoning-delta', ...base, delta: part.text })
          if (part.signature) events.push({ type: 'reasoning-signature', ...base, signature: part.signature })
          events.push({ type: 'reasoning-end', ...base })
        } else if (part.type === 'tool-call') {
          events.push({ type: 'tool-call-start', ...base, toolCallId: part.id, name: part.name }, { type: 'tool-call-delta', ...base, argumentsDelta: part.arguments }, { type: 'tool-call-end', ...base })
        } else if (part.type === 'refusal') events.push({ type: 'refusal-delta', ...base, delta: part.text })
      })
      events.push({ type: 'choice-end', choice: choice.index, finishReason: choice.finishReason })
    }
    events.push({ type: 'finish', finishReason: chat.choices[0]?.finishReason ?? { unified: 'other', raw: undefined }, usage: chat.usage })
  } else if (operation === 'completions') {
    const completion = response as OperationTypes['completions']['response']
    events.push({ type: 'response-start', id: completion.id, model: completion.model, created: completion.created })
    for (const choice of completion.choices) {
      const base = { id: `${choice.index}:0`, choice: choice.index }
      events.push({ type: 'text-start', ...base }, { type: 'text-delta', ...base, delta: choice.text }, { type: 'text-end', ...base })
      events.push({ type: 'choice-end', choice: choice.index, finishReason: choice.finishReason })
    }
    events.push({ type: 'finish', finishReason: completion.choices[0]?.finishReason ?? { unified: 'other', raw: undefined }, usage: completion.usage })
  } else {
    throw GatewayError.badRequest(`streaming is not supported for ${operation}`, 'stream')
  }
  let index = 0
  return new ReadableStream<StreamEvent>({
    pull(controller) {
      if (index < events.length) controller.enqueue(events[index++]!)
      else controller.close()
    },
  })
}

export type { Route }
