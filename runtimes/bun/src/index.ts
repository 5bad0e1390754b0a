import { resolve } from 'node:path'
import { httpUrl, type ListeningServer, type ServeHost, type WorkerHost } from '@switchyard/core/serve'
import { createStorage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { bun, type BunApi } from './bun-api.js'
import { bunFetchFor } from './proxy.js'

export { bunFetchFor, bunProxyOptions, type BunProxyOptions } from './proxy.js'

/** Set in the processes a `--workers` primary starts (to the primary's pid). */
const WORKER_ENV = 'SWITCHYARD_WORKER_OF'

function requireBun(): BunApi {
  if (!bun) throw new Error('@switchyard/bun runs on Bun (https://bun.sh); on Node use @switchyard/node')
  return bun
}

/** Serves `handler` with `Bun.serve`; `reusePort` lets several processes share the port. */
export async function listenBun(handler: (request: Request) => Response | Promise<Response>, options: { port: number; host: string; reusePort?: boolean }): Promise<ListeningServer> {
  // Bun's default idle timeout (10 s) would cut an LLM stream that pauses longer; 255 s is its maximum.
  const server = requireBun().serve({ port: options.port, hostname: options.host, reusePort: options.reusePort, idleTimeout: 255, fetch: (request) => handler(request) })
  return { url: httpUrl(options.host, server.port), stop: () => server.stop(), abort: () => void server.stop(true) }
}

/** `--workers N` on Bun: N copies of this command, each binding the port with `reusePort` (load-balanced by Linux). */
function bunWorkers(): WorkerHost {
  const Bun = requireBun()
  return {
    role: process.env[WORKER_ENV] ? 'worker' : 'primary',
    spawn({ port }) {
      let listening!: () => void
      const started = new Promise<void>((done) => (listening = done))
      const command = [process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--port', String(port)]
      const child = Bun.spawn(command, { env: { ...process.env, [WORKER_ENV]: String(process.pid) }, stdio: ['ignore', 'inherit', 'inherit'], ipc: (message) => message === 'listening' && listening() })
      return { pid: child.pid, listening: started, exited: child.exited.then(() => ({ code: child.exitCode, signal: child.signalCode })), kill: (signal) => child.kill(signal) }
    },
    listening: () => process.send?.('listening'),
    async freePort(host) {
      const probe = Bun.serve({ port: 0, hostname: host, fetch: () => new Response(null, { status: 503 }) })
      const port = probe.port
      await probe.stop(true)
      return port
    },
  }
}

/** Everything `runServer` needs from Bun. */
export function bunHost(): ServeHost {
  const Bun = requireBun()
  return {
    command: 'switchyard-bun',
    runtime: 'bun',
    argv: process.argv.slice(2),
    env: process.env,
    pid: process.pid,
    write: (stream, text) => void process[stream].write(text),
    exit: (code) => process.exit(code),
    resolvePath: (path) => resolve(path),
    readText: (path) => Bun.file(path).text(),
    createStorage: (directory) => createStorage({ driver: fsDriver({ base: directory }) }),
    importModule: (specifier) => import(specifier),
    fetchFor: bunFetchFor,
    listen: (handler, options) => listenBun(handler, options),
    onSignal(handler) {
      process.on('SIGTERM', () => handler('SIGTERM'))
      process.on('SIGINT', () => handler('SIGINT'))
    },
    workers: bunWorkers(),
  }
}
