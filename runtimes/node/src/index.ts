import { readFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { createLogger, type Config, type Gateway, type Logger } from '@switchyard/core'
import { buildGateway, httpUrl, logLevelFrom, readConfig, SHUTDOWN_GRACE_MS, stopServer, type ListeningServer } from '@switchyard/core/serve'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { withFastBodies } from './incoming.js'
import { createProxyTransports } from './proxy.js'
import { transportFromEnv } from './transport.js'

export { BUILTIN_PROVIDERS } from '@switchyard/core/serve'
export { createProxyTransports, proxyAgentOptions, type ProxyTransports } from './proxy.js'
export { createNodeTransport, transportFromEnv, type NodeTransport, type NodeTransportOptions } from './transport.js'

export interface StartOptions {
  /** Path of a config.json; without it providers come from the usual env vars. */
  configPath?: string
  /** A config object instead of a file (tests, embedding). */
  config?: unknown
  port?: number
  host?: string
  /** File store directory (default `./.switchyard`); `null` keeps state in memory. */
  dataDir?: string | null
  logger?: Logger
  /** Upstream transport; default: the pooled undici transport (`SWITCHYARD_UPSTREAM_TRANSPORT=fetch`: the global fetch). */
  fetch?: typeof fetch
  env?: Record<string, string | undefined>
}

export interface RunningGateway {
  gateway: Gateway
  server: ServerType
  url: string
  port: number
  config: Config
  configSource: string
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the gateway. */
  close(graceMs?: number): Promise<void>
}

/** Reads, validates and resolves the config from a file, an object or the environment. */
export function loadConfig(options: Pick<StartOptions, 'configPath' | 'config' | 'env'>): Promise<{ config: Config; source: string }> {
  return readConfig({ config: options.config, path: options.configPath && resolve(options.configPath), env: options.env ?? process.env, readText: (path) => readFile(path, 'utf8') })
}

/** Makes the storage the runtime hands to the core: a file directory, or memory. */
export function createNodeStorage(dataDir: string | null | undefined): Storage {
  if (dataDir === null) return createStorage()
  return createStorage({ driver: fsDriver({ base: resolve(dataDir ?? '.switchyard') }) })
}

/** A Node HTTP server for a fetch handler (`@hono/node-server`). */
export interface NodeServer extends ListeningServer {
  server: ServerType
  port: number
}

/** Serves `handler` on Node; resolves once the port is bound (in a cluster worker: shared with the others). */
export async function listenNode(handler: (request: Request) => Response | Promise<Response>, options: { port: number; host: string }): Promise<NodeServer> {
  const server = await new Promise<ServerType>((resolveServer, reject) => {
    // Request bodies and the abort signal without a full WHATWG Request per call (see incoming.ts).
    const created = serve({ fetch: withFastBodies(handler), port: options.port, hostname: options.host }, () => resolveServer(created))
    created.once('error', reject)
  })
  const http = server as Server
  const address = http.address() as AddressInfo
  return {
    server,
    port: address.port,
    url: httpUrl(address.address, address.port),
    stop: () =>
      new Promise<void>((done) => {
        http.close(() => done())
        http.closeIdleConnections()
      }),
    abort: () => http.closeAllConnections(),
  }
}

/** Starts the gateway on Node in this process: config, storage, packages by name, HTTP server. */
export async function startGateway(options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(logLevelFrom(process.env))
  const { config, source } = await loadConfig(options)
  const proxies = createProxyTransports()
  const transport = options.fetch ? undefined : transportFromEnv(options.env ?? process.env)
  const closeTransports = () => Promise.all([proxies.close(), transport?.close()]).then(() => undefined)
  const gateway = await buildGateway({ config, storage: createNodeStorage(options.dataDir), logger, fetch: options.fetch ?? transport?.fetch, fetchFor: proxies.fetchFor }).catch(async (error: unknown) => {
    await closeTransports()
    throw error
  })
  const listening = await listenNode(gateway.fetch, { port: options.port ?? 8080, host: options.host ?? '127.0.0.1' }).catch(async (error: unknown) => {
    await gateway.close()
    await closeTransports()
    throw error
  })
  let closing: Promise<void> | undefined
  return {
    gateway,
    server: listening.server,
    config,
    configSource: source,
    port: listening.port,
    url: listening.url,
    close(graceMs = SHUTDOWN_GRACE_MS) {
      closing ??= stopServer(listening, graceMs)
        .then(() => gateway.close())
        .then(closeTransports)
      return closing
    },
  }
}
