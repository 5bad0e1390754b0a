import { resolve } from 'node:path'
import { httpUrl, type ListeningServer, type ServeHost } from '@switchyard/core/serve'
import { createStorage, type Storage } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs-lite'
import { requireDeno, type DenoWriter } from './deno-api.js'

/** The file store at `directory` (unstorage fs-lite, through Deno's `node:fs`). */
export function createDenoStorage(directory: string): Storage {
  return createStorage({ driver: fsDriver({ base: resolve(directory) }) })
}

/** Serves `handler` with `Deno.serve`; resolves once the port is bound. */
export function listenDeno(handler: (request: Request) => Response | Promise<Response>, options: { port: number; host: string; reusePort?: boolean }): Promise<ListeningServer> {
  return new Promise((done, reject) => {
    try {
      const server = requireDeno().serve({ port: options.port, hostname: options.host, reusePort: options.reusePort, onListen: ({ port }) => done({ url: httpUrl(options.host, port), stop: () => server.shutdown() }) }, (request) => handler(request))
    } catch (error) {
      reject(error)
    }
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
    listen: (handler, options) => listenDeno(handler, options),
    onSignal(handler) {
      Deno.addSignalListener('SIGTERM', () => handler('SIGTERM'))
      Deno.addSignalListener('SIGINT', () => handler('SIGINT'))
    },
  }
}
