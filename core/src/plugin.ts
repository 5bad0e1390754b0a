import type { Hono } from 'hono'
import type { Storage } from 'unstorage'
import type { AtomicStore } from './atomic.js'
import type { Config } from './config.js'
import type { GatewayError } from './errors.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Usage } from './ir/usage.js'
import type { Warning } from './ir/warning.js'
import type { Logger } from './log.js'
import type { Operation, OperationTypes, PassthroughTarget, UpstreamContext, UpstreamRequest } from './provider.js'
import type { SendResult } from './router.js'

/** Per-request context handed to every hook. */
export interface RequestContext {
  /** Request id (also sent back as `x-request-id`). */
  readonly id: string
  /** Dialect of the inbound surface ("openai"). */
  readonly surface: string
  /** The model operation, or a {@link RouteOperation} for a call a plugin's own route admitted. */
  readonly operation: Operation | RouteOperation
  /** Model as the caller wrote it ("anthropic/claude-..."). */
  readonly requestedModel: string
  /** Target provider id, once routed. */
  provider: string | undefined
  /** Target model name without prefix, once routed. */
  model: string | undefined
  readonly stream: boolean
  /** Caller's request headers. */
  readonly headers: Headers
  readonly config: Config
  readonly storage: Storage
  readonly log: Logger
  /** Fires when the caller disconnects. */
  readonly signal: AbortSignal
  /** Keeps background work (logging, accounting) alive after the response was sent. */
  waitUntil(promise: Promise<unknown>): void
  /** Scratch space for plugins; key by plugin name. */
  readonly state: Map<string, unknown>
  /** Translation warnings, sent as `x-switchyard-warnings`. */
  readonly warnings: Warning[]
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  /**
   * Where to send this request instead of where its `model` says. Set it in `onRequest`
   * (routing rules, virtual keys); it is read once `onRequest` hooks are done, and later
   * changes are ignored. See {@link RouteOverride}.
   */
  route: RouteOverride | undefined
  /**
   * The caller's request body as parsed JSON (in the surface's dialect: OpenAI's `metadata`,
   * Anthropic's `metadata.user_id` ...), the very object the gateway routes from: read it, never
   * change it. A multipart upload gives its text fields; `undefined` for calls without a body
   * (GET, DELETE). The gateway's own `fallbacks` field is already taken out.
   */
  readonly body?: Readonly<Record<string, unknown>>
  /**
   * Set on calls that are not model calls: forwarded unchanged to the provider they name
   * (`GET /responses/{id}`, `count_tokens` to a same-dialect provider ...), or a token count at a
   * provider of another dialect. The method and the path below the API root (query included).
   * `undefined` on model calls. `onRequest`, `afterUpstream` and `onFinish` run for these calls
   * too (docs/plugins.md); `beforeUpstream` and `onStreamEvent` do not.
   */
  readonly forwarded?: ForwardedCall
}

/** What a forwarded call is (`ctx.forwarded`). */
export interface ForwardedCall {
  /** HTTP method sent upstream (`GET`, `DELETE`, `POST`). */
  readonly method: string
  /** Path below the dialect's API root (`/responses/resp_123`, `/messages/count_tokens`), query included. */
  readonly path: string
}

/**
 * What `ctx.operation` says for a call that a plugin's own route serves and admits through
 * `PluginSetupContext.admit` (the Files and Batch APIs): no model, nothing routed by the gateway.
 */
export type RouteOperation = 'files' | 'batches'

/** One weighted destination of a {@link RouteOverride}. */
export interface RouteTarget {
  /** Provider id as configured (`openai`, `anthropic` ...). Must be loaded: an unknown id fails the request with a 500. */
  provider: string
  /** Model name as that provider knows it (no provider prefix). */
  model: string
  /** Relative weight for the random choice among `targets` (>= 0). Default 1. */
  weight?: number
}

/**
 * A plugin's routing decision for one request, set on `ctx.route` in `onRequest`.
 *
 * The gateway picks one of `targets` at random by weight (instead of resolving the caller's
 * `model`), then tries the request's own `fallbacks` body field, then `fallbacks` here, then the
 * chosen provider's `providers.<id>.fallbacks`, in that order and each `provider/model` once.
 * Everything else (retries, key choice, translation, `x-bf-provider`/`x-bf-model`) works as for
 * a model the caller named. `ctx.requestedModel` stays what the caller wrote.
 *
 * @example
 * ctx.route = { targets: [{ provider: 'openai', model: 'gpt-4o', weight: 3 }, { provider: 'azure', model: 'gpt-4o', weight: 1 }], fallbacks: ['anthropic/claude-sonnet-4'] }
 */
export interface RouteOverride {
  /** Candidates for the first attempt; at least one. */
  targets: readonly RouteTarget[]
  /** `provider/model` names tried in order after the chosen target failed (after its retries). */
  fallbacks?: readonly string[]
}

/**
 * What every hook receives: the request context plus `responseHeaders`.
 *
 * `responseHeaders` is a `Headers` the gateway copies onto the response it sends for this
 * request (success, stream or error alike), overriding a header of the same name. Set it in
 * `onRequest` or `beforeUpstream`: once the response has started (stream events,
 * `afterUpstream` of a stream, `onFinish`) its headers are gone and later changes are ignored.
 */
export interface HookContext extends RequestContext {
  readonly responseHeaders: Headers
}

/** What `beforeUpstream` sees: the caller's parsed body and, on demand, the IR. */
export interface UpstreamCall<Op extends Operation = Operation> {
  operation: Op
  /** The caller's body as parsed JSON (in the surface's dialect). */
  body: Record<string, unknown>
  /** The IR request (built on first use). */
  ir(): OperationTypes[Op]['request']
}

/**
 * What `beforeUpstream` may return: nothing (go on to the provider), `{ response }` (an IR answer,
 * rendered in the caller's dialect like a provider's; a cache hit), or `{ http }` (a ready HTTP
 * response sent as is: status, headers and body are the plugin's, e.g. an accepted async job). With
 * `{ http }` nothing is rendered or replayed as a stream, `afterUpstream` does not run (there is no
 * upstream outcome), and `onFinish` runs with the response's status and no usage.
 */
export type BeforeUpstreamResult<Op extends Operation = Operation> =
  | undefined
  | void
  | { response: OperationTypes[Op]['response'] }
  | { http: Response }

export type UpstreamOutcome =
  /** `aborted`: the caller went away before the end; `usage` is what was seen until then. */
  | { ok: true; status: number; usage: Usage | undefined; response?: unknown; aborted?: boolean }
  | { ok: false; error: GatewayError }

/** What happened, for `onFinish`: status, usage, timings. */
export interface FinishSummary {
  status: number
  usage: Usage | undefined
  error: GatewayError | undefined
  /** Milliseconds from arrival to the last byte. */
  durationMs: number
  /** Milliseconds from arrival to the first byte sent (streams). */
  firstByteMs: number | undefined
  /** Upstream attempts made (retries and fallbacks included). */
  attempts: number
  /** Attempts that repeated a request to the same target (`attempts` minus one per target tried). */
  retries: number
  /** Which target answered (or failed last): 0 the primary, 1 the first fallback ... */
  fallbackIndex: number
  /** True when the caller went away before the end. */
  aborted: boolean
}

export interface PluginHooks {
  /** Authenticate, authorize, rate-limit. Throw a GatewayError to reject. */
  onRequest?(ctx: HookContext): void | Promise<void>
  /** Return `{ response }` (IR) or `{ http }` (a ready Response) to answer without calling the upstream (cache hit, async job ...). */
  beforeUpstream?(ctx: HookContext, call: UpstreamCall): BeforeUpstreamResult | Promise<BeforeUpstreamResult>
  /** Each stream event. Synchronous and cheap: no awaits per token. */
  onStreamEvent?(ctx: HookContext, event: StreamEvent): void
  /** The response or error is known (accounting, caching, logging). */
  afterUpstream?(ctx: HookContext, outcome: UpstreamOutcome): void | Promise<void>
  /** After the last byte went to the client; never delays it. Slow work goes in `ctx.waitUntil`. */
  onFinish?(ctx: HookContext, summary: FinishSummary): void | Promise<void>
}

/** What a plugin's `setup` may use. */
export interface PluginSetupContext {
  config: Config
  /** This plugin's own `config` from the config file. */
  options: unknown
  storage: Storage
  /** Exact counters, leases and channels shared by every instance (budgets, rate limits, job claims). */
  atomic: AtomicStore
  log: Logger
  /**
   * Sends a request through this gateway's own app, every hook included (async jobs and
   * gateway-run batches replay requests this way). Available once setup is done.
   */
  dispatch(request: Request): Promise<Response>
  /** Live per-provider load (in flight, queued, cooling keys): for metrics. Cheap; call it at scrape time. */
  stats(): GatewayStats
  /**
   * Runs the configured `onRequest` hooks (authentication, authorization, rate limits) for a
   * request one of this plugin's own `routes` serves, as they run for a model call. Resolves with
   * the hook context (its `state` holds what the hooks established: the governance plugin's
   * virtual key under `switchyard:virtual_key`) and `respond`, through which the route sends its
   * answer so that `afterUpstream` and `onFinish` run once for it. Rejects with the GatewayError a
   * hook threw (they have run for it then); render it in the route's dialect. Headers the hooks set
   * in `responseHeaders` go onto the route's response either way. `requestedModel` is empty and
   * `provider`/`model` stay unset: nothing is routed.
   */
  admit(request: Request, call: AdmitCall): Promise<AdmittedRequest>
  /**
   * Sends one request to a loaded provider's upstream outside a model call (a file upload, a batch
   * job): the provider's keys (weighted choice, cooldowns), timeout, retries, concurrency limit,
   * proxy, `network_config.extra_headers` and request signing apply as for a model call. `build`
   * runs once per attempt (a retry may use another key), so a streamed body must be created in it.
   * Resolves once the upstream answered 2xx; a non-2xx answer (after the retries) rejects with the
   * provider's GatewayError, and an unknown or unusable provider with a 400. Settle the result
   * (`settle()`) once its body was read or dropped.
   */
  send(provider: string, call: PluginUpstreamCall): Promise<SendResult>
}

/** A request `PluginSetupContext.admit` let through. */
export interface AdmittedRequest {
  readonly ctx: HookContext
  /**
   * The route's answer, for the hooks: returns the response to send (with `x-request-id`), after
   * which `afterUpstream` (the status, or `error` when the answer is one; no usage) and `onFinish`
   * (once the body was sent) run, once. Call it once, with what the caller gets.
   */
  respond(response: Response, error?: GatewayError): Response
}

/** Which call `PluginSetupContext.admit` admits. */
export interface AdmitCall {
  /** Dialect of the route ("openai"), as `ctx.surface`. */
  surface: string
  operation: RouteOperation
}

/** One upstream request a plugin makes through `PluginSetupContext.send`. */
export interface PluginUpstreamCall {
  /** The model the call concerns, for keys restricted to some models. Default `''`: any unrestricted key. */
  model?: string
  /** Aborts the request (the caller went away). */
  signal?: AbortSignal
  /**
   * Builds the request for one attempt from the chosen key and the provider's base URL.
   * `passthrough(path)` is the provider's own same-dialect target for a path below its API root
   * (URL and auth headers, as its `upstream.passthrough` makes them); it throws a 400 for a provider
   * without one.
   */
  build(context: UpstreamContext, passthrough: (path: string) => PassthroughTarget): UpstreamRequest
}

/** What `Gateway.stats()` reports. */
export interface GatewayStats {
  providers: Record<string, ProviderStats>
}

export interface ProviderStats {
  /** Upstream requests started and not ended (a stream counts until its last byte). */
  inFlight: number
  /** Callers waiting for a concurrency slot. */
  queued: number
  /** Keys cooling down after a 429/401/402/403. */
  cooling: number
}

export interface PluginDefinition {
  /** Unique name; conventionally the package name. */
  name: string
  setup?(context: PluginSetupContext): void | Promise<void>
  /**
   * Serves the plugin's own HTTP routes (`GET /metrics` ...) on the gateway app. Called once,
   * in config order, while `createGateway` builds the app: `setup` may not have finished yet,
   * so a handler that needs its results answers 503 until then. The routes sit after
   * `/health` and `/ready` and before the surfaces: pick paths outside `/openai`,
   * `/anthropic`, `/genai` (a route there would shadow the surface's). No hook runs for
   * these requests; protect them yourself when they need it.
   */
  routes?(app: Hono, context: PluginSetupContext): void
  hooks: PluginHooks
  /** Called on shutdown. */
  close?(): void | Promise<void>
}

/** Identity helper that gives plugin packages full type inference. */
export function definePlugin<const T extends PluginDefinition>(definition: T): T {
  return definition
}
