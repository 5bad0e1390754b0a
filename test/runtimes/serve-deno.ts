/**
 * Smoke-test entry: the unchanged gateway, built from source, served by `Deno.serve`.
 * Not the Deno runtime package, only proof that core and providers run on Deno.
 *
 *   PORT=0 deno run --conditions=switchyard-source --sloppy-imports \
 *     --allow-net=127.0.0.1 --allow-env --allow-read test/runtimes/serve-deno.ts
 *
 * Deno resolves `@switchyard/*` through the workspace symlinks in node_modules (package.json
 * present, so the existing node_modules is used as is), and `--conditions` picks the `src/*.ts`
 * exports. `--sloppy-imports` is needed because the sources import `./x.js` for `./x.ts` (the
 * NodeNext convention), which Deno does not map by default.
 *
 * Config comes from the environment (`configFromEnv`); state is in memory. Prints
 * `listening <url>` once it accepts requests.
 */
import { configFromEnv, createGateway, createLogger, loadExtensions, type LogLevel } from '@switchyard/core'
import { createStorage } from 'unstorage'

/** The part of Deno's API this entry uses (the repo type-checks against Node types only). */
declare const Deno: {
  env: { toObject(): Record<string, string> }
  serve(
    options: { port: number; hostname: string; onListen(address: { hostname: string; port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> }
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void
  exit(code?: number): never
}

const env = Deno.env.toObject()
const config = configFromEnv(env)
const logger = createLogger((env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined) ?? 'warn')
const { providers, plugins } = await loadExtensions(config, { builtins: ['openai', 'mock'] })
const gateway = createGateway({ config, providers, plugins, logger, storage: createStorage() })
await gateway.ready

const server = Deno.serve(
  { port: Number(env.PORT ?? 0), hostname: '127.0.0.1', onListen: ({ hostname, port }) => console.log(`listening http://${hostname}:${port}`) },
  (request) => gateway.fetch(request),
)

const stop = async () => {
  await server.shutdown()
  await gateway.close()
  Deno.exit(0)
}
Deno.addSignalListener('SIGTERM', stop)
Deno.addSignalListener('SIGINT', stop)
