/**
 * The servers the bench measures, and how to start each one: the mock upstream, the bare
 * proxies (the floor), and the gateway under Node (several configs), Bun and Deno.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CAN_PIN, CPUS, freePort, spawnProcess, waitForPort, type Child } from './procs.js'
import { ANTHROPIC_MODEL, OPENAI_MODEL, type Dialect, type Route } from './wire.js'

export const TARGETS = ['direct', 'bare', 'bare-fetch', 'switchyard', 'switchyard-fetch', 'switchyard-retry', 'switchyard-prod', 'bun', 'deno', 'baseline'] as const
export type TargetId = (typeof TARGETS)[number]
/** The main table's rows when BENCH_TARGETS does not say (`baseline` only with BENCH_BASELINE). */
export const DEFAULT_TARGETS: readonly TargetId[] = TARGETS.filter((id) => id !== 'baseline')

export const LABELS: Record<TargetId, string> = {
  direct: 'upstream direct',
  bare: 'bare proxy (undici)',
  'bare-fetch': 'bare proxy (fetch)',
  switchyard: 'switchyard',
  'switchyard-fetch': 'switchyard, global fetch',
  'switchyard-retry': 'switchyard, retries+fallbacks',
  'switchyard-prod': 'switchyard, production-like',
  bun: 'switchyard on bun',
  deno: 'switchyard on deno',
  baseline: 'switchyard (baseline tree)',
}

/** What each target is, for the table notes. */
export const DESCRIPTIONS: Record<TargetId, string> = {
  direct: 'the mock upstream itself (its own CPU)',
  bare: 'node:http in, undici `request()` on a keep-alive pool out, chunks written back as they come: the floor',
  'bare-fetch': 'the same with Node\'s global fetch out (the floor of a fetch-based proxy)',
  switchyard: 'Node CLI, default config (OpenAI and Anthropic providers -> the mock), pooled undici transport',
  'switchyard-fetch': 'the same with `SWITCHYARD_UPSTREAM_TRANSPORT=fetch` (global fetch: the transport before #10)',
  'switchyard-retry': 'default config plus max_retries 3, backoff 100-2000 ms, provider fallbacks to anthropic, routing timeouts set',
  'switchyard-prod': 'default config plus the production extras named in the next note',
  bun: 'runtimes/bun CLI under Bun, default config',
  deno: 'runtimes/deno CLI under Deno (--allow-net/env/read/write --unstable-no-legacy-abort), default config',
  baseline: 'the Node CLI built from the BENCH_BASELINE source tree, default config',
}

export interface Server {
  id: TargetId
  child: Child
  port: number
  pid: number
  /** Extra headers every request to this server carries. */
  headers: Record<string, string>
}

export interface Endpoint {
  url: string
  dialect: Dialect
  model: string
  headers: Record<string, string>
}

/** URL, dialect and model name of a route on a server. */
export function endpointOf(server: Server, route: Route): Endpoint {
  const base = `http://127.0.0.1:${server.port}`
  const headers = { authorization: 'Bearer sk-bench', ...server.headers }
  if (server.id === 'direct' || server.id === 'bare' || server.id === 'bare-fetch') {
    return route === 'openai' ? { url: `${base}/v1/chat/completions`, dialect: 'openai', model: OPENAI_MODEL, headers } : { url: `${base}/v1/messages`, dialect: 'anthropic', model: ANTHROPIC_MODEL, headers }
  }
  return { url: `${base}/openai/v1/chat/completions`, dialect: 'openai', model: route === 'openai' ? OPENAI_MODEL : `anthropic/${ANTHROPIC_MODEL}`, headers }
}

export interface StartContext {
  root: string
  benchDir: string
  tempDir: string
  upstreamPort: number
  /** How node runs the bench's own TypeScript (upstream, bare proxy). */
  tsNodeArgs: string[]
  /** The built gateway CLI (`node <cli>`), or undefined to run the sources through tsx. */
  builtCli: string | undefined
  /** Extra node flags for the servers under test (`--cpu-prof ...`). */
  profileArgs: string[]
  pin: boolean
  /** The production-like row's extras (governance, headers), when available. */
  production: ProductionSetup
  /** Told when a gateway is started with the production extras (so the run cleans up after it). */
  onGovernance?: () => void
  /** The baseline tree's built CLI (the `ab` group). */
  baselineCli?: string | undefined
}

export interface ProductionSetup {
  /** Config entries merged into the default config. */
  config: Record<string, unknown>
  headers: Record<string, string>
  /** What it contains, for the notes. */
  summary: string
}

/** Prefix that kills the server with the runner, whatever way the runner dies (util-linux `setpriv`). */
const DEATH_SIG = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : []

function launch(ctx: StartContext, name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}, pinned = true): Child {
  const [file, ...rest] = [...DEATH_SIG, command, ...args]
  return spawnProcess(name, file!, rest, { cwd: ctx.root, env: { ...process.env, ...env }, cpus: ctx.pin && CAN_PIN ? (pinned ? CPUS.server : CPUS.rest) : undefined })
}

export function gatewayConfig(upstreamPort: number, variant: 'default' | 'retry'): Record<string, unknown> {
  const base_url = `http://127.0.0.1:${upstreamPort}/v1`
  if (variant === 'default') {
    return {
      providers: {
        openai: { keys: [{ value: 'sk-bench', models: [], weight: 1 }], network_config: { base_url } },
        anthropic: { keys: [{ value: 'sk-bench-anthropic', models: [], weight: 1 }], network_config: { base_url } },
      },
    }
  }
  const network_config = { base_url, max_retries: 3, retry_backoff_initial_ms: 100, retry_backoff_max_ms: 2000, default_request_timeout_in_seconds: 30, stream_idle_timeout_in_seconds: 60 }
  return {
    providers: {
      openai: { keys: [{ value: 'sk-bench', models: [], weight: 1 }], network_config, fallbacks: [`anthropic/${ANTHROPIC_MODEL}`] },
      anthropic: { keys: [{ value: 'sk-bench-anthropic', models: [], weight: 1 }], network_config: { ...network_config, max_retries: 2 }, fallbacks: [`openai/${OPENAI_MODEL}`] },
    },
  }
}

let instances = 0
function writeConfig(ctx: StartContext, id: TargetId, config: Record<string, unknown>): { config: string; dataDir: string } {
  const dir = join(ctx.tempDir, `${id}-${++instances}`)
  mkdirSync(join(dir, 'data'), { recursive: true })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2))
  return { config: join(dir, 'config.json'), dataDir: join(dir, 'data') }
}

export async function startUpstream(ctx: Pick<StartContext, 'root' | 'benchDir' | 'tsNodeArgs' | 'pin' | 'tempDir'>): Promise<{ child: Child; port: number }> {
  const port = await freePort()
  const child = launch(ctx as StartContext, 'mock upstream', process.execPath, [...ctx.tsNodeArgs, join(ctx.benchDir, 'upstream.ts'), '--port', String(port)], {}, false)
  await waitForPort(child, port)
  return { child, port }
}

/** Starts one target's server (not `direct`: that is the upstream). */
export async function startTarget(ctx: StartContext, id: Exclude<TargetId, 'direct'>): Promise<Server> {
  const port = await freePort()
  const upstream = `http://127.0.0.1:${ctx.upstreamPort}`
  const listen = ['--port', String(port), '--host', '127.0.0.1']
  const env = { SWITCHYARD_LOG_LEVEL: 'warn' }
  let child: Child
  let headers: Record<string, string> = {}
  if (id === 'bare' || id === 'bare-fetch') {
    child = launch(ctx, LABELS[id], process.execPath, [...ctx.tsNodeArgs, ...ctx.profileArgs, join(ctx.benchDir, 'bare-proxy.ts'), ...listen, '--upstream', upstream, '--client', id === 'bare' ? 'undici' : 'fetch'])
  } else if (id === 'bun' || id === 'deno') {
    const files = writeConfig(ctx, id, gatewayConfig(ctx.upstreamPort, 'default'))
    const args = ['--config', files.config, ...listen, '--data-dir', files.dataDir]
    child = id === 'bun'
      ? launch(ctx, LABELS[id], join(ctx.root, 'node_modules/.bin/bun'), ['--conditions=switchyard-source', join(ctx.root, 'runtimes/bun/src/cli.ts'), ...args], env)
      : launch(ctx, LABELS[id], join(ctx.root, 'node_modules/.bin/deno'), ['run', '--conditions=switchyard-source', '--sloppy-imports', '--allow-net', '--allow-env', '--allow-read', '--allow-write', '--unstable-no-legacy-abort', join(ctx.root, 'runtimes/deno/src/cli.ts'), ...args], env)
  } else {
    let config = gatewayConfig(ctx.upstreamPort, id === 'switchyard-retry' ? 'retry' : 'default')
    if (id === 'switchyard-prod') {
      config = { ...config, ...ctx.production.config }
      ctx.onGovernance?.()
      headers = ctx.production.headers
    }
    const files = writeConfig(ctx, id, config)
    const cli = id === 'baseline' ? ctx.baselineCli : ctx.builtCli
    if (id === 'baseline' && !cli) throw new Error('the baseline target needs BENCH_BASELINE')
    const entry = cli ? [cli] : [...ctx.tsNodeArgs, join(ctx.root, 'runtimes/node/src/cli.ts')]
    const args = [...ctx.profileArgs, ...entry, '--config', files.config, ...listen, '--data-dir', files.dataDir]
    child = launch(ctx, LABELS[id], process.execPath, args, id === 'switchyard-fetch' ? { ...env, SWITCHYARD_UPSTREAM_TRANSPORT: 'fetch' } : env)
  }
  await waitForPort(child, port)
  return { id, child, port, pid: child.proc.pid!, headers }
}

/** Starts `switchyard --workers N` (not pinned: the point is to use every core). */
export async function startWorkers(ctx: StartContext, workers: number): Promise<{ child: Child; port: number; pid: number }> {
  const port = await freePort()
  const files = writeConfig(ctx, 'switchyard', gatewayConfig(ctx.upstreamPort, 'default'))
  const entry = ctx.builtCli ? [ctx.builtCli] : [...ctx.tsNodeArgs, join(ctx.root, 'runtimes/node/src/cli.ts')]
  const [file, ...rest] = [...DEATH_SIG, process.execPath, ...entry, '--config', files.config, '--port', String(port), '--host', '127.0.0.1', '--data-dir', files.dataDir, '--workers', String(workers)]
  const child = spawnProcess(`switchyard --workers ${workers}`, file!, rest, { cwd: ctx.root, env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn' } })
  await waitForPort(child, port)
  return { child, port, pid: child.proc.pid! }
}
