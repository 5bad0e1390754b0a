import { Hono } from 'hono'
import { createStorage, type Storage } from 'unstorage'
import type { Config } from './config.js'
import { GatewayError } from './errors.js'
import { createHookRunner } from './hooks.js'
import { createLogger, type Logger } from './log.js'
import type { PluginDefinition } from './plugin.js'
import type { ProviderDefinition, SurfaceDefinition } from './provider.js'
import { registerProvider, type RegisteredProvider } from './router.js'
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
  /** Upstream transport (default: global fetch). */
  fetch?: typeof fetch
  logger?: Logger
}

export interface Gateway {
  /** The Hono app; `app.fetch` is all a runtime needs. */
  app: Hono
  /** Fetch handler, bound. */
  fetch: Hono['fetch']
  /** Resolves once every plugin's `setup` finished. */
  ready: Promise<void>
  /** Waits for background work (`ctx.waitUntil`) and closes plugins and storage. */
  close(): Promise<void>
  /** Ids of the providers that can serve requests. */
  providers: string[]
}

/** Builds the gateway: surfaces from the provider packages, hooks from the plugins. */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options
  const log = options.logger ?? createLogger('info')
  const storage = options.storage ?? createStorage()
  const plugins = options.plugins ?? []
  const definitions = new Map<string, ProviderDefinition>()
  for (const definition of options.providers instanceof Map ? options.providers.values() : (options.providers as ProviderDefinition[])) {
    definitions.set(definition.id, definition)
  }

  const registered = new Map<string, RegisteredProvider>()
  for (const [id, providerConfig] of Object.entries(config.providers)) {
    const definition = definitions.get(id)
    if (!definition) throw new Error(`provider "${id}" is configured but no provider package was loaded for it`)
    registered.set(id, registerProvider(id, definition, providerConfig))
  }
  for (const [id, definition] of definitions) {
    if (!registered.has(id)) registered.set(id, registerProvider(id, definition, { keys: [] }))
  }

  const pending = new Set<Promise<unknown>>()
  const waitUntil = (promise: Promise<unknown>) => {
    const tracked = promise.catch((error) => log.error('background task failed', { error: String(error) })).finally(() => pending.delete(tracked))
    pending.add(tracked)
  }
  const hooks = createHookRunner(plugins, log)
  const ready = (async () => {
    const entries = config.plugins
    for (const plugin of plugins) {
      const options = entries.find((entry) => entry.name === plugin.name)?.config
      await plugin.setup?.({ config, options, storage, log })
    }
  })()
  ready.catch(() => {})

  const app = new Hono()
  app.get('/health', (c) => c.json({ status: 'ok' }))
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
    async close() {
      await Promise.allSettled([...pending])
      for (const plugin of plugins) await plugin.close?.()
      await storage.dispose()
    },
  }
}
