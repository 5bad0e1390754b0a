import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starting the gateway's CLI (`runtimes/<name>/src/cli.ts`, from source) as a child process
 * under Node, Bun or Deno, for the e2e harness and the runtime tests.
 *
 * Bun and Deno come from node_modules/.bin (the `bun` dev dependency; Deno from
 * `npm run setup:runtimes`), else PATH; SWITCHYARD_TEST_BUN / SWITCHYARD_TEST_DENO name
 * another binary.
 */

export type RuntimeName = 'node' | 'bun' | 'deno'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const inCI = process.env.CI === 'true' || process.env.CI === '1'

/** The runtime the e2e suite runs the gateway under: `$SWITCHYARD_TEST_RUNTIME`, default `node` (in process). */
export function testRuntime(): RuntimeName {
  const name = process.env.SWITCHYARD_TEST_RUNTIME || 'node'
  if (name !== 'node' && name !== 'bun' && name !== 'deno') throw new Error(`SWITCHYARD_TEST_RUNTIME must be node, bun or deno, got "${name}"`)
  return name
}

const found = new Map<string, string | undefined>()

/** The first candidate binary that answers `--version`, or undefined. */
export function findRuntimeBinary(name: 'bun' | 'deno'): string | undefined {
  if (!found.has(name)) {
    const override = process.env[`SWITCHYARD_TEST_${name.toUpperCase()}`]
    const local = join(repoRoot, 'node_modules', '.bin', name)
    const candidates = override ? [override] : [...(existsSync(local) ? [local] : []), name]
    found.set(name, candidates.find((candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0))
  }
  return found.get(name)
}

/**
 * Flags the Deno CLI gets in tests, as docs/runtimes.md tells users: the permissions, and
 * `--unstable-no-legacy-abort`, without which Deno aborts `request.signal` after every
 * successful response too (the gateway reads it as "the caller disconnected").
 */
export const DENO_FLAGS = ['--allow-net', '--allow-env', '--allow-read', '--allow-write', '--unstable-no-legacy-abort']

/** The command that runs a runtime's CLI from source with `args`. */
export function cliCommand(runtime: RuntimeName, args: readonly string[]): { command: string; args: string[] } {
  if (runtime === 'node') return { command: process.execPath, args: ['--conditions=switchyard-source', '--import', 'tsx', 'runtimes/node/src/cli.ts', ...args] }
  const binary = findRuntimeBinary(runtime)
  if (!binary) throw new Error(`${runtime} binary not found (node_modules/.bin/${runtime} or PATH): run \`npm run setup:runtimes\`, or set SWITCHYARD_TEST_${runtime.toUpperCase()}`)
  if (runtime === 'bun') return { command: binary, args: ['--conditions=switchyard-source', 'runtimes/bun/src/cli.ts', ...args] }
  // --sloppy-imports: the sources import `./x.js` for `./x.ts` (NodeNext style), which Deno does not map by default.
  return { command: binary, args: ['run', '--conditions=switchyard-source', '--sloppy-imports', '--no-prompt', ...DENO_FLAGS, 'runtimes/deno/src/cli.ts', ...args] }
}

export interface CliProcess {
  child: ChildProcess
  /** From the start log line (`switchyard listening on <url>`). */
  url: string
  /** Everything the process wrote so far (for failure messages). */
  output(): string
  /** Resolves when the process has ended, with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves with how the process ended. */
  stop(killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const OUTPUT_LIMIT = 200_000

/** Spawns a runtime's CLI and resolves once it logged its start line. */
export function startCli(runtime: RuntimeName, args: readonly string[], options: { env?: Record<string, string>; startupMs?: number } = {}): Promise<CliProcess> {
  const { command, args: argv } = cliCommand(runtime, args)
  const startupMs = options.startupMs ?? 30_000
  const child = spawn(command, argv, {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', SWITCHYARD_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const append = (chunk: string) => (output = (output + chunk).slice(-OUTPUT_LIMIT))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const describe = () => `${runtime}: ${command} ${argv.join(' ')}\n--- output\n${output}`
  const stop = (killAfterMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    child.kill('SIGTERM')
    return exited.finally(() => clearTimeout(timer))
  }
  return new Promise<CliProcess>((resolve, reject) => {
    let settled = false
    const fail = (message: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${message}\n${describe()}`))
    }
    const timer = setTimeout(() => fail(`no start line within ${startupMs} ms`), startupMs)
    child.stdout!.setEncoding('utf8').on('data', append)
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      append(chunk)
      const match = /switchyard listening on (http:\/\/[^"\s]+)/.exec(output)
      if (match && !settled) {
        settled = true
        clearTimeout(timer)
        resolve({ child, url: match[1]!, output: describe, exited, stop })
      }
    })
    child.once('error', (error) => fail(error.message))
    void exited.then(({ code, signal }) => fail(`exited before listening (code ${code}, signal ${signal})`))
  })
}
