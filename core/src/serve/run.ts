import type { Storage } from 'unstorage'
import type { AtomicStore, SharedState, SharedStateModule } from '../atomic.js'
import { configFromEnv, parseConfig, type Config, type ProxyConfig, type StorageConfig } from '../config.js'
import { createGateway, type Gateway } from '../gateway.js'
import { isMissingPackage, loadExtensions } from '../load.js'
import type { PluginDefinition } from '../plugin.js'
import { createLogger, type Logger, type LogLevel } from '../log.js'
import { parseServeArgs, serveUsage, UsageError, type ServeArgs } from './args.js'
import { superviseWorkers, type ShutdownSignal, type WorkerProcess } from './supervise.js'

/** Provider packages every runtime loads: their surfaces serve even when not configured. */
export const BUILTIN_PROVIDERS = ['openai', 'anthropic', 'gemini', 'mock'] as const

/** How long a stopping server lets in-flight requests finish before it cuts them (ms). */
export const SHUTDOWN_GRACE_MS = 10_000

type Env = Readonly<Record<string, string | undefined>>
type FetchHandler = (request: Request) => Response | Promise<Response>

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']

/** `$SWITCHYARD_LOG_LEVEL` when it names a level, else `info`. */
export function logLevelFrom(env: Env): LogLevel {
  const level = env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined
  return level && LOG_LEVELS.includes(level) ? level : 'info'
}

/**
 * The config from an object, a file (read through `readText`) or the environment, validated.
 * `source` says which: `inline`, the path, or `environment`.
 */
export async function readConfig(options: { config?: unknown; path?: string; env: Env; readText?: (path: string) => Promise<string> }): Promise<{ config: Config; source: string }> {
  const env = options.env as Record<string, string | undefined>
  if (options.config !== undefined) return { config: parseConfig(options.config, env, 'inline'), source: 'inline' }
  if (options.path) {
    if (!options.readText) throw new Error(`cannot read config ${options.path}: no file access on this runtime`)
    let json: unknown
    try {
      json = JSON.parse(await options.readText(options.path))
    } catch (error) {
      throw new Error(`cannot read config ${options.path}: ${(error as Error).message}`)
    }
    return { config: parseConfig(json, env, options.path), source: options.path }
  }
  return { config: configFromEnv(env), source: 'environment' }
}

/** The package that enforces the config's `governance` block. */
export const GOVERNANCE_PACKAGE = '@switchyard/plugin-governance'

/** The package that provides a `storage.type` backend: `storage.package`, else `@switchyard/plugin-<type>`. */
export function sharedStatePackage(storage: StorageConfig): string {
  return storage.package ?? `@switchyard/plugin-${storage.type}`
}

/** Storage and counters of a `storage` config block, from its package (loaded by name, never imported by the core). */
export async function openSharedState(storage: StorageConfig, options: { logger: Logger; importModule?: (specifier: string) => Promise<unknown> }): Promise<SharedState> {
  const name = sharedStatePackage(storage)
  const load = options.importModule ?? ((specifier: string) => import(specifier))
  let module: Partial<SharedStateModule>
  try {
    module = (await load(name)) as Partial<SharedStateModule>
  } catch (error) {
    const hint = isMissingPackage(error, name) ? ` (install it: npm install ${name})` : ''
    throw new Error(`storage.type "${storage.type}": cannot load package "${name}"${hint}: ${(error as Error).message}`)
  }
  if (typeof module.createSharedState !== 'function') throw new Error(`storage.type "${storage.type}": package "${name}" has no createSharedState export`)
  return module.createSharedState({ url: storage.url, prefix: storage.prefix, log: options.logger })
}

/**
 * The governance plugin when the config has a `governance` block and does not list the plugin
 * itself (a listed entry, enabled or not, is the user's choice of place and state).
 */
async function governanceFor(config: Config, plugins: readonly PluginDefinition[], importModule?: (specifier: string) => Promise<unknown>): Promise<PluginDefinition | undefined> {
  if ((config as { governance?: unknown }).governance === undefined) return undefined
  if (config.plugins.some((entry) => entry.name === GOVERNANCE_PACKAGE) || plugins.some((plugin) => plugin.name === GOVERNANCE_PACKAGE)) return undefined
  const load = importModule ?? ((specifier: string) => import(specifier))
  let module: unknown
  try {
    module = await load(GOVERNANCE_PACKAGE)
  } catch (error) {
    throw new Error(`the config has a governance block, but package "${GOVERNANCE_PACKAGE}" cannot be loaded: ${(error as Error).message}`)
  }
  const exported = (module as { default?: unknown }).default ?? module
  const plugin = (typeof exported === 'function' ? (exported as (options: unknown) => PluginDefinition)(undefined) : exported) as PluginDefinition
  if (!plugin || typeof plugin !== 'object' || typeof plugin.hooks !== 'object') throw new Error(`package "${GOVERNANCE_PACKAGE}" does not export a plugin`)
  return { ...plugin, name: GOVERNANCE_PACKAGE }
}

/**
 * Loads the packages the config names (plus the built-in providers) and builds a ready gateway.
 * With a `storage` block the shared backend replaces the runtime's store (which is disposed);
 * with a `governance` block the governance plugin runs first, before the listed plugins.
 */
export async function buildGateway(options: {
  config: Config
  storage: Storage
  /** Exact counters; default: from the config's `storage` backend, else in memory. */
  atomic?: AtomicStore
  logger: Logger
  fetch?: typeof fetch
  /** The runtime's proxy transport for providers with `proxy_config` (see `GatewayOptions.fetchFor`). */
  fetchFor?: (providerId: string, proxy: ProxyConfig) => typeof fetch
  importModule?: (specifier: string) => Promise<unknown>
}): Promise<Gateway> {
  let storage = options.storage
  let atomic = options.atomic
  if (options.config.storage) {
    const shared = await openSharedState(options.config.storage, { logger: options.logger, importModule: options.importModule })
    await storage.dispose()
    storage = shared.storage
    atomic = shared.atomic
  }
  const release = async () => {
    if (storage === options.storage) return
    await storage.dispose().catch(() => undefined)
    await atomic?.close().catch(() => undefined)
  }
  let gateway: Gateway
  try {
    const { providers, plugins } = await loadExtensions(options.config, { builtins: BUILTIN_PROVIDERS, importModule: options.importModule })
    const governance = await governanceFor(options.config, plugins, options.importModule)
    gateway = createGateway({ config: options.config, providers, plugins: governance ? [governance, ...plugins] : plugins, storage, atomic, logger: options.logger, fetch: options.fetch, fetchFor: options.fetchFor })
  } catch (error) {
    await release()
    throw error
  }
  try {
    await gateway.ready
  } catch (error) {
    await gateway.close().catch(() => undefined)
    throw error
  }
  return gateway
}

/** Stamps `x-switchyard-worker: <pid>` on every response (`SWITCHYARD_DEBUG_WORKER=1` only: the pid is not the caller's business). */
export function exposeWorker(handler: FetchHandler, pid: number): FetchHandler {
  return async (request) => {
    const response = await handler(request)
    const stamped = new Response(response.body, response)
    stamped.headers.set('x-switchyard-worker', String(pid))
    return stamped
  }
}

/** `http://host:port`, with an IPv6 address in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** A listening HTTP server, as a runtime's `listen` returns it. */
export interface ListeningServer {
  /** `http://host:port`, the port resolved when 0 was asked for. */
  url: string
  /** Stops accepting connections; resolves once in-flight requests have finished. */
  stop(): Promise<void>
  /** Cuts the connections still open (after the grace period). */
  abort?(): void
}

/** `server.stop()`, bounded: after `graceMs` the remaining connections are cut. */
export async function stopServer(server: ListeningServer, graceMs: number = SHUTDOWN_GRACE_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))
  const timedOut = await Promise.race([server.stop().then(() => false), expired])
  clearTimeout(timer)
  if (timedOut) server.abort?.()
}

/** How a runtime runs several processes on one port (`--workers N`). */
export interface WorkerHost {
  /** `primary` supervises; `worker` serves (with `reusePort`) and reports `listening`. */
  role: 'primary' | 'worker'
  /** Starts one worker serving `port`. */
  spawn(options: { slot: number; port: number }): WorkerProcess
  /** Worker side: tells the primary it accepts requests (when the runtime does not report it itself). */
  listening?(): void
  /** Primary side: a concrete free port for `--port 0`, when workers bind their own sockets. */
  freePort?(host: string): Promise<number>
}

/** Everything runtime-specific `runServer` needs; each runtime package implements this in a few lines. */
export interface ServeHost {
  /** The command name, for usage and messages (`switchyard`, `switchyard-bun` ...). */
  command: string
  /** `node`, `bun`, `deno`: in the start log line. */
  runtime: string
  /** Arguments after the script. */
  argv: readonly string[]
  env: Env
  pid: number
  write(stream: 'stdout' | 'stderr', text: string): void
  exit(code: number): void
  /** Absolute path for a path given on the command line. */
  resolvePath(path: string): string
  readText(path: string): Promise<string>
  /** The file store at an absolute directory. */
  createStorage(directory: string): Storage
  /** Resolves provider and plugin packages from the runtime package (default: from core). */
  importModule?(specifier: string): Promise<unknown>
  /** Upstream transport through a provider's `proxy_config`; absent: such a config fails at start. */
  fetchFor?(providerId: string, proxy: ProxyConfig): typeof fetch
  /** Upstream transport for every provider without `proxy_config` (default: the global `fetch`). */
  fetch?: typeof fetch
  listen(handler: FetchHandler, options: { port: number; host: string; reusePort: boolean }): Promise<ListeningServer>
  /** Calls `handler` on SIGTERM and on SIGINT. */
  onSignal(handler: (signal: ShutdownSignal) => void): void
  /** Absent: `--workers` above 1 is refused. */
  workers?: WorkerHost
}

/**
 * The whole CLI: flags, config, storage, gateway, server, the one-line start log, and a
 * graceful stop on SIGTERM/SIGINT (in-flight requests finish, then exit 0). Exit 2 for a
 * bad command line, 1 for a config or start failure.
 */
export async function runServer(host: ServeHost): Promise<void> {
  const fail = (code: number, message: string) => {
    host.write('stderr', `${message}\n`)
    host.exit(code)
  }
  let args: ServeArgs
  try {
    args = parseServeArgs(host.argv, host.env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    return fail(2, `${error.message}\n\n${serveUsage(host.command)}`)
  }
  if (args.help) {
    host.write('stdout', `${serveUsage(host.command)}\n`)
    return host.exit(0)
  }
  const log = createLogger(logLevelFrom(host.env), (line) => host.write('stderr', `${line}\n`))
  const workers = args.workers > 1 ? host.workers : undefined
  if (args.workers > 1 && !workers) return fail(2, `${host.command}: --workers is not supported on ${host.runtime} (see docs/runtimes.md)`)

  let loaded: { config: Config; source: string }
  try {
    loaded = await readConfig({ path: args.configPath && host.resolvePath(args.configPath), env: host.env, readText: host.readText })
  } catch (error) {
    return fail(1, `${host.command}: ${(error as Error).message}`)
  }
  // --redis / $SWITCHYARD_REDIS_URL: shared state in Redis, whatever the config's own storage says.
  if (args.redis) loaded.config.storage = { type: 'redis', url: args.redis, prefix: loaded.config.storage?.prefix ?? 'switchyard:' }
  if (workers && !loaded.config.storage && (loaded.config as { governance?: unknown }).governance !== undefined) {
    log.warn('governance with --workers keeps budgets and rate limits per process; use --redis (or config storage) so they hold across workers')
  }

  if (workers?.role === 'primary') {
    const port = args.port === 0 && workers.freePort ? await workers.freePort(args.host) : args.port
    log.info(`switchyard starting ${args.workers} workers`, { runtime: host.runtime, primary: host.pid, port, config: loaded.source })
    return superviseWorkers({ count: args.workers, spawn: (slot) => workers.spawn({ slot, port }), log, onSignal: (handler) => host.onSignal(handler), exit: (code) => host.exit(code), graceMs: SHUTDOWN_GRACE_MS })
  }

  let gateway: Gateway
  let server: ListeningServer
  try {
    gateway = await buildGateway({ config: loaded.config, storage: host.createStorage(host.resolvePath(args.dataDir)), logger: log, importModule: host.importModule, fetch: host.fetch, fetchFor: host.fetchFor && ((id, proxy) => host.fetchFor!(id, proxy)) })
    const handler = host.env.SWITCHYARD_DEBUG_WORKER === '1' ? exposeWorker(gateway.fetch, host.pid) : gateway.fetch
    server = await host.listen(handler, { port: args.port, host: args.host, reusePort: workers !== undefined })
  } catch (error) {
    return fail(1, `${host.command}: ${(error as Error).message}`)
  }
  log.info(`switchyard listening on ${server.url}`, { providers: gateway.providers, config: loaded.source, runtime: host.runtime, ...(workers ? { worker: host.pid } : {}) })
  workers?.listening?.()

  let stopping = false
  host.onSignal((signal) => {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal })
    stopServer(server)
      .then(() => gateway.close())
      .then(
        () => host.exit(0),
        (error) => {
          log.error('shutdown failed', { error: String(error) })
          host.exit(1)
        },
      )
  })
}
