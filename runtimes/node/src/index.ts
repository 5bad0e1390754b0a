import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { configFromEnv, createGateway, createLogger, loadExtensions, parseConfig, type Config, type Gateway, type LogLevel, type Logger } from '@switchyard/core'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'

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
  /** Upstream transport (tests). */
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

/** Provider packages always loaded: their surfaces serve even when not configured. */
export const BUILTIN_PROVIDERS = ['openai', 'mock'] as const

/** Reads, validates and resolves the config from a file, an object or the environment. */
export async function loadConfig(options: Pick<StartOptions, 'configPath' | 'config' | 'env'>): Promise<{ config: Config; source: string }> {
  const env = options.env ?? process.env
  if (options.config !== undefined) return { config: parseConfig(options.config, env, 'inline'), source: 'inline' }
  if (options.configPath) {
    const path = resolve(options.configPath)
    let json: unknown
    try {
      json = JSON.parse(await readFile(path, 'utf8'))
    } catch (error) {
      throw new Error(`cannot read config ${path}: ${(error as Error).message}`)
    }
    return { config: parseConfig(json, env, path), source: path }
  }
  return { config: configFromEnv(env), source: 'environment' }
}

/** Makes the storage the runtime hands to the core: a file directory, or memory. */
export function createNodeStorage(dataDir: string | null | undefined): Storage {
  if (dataDir === null) return createStorage()
  return createStorage({ driver: fsDriver({ base: resolve(dataDir ?? '.switchyard') }) })
}

/** Starts the gateway on Node: config, storage, packages by name, HTTP server. */
export async function startGateway(options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger((process.env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined) ?? 'info')
  const { config, source } = await loadConfig(options)
  const { providers, plugins } = await loadExtensions(config, { builtins: BUILTIN_PROVIDERS })
  const gateway = createGateway({ config, providers, plugins, storage: createNodeStorage(options.dataDir), logger, fetch: options.fetch })
  await gateway.ready
  const server = await new Promise<ServerType>((resolveServer, reject) => {
    const created = serve({ fetch: gateway.fetch, port: options.port ?? 8080, hostname: options.host ?? '127.0.0.1' }, () => resolveServer(created))
    created.once('error', reject)
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined
  return {
    gateway,
    server,
    config,
    configSource: source,
    port: address.port,
    url: `http://${host}:${address.port}`,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        const http = server as import('node:http').Server
        await new Promise<void>((done) => {
          const timer = setTimeout(() => {
            http.closeAllConnections?.()
            done()
          }, graceMs)
          timer.unref()
          http.close(() => {
            clearTimeout(timer)
            done()
          })
          http.closeIdleConnections?.()
        })
        await gateway.close()
      })()
      return closing
    },
  }
}
