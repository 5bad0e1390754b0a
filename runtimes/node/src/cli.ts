import cluster from 'node:cluster'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { runServer, type WorkerProcess } from '@switchyard/core/serve'
import { createNodeStorage, listenNode } from './index.js'
import { createProxyTransports } from './proxy.js'
import { transportFromEnv } from './transport.js'

/** One `node:cluster` worker: it shares the primary's listening socket, so no port juggling. */
function forkWorker(): WorkerProcess {
  const worker = cluster.fork()
  return {
    pid: worker.process.pid!,
    listening: new Promise((done) => worker.once('listening', () => done())),
    exited: new Promise((done) => worker.once('exit', (code: number | null, signal: string | null) => done({ code, signal }))),
    kill: (signal) => worker.process.kill(signal),
  }
}

let transport: ReturnType<typeof transportFromEnv>
try {
  transport = transportFromEnv(process.env)
} catch (error) {
  process.stderr.write(`switchyard: ${(error as Error).message}\n`)
  process.exit(1)
}

await runServer({
  command: 'switchyard',
  runtime: 'node',
  argv: process.argv.slice(2),
  env: process.env,
  pid: process.pid,
  write: (stream, text) => process[stream].write(text),
  exit: (code) => process.exit(code),
  resolvePath: (path) => resolve(path),
  readText: (path) => readFile(path, 'utf8'),
  createStorage: (directory) => createNodeStorage(directory),
  importModule: (specifier) => import(specifier),
  // The process exits on shutdown, which closes the pooled and proxy connections with it.
  fetch: transport?.fetch,
  fetchFor: createProxyTransports().fetchFor,
  listen: (handler, { port, host }) => listenNode(handler, { port, host }),
  onSignal(handler) {
    process.on('SIGTERM', () => handler('SIGTERM'))
    process.on('SIGINT', () => handler('SIGINT'))
  },
  workers: { role: cluster.isPrimary ? 'primary' : 'worker', spawn: forkWorker },
})
