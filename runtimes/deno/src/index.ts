import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { resolve } from 'node:path'
import { serve } from '@hono/node-server'
import { httpUrl, type ListeningServer, type ServeHost } from '@switchyard/core/serve'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { requireDeno, type DenoWriter } from './deno-api.js'
import { denoFetchFor } from './proxy.js'

export { denoClientOptions, denoFetchFor } from './proxy.js'

/** The file store at `directory` (unstorage fs-lite, through Deno's `node:fs`). */
export function createDenoStorage(directory: string): Storage {
  return createStorage({ driver: fsDriver({ base: resolve(directory) }) })
}

/**
 * Serves `handler` with Deno's `node:http` server (through `@hono/node-server`, as on Node);
 * resolves once the port is bound. Not `Deno.serve`: once a request body outgrew the server's
 * first read (any body over a few hundred bytes), `Deno.serve` no longer notices a caller who
 * disconnects before the response has started, and the gateway must then stop the upstream
 * call at once (docs/runtimes.md, "Deno, disconnects").
 */
export function listenDeno(handler: (request: Request) => Response | Promise<Response>, options: { port: number; host: string }): Promise<ListeningServer> {
  return new Promise((done, reject) => {
    const server = serve({ fetch: handler, port: options.port, hostname: options.host }, ({ port }) =>
      done({
        url: httpUrl(options.host, port),
        stop: () =>
          new Promise<void>((stopped) => {
            stopping = true
            http.close(() => stopped())
            // Deno's closeIdleConnections() leaves connections that never sent a request (an SDK's spare one) open.
            for (const [socket, active] of requests) if (active === 0) socket.destroy()
          }),
        abort: () => http.closeAllConnections(),
      }),
    )
    const http = server as Server
    http.once('error', reject)
    /** Requests in flight per connection, so that shutdown closes every idle one (and each as it becomes idle). */
    const requests = new Map<Socket, number>()
    let stopping = false
    http.on('connection', (socket: Socket) => {
      requests.set(socket, 0)
      socket.once('close', () => requests.delete(socket))
    })
    http.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket
      requests.set(socket, (requests.get(socket) ?? 0) + 1)
      response.once('close', () => {
        const active = (requests.get(socket) ?? 1) - 1
        requests.set(socket, active)
        if (stopping && active === 0) socket.destroy()
      })
    })
  })
}

const encoder = new TextEncoder()
function writeAll(writer: DenoWriter, text: string): void {
  for (let bytes = encoder.encode(text); bytes.length > 0; ) bytes = bytes.subarray(writer.writeSync(bytes))
}

/** Everything `runServer` needs from Deno (no `workers`: `deno serve --parallel` is Deno's multi-core way, see `./serve`). */
export function denoHost(): ServeHost {
  const Deno = requireDeno()
  return {
    command: 'switchyard-deno',
    runtime: 'deno',
    argv: Deno.args,
    env: Deno.env.toObject(),
    pid: Deno.pid,
    write: (stream, text) => writeAll(stream === 'stdout' ? Deno.stdout : Deno.stderr, text),
    exit: (code) => Deno.exit(code),
    resolvePath: (path) => resolve(path),
    readText: (path) => Deno.readTextFile(path),
    createStorage: createDenoStorage,
    importModule: (specifier) => import(specifier),
    fetchFor: denoFetchFor,
    listen: (handler, options) => listenDeno(handler, options),
    onSignal(handler) {
      Deno.addSignalListener('SIGTERM', () => handler('SIGTERM'))
      Deno.addSignalListener('SIGINT', () => handler('SIGINT'))
    },
  }
}
