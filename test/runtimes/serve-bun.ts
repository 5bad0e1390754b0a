/**
 * Smoke-test entry: the unchanged gateway, built from source, served by `Bun.serve`.
 * Not the Bun runtime package, only proof that core and providers run on Bun.
 *
 *   PORT=0 bun --conditions=switchyard-source test/runtimes/serve-bun.ts
 *
 * Config comes from the environment (`configFromEnv`: `mock` plus any provider whose usual
 * key variable is set); state is in memory. Prints `listening <url>` once it accepts requests.
 */
import { configFromEnv, createGateway, createLogger, loadExtensions, type LogLevel } from '@switchyard/core'
import { createStorage } from 'unstorage'

/** The part of Bun's API this entry uses (the repo type-checks against Node types only). */
declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): {
    port: number
    stop(closeActiveConnections?: boolean): Promise<void>
  }
}

const env = process.env
const config = configFromEnv(env)
const logger = createLogger((env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined) ?? 'warn')
const { providers, plugins } = await loadExtensions(config, { builtins: ['openai', 'mock'] })
const gateway = createGateway({ config, providers, plugins, logger, storage: createStorage() })
await gateway.ready

const hostname = '127.0.0.1'
const server = Bun.serve({ port: Number(env.PORT ?? 0), hostname, fetch: (request) => gateway.fetch(request) })
console.log(`listening http://${hostname}:${server.port}`)

const stop = async () => {
  await server.stop()
  await gateway.close()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
