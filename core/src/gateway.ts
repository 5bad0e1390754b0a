import { Hono } from 'hono'
import { createStorage, type Storage } from 'unstorage'
import { createMemoryAtomicStore, type AtomicStore } from './atomic.js'
import { ConfigError, type Config, type ProxyConfig } from './config.js'
import { GatewayError, toGatewayError } from './errors.js'
import { createHookRunner } from './hooks.js'
import { createAccounting, type CallState } from './pipeline/accounting.js'
import { createLogger, type Logger } from './log.js'
import type { AdmitCall, AdmittedRequest, GatewayStats, PluginDefinition, PluginSetupContext, PluginUpstreamCall, RequestContext } from './plugin.js'
import type { ProviderDefinition, SurfaceDefinition, UpstreamContext } from './provider.js'
import { applyResponseHeaders, toHookContext } from './response-headers.js'
import { collectStats, probeStorage } from './readiness.js'
import { registerProvider, resolveModel, sendUpstream, type RegisteredProvider, type SendResult } from './router.js'
import { createSurfaceHost } from './surface-host.js'

export interface GatewayOptions {
  /** Validated config (see `parseConfig`). */
  config: Config
  /**
   * Provider packages by id. A configured provider id must have a definition here; a
   * definition whose id is not configured is still loaded (for its surface and for
   * keyless use such as `mock`).
   */
  providers: ReadonlyMap<string, ProviderDefinition> | readonly ProviderDefinition[]
  /** Plugins in hook order. */
  plugins?: readonly PluginDefinition[]
  /** Shared state (default: in memory). */
  storage?: Storage
  /**
   * Exact shared counters, leases and channels (default: in memory, for one process). Several
   * instances pass the same Redis-backed store (`@switchyard/plugin-redis`).
   */
  atomic?: AtomicStore
  /** Upstream transport (default: global fetch). */
  fetch?: typeof fetch
  /**
   * The transport for a provider with `proxy_config`: the runtime builds a fetch that goes
   * through that proxy (Node: undici's `ProxyAgent`). Without it, a config that sets
   * `proxy_config` fails at start rather than bypass the proxy.
   */
  fetchFor?(providerId: string, proxy: ProxyConfig): typeof fetch
  logger?: Logger
}

export interface Gateway {
  /** The Hono app; `app.fetch` is all a runtime needs. */
  app: Hono
  /** Fetch handler, bound. */
  fetch: Hono['fetch']
  /** Resolves once every plugin's `setup` finished (`GET /ready` answers 200 from then on). */
  ready: Promise<void>
  /** Waits for background work (`ctx.waitUntil`) and closes plugins and storage. */
  close(): Promise<void>
  /** Ids of the providers that can serve requests. */
  providers: string[]
  /** Live per-provider load: upstream requests in flight, callers queued, keys cooling down. */
  stats(): GatewayStats
}

/** Builds the gateway: surfaces from the provider packages, hooks from the plugins. */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options
  const log = options.logger ?? createLogger('info')
  const storage = options.storage ?? createStorage()
  const atomic = options.atomic ?? createMemoryAtomicStore()
  const plugins = options.plugins ?? []
  const definitions = new Map<string, ProviderDefinition>()
  for (const definition of options.providers instanceof Map ? options.providers.values() : (options.providers as ProviderDefinition[])) {
    definitions.set(definition.id, definition)
  }

  const registered = new Map<string, RegisteredProvider>()
  for (const [id, providerConfig] of Object.entries(config.providers)) {
    const definition = definitions.get(id)
    if (!definition) throw new Error(`provider "${id}" is configured but no provider package was loaded for it`)
    const issues = definition.validateConfig?.(providerConfig) ?? []
    if (issues.length > 0) throw new ConfigError(issues.map((issue) => `providers.${id}.${issue}`))
    const proxy = providerConfig.proxy_config
    if (proxy && !options.fetchFor) throw new Error(`providers.${id}.proxy_config is set, but this runtime cannot send requests through a proxy`)
    const fetchFor = proxy ? options.fetchFor!(id, proxy) : undefined
    registered.set(id, registerProvider(id, definition, providerConfig, { dropExcessRequests: config.client.drop_excess_requests, fetch: fetchFor }))
  }
  for (const [id, definition] of definitions) {
    if (!registered.has(id)) registered.set(id, registerProvider(id, definition, { keys: [] }))
  }
  for (const provider of registered.values()) {
    for (const target of provider.fallbacks) {
      try {
        resolveModel(target, registered, provider.id)
      } catch {
        throw new Error(`providers.${provider.id}.fallbacks: "${target}" names a provider that is not loaded`)
      }
    }
  }
  const stats = () => collectStats(registered)

  const pending = new Set<Promise<unknown>>()
  const waitUntil = (promise: Promise<unknown>) => {
    const tracked = promise.catch((error) => log.error('background task failed', { error: String(error) })).finally(() => pending.delete(tracked))
    pending.add(tracked)
  }
  const hooks = createHookRunner(plugins, log)

  const accounting = createAccounting(hooks)

  /** The hooks of a request a plugin's own route serves (files, batches): see `PluginSetupContext.admit`. */
  async function admit(request: Request, call: AdmitCall): Promise<AdmittedRequest> {
    const ctx: RequestContext = {
      id: `req_${crypto.randomUUID().replaceAll('-', '')}`,
      surface: call.surface,
      operation: call.operation,
      requestedModel: '',
      provider: undefined,
      model: undefined,
      stream: false,
      headers: request.headers,
      config,
      storage,
      log,
      signal: request.signal,
      waitUntil,
      state: new Map(),
      warnings: [],
      startedAt: performance.now(),
      route: undefined,
    }
    const hookCtx = toHookContext(ctx)
    const state: CallState = { attempts: 0, retries: 0, fallbackIndex: 0 }
    const failed = (error: GatewayError) => {
      accounting.afterUpstream(ctx, { ok: false, error })
      accounting.finish(ctx, state, { status: error.status, usage: undefined, error, firstByteMs: undefined, aborted: request.signal.aborted })
    }
    try {
      if (hooks.has.onRequest) await hooks.onRequest(hookCtx)
    } catch (caught) {
      const error = toGatewayError(caught)
      failed(error)
      throw error
    }
    let answered = false
    return {
      ctx: hookCtx,
      respond(response, error) {
        if (answered) return response
        answered = true
        // A new response rather than the route's: the headers of one taken from `fetch` are
        // immutable, and a runtime's own Response class may not carry later header changes over.
        const headers = new Headers(response.headers)
        headers.set('x-request-id', ctx.id)
        const init = { status: response.status, statusText: response.statusText, headers }
        if (error) {
          failed(error)
          return new Response(response.body, init)
        }
        if (!response.body) {
          accounting.afterUpstream(ctx, { ok: true, status: response.status, usage: undefined })
          accounting.finish(ctx, state, { status: response.status, usage: undefined, error: undefined, firstByteMs: undefined, aborted: false })
          return new Response(null, init)
        }
        // `afterUpstream` and `onFinish` once the body was sent (or the caller left).
        return new Response(accounting.observe(ctx, state, response.body, { status: response.status, usage: () => undefined, error: () => undefined }), init)
      },
    }
  }

  /** One upstream request of a plugin, outside a model call: see `PluginSetupContext.send`. */
  function send(id: string, call: PluginUpstreamCall): Promise<SendResult> {
    const provider = registered.get(id)
    if (!provider || !provider.usable) {
      return Promise.reject(GatewayError.badRequest(provider ? `[${id}] provider has no keys configured` : `unknown provider "${id}"; configured: ${[...registered.keys()].join(', ')}`))
    }
    const passthroughOf = (context: UpstreamContext) => (path: string) => {
      const target = provider.definition.upstream?.passthrough
      if (!target) throw GatewayError.badRequest(`[${id}] provider has no same-dialect API to send ${path} to`)
      return target(path, context)
    }
    return sendUpstream({ route: { provider, model: call.model ?? '' }, directKey: undefined, signal: call.signal ?? new AbortController().signal, fetch: options.fetch ?? fetch, build: (context) => call.build(context, passthroughOf(context)) })
  }

  /** What a plugin's `setup` and `routes` receive: the config, its own options, storage, log. */
  const setupContextOf = (plugin: PluginDefinition): PluginSetupContext => {
    const options = config.plugins.find((entry) => entry.name === plugin.name)?.config
    return { config, options, storage, atomic, log, stats, dispatch: async (request) => app.fetch(request), admit, send }
  }
  const ready = (async () => {
    for (const plugin of plugins) await plugin.setup?.(setupContextOf(plugin))
  })()
  let state: 'starting' | 'ready' | 'failed' | 'closing' = 'starting'
  ready.then(
    () => {
      if (state === 'starting') state = 'ready'
    },
    (error) => {
      state = 'failed'
      log.error('plugin setup failed', { error: String((error as Error)?.message ?? error) })
    },
  )

  const app = new Hono()
  /** Liveness: the process serves HTTP. */
  app.get('/health', (c) => c.json({ status: 'ok' }))
  /** Readiness: plugins are set up, the storage answers, and the gateway is not shutting down (503 otherwise). */
  app.get('/ready', async (c) => {
    if (state !== 'ready') return c.json({ status: state }, 503)
    const problem = await probeStorage(storage)
    return problem ? c.json({ status: 'unavailable', reason: problem }, 503) : c.json({ status: state }, 200)
  })
  // Headers plugins set on `ctx.responseHeaders` go onto every response below this point
  // (a plugin route that admits its callers through their hooks included).
  if (plugins.length > 0) {
    app.use('*', async (c, next) => {
      await next()
      const response = applyResponseHeaders(c.req.raw, c.res)
      if (response !== c.res) c.res = response
    })
  }
  // Plugins' own routes (`GET /metrics` ...): after the probes, before the surfaces.
  for (const plugin of plugins) plugin.routes?.(app, setupContextOf(plugin))
  /** Surfaces by mount point, so a 404 under `/openai` is rendered in OpenAI's dialect. */
  const mounted: Array<{ basePath: string; surface: SurfaceDefinition }> = []

  for (const definition of definitions.values()) {
    const surface = definition.surface
    if (!surface) continue
    const dialect = surface.dialect ?? definition.dialect ?? definition.id
    const host = createSurfaceHost({ surface, dialect, config, providers: registered, hooks, storage, log, fetch: options.fetch ?? fetch, waitUntil })
    const sub = new Hono()
    sub.onError((error) => surface.renderError(GatewayError.is(error) ? error : new GatewayError({ status: 500, code: 'internal', message: 'internal gateway error', cause: error })))
    surface.routes(sub, host)
    app.route(surface.basePath, sub)
    mounted.push({ basePath: surface.basePath, surface })
  }

  // Hono calls only the top-level notFound, also for paths under a mounted sub-app.
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname
    const message = `no route for ${c.req.method} ${path}`
    const owner = mounted.find(({ basePath }) => path === basePath || path.startsWith(`${basePath}/`))
    if (owner) return owner.surface.renderError(new GatewayError({ status: 404, code: 'not_found', type: 'not_found_error', message, retryable: false }))
    return c.json({ error: { message, type: 'not_found' } }, 404)
  })
  app.onError((error, c) => {
    log.error('unhandled error', { error: String((error as Error)?.stack ?? error) })
    return c.json({ error: { message: 'internal gateway error', type: 'internal_error' } }, 500)
  })

  return {
    app,
    fetch: app.fetch,
    ready,
    providers: [...registered.values()].filter((provider) => provider.usable).map((provider) => provider.id),
    stats,
    async close() {
      state = 'closing'
      // onFinish is started from a timer once the last byte is out: let timers already set fire,
      // so their work is tracked, then drain until no background work is left.
      await new Promise((resolve) => setTimeout(resolve, 0))
      while (pending.size > 0) await Promise.allSettled([...pending])
      for (const plugin of plugins) await plugin.close?.()
      await storage.dispose()
      await atomic.close()
    },
  }
}
