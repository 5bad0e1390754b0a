/**
 * `npm run bench`: what Switchyard costs on top of the floor a Node proxy can reach.
 *
 * One run starts, each in its own process: a mock upstream (OpenAI and Anthropic), the bare
 * proxies (node:http + undici: the floor; node:http + fetch), the gateway under Node (default,
 * global-fetch, retries+fallbacks and production-like configs), Bun and Deno, and a load
 * generator. The server under test is pinned to its own core where the machine allows.
 * Sections (BENCH_GROUPS):
 *   main    — per target × route (OpenAI passthrough, OpenAI -> Anthropic) × mode (non-stream,
 *             stream of 20 chunks): req/s and CPU µs/req at saturation, latency and time to
 *             first byte at a fixed moderate rate, chunk coalescing, RSS idle and under load;
 *   retry   — issue #5: default vs retries/fallbacks config, interleaved repeats;
 *   workers — issue #9: `--workers 1` vs `--workers 2`, req/s at saturation;
 *   soak    — RSS over a bounded soak at a moderate rate (growth means a leak).
 * Writes bench/results/latest.{md,json}. See bench/README.md for every knob.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildGateway } from './build.js'
import { atRate, mergeCodes, saturate, setQuietBudget, waitForQuiet, warmUp, type Probe } from './measure.js'
import { CAN_PIN, CPUS, cleanup, describeExit, log, pin, rssMiB, sleep, startLoadGenerator, stopChild, treePids, type LoadGenerator } from './procs.js'
import { FLOOR_TITLE, renderMarkdown, type PairResult, type Report, type Row, type SoakResult, type WorkersResult } from './report.js'
import { DEFAULT_TARGETS, endpointOf, LABELS, startTarget, startUpstream, startWorkers, TARGETS, type ProductionSetup, type Server, type StartContext, type TargetId } from './targets.js'
import { ANTHROPIC_MODEL, checkAnswer, MODES, OPENAI_MODEL, requestBody, ROUTES, type Mode, type Route } from './wire.js'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(BENCH_DIR, '..')
const RESULTS_DIR = join(BENCH_DIR, 'results')
/** How every TypeScript process of the bench itself is started. */
const TS_NODE_ARGS = ['--conditions=switchyard-source', '--import', 'tsx']

const num = (name: string, fallback: number) => {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} must be a number ≥ 0, got "${value}"`)
  return parsed
}
const list = <T extends string>(name: string, all: readonly T[], fallback: readonly T[] = all): T[] => {
  const value = process.env[name]
  if (!value) return [...fallback]
  const picked = value.split(',').map((item) => item.trim()).filter(Boolean) as T[]
  for (const item of picked) if (!all.includes(item)) throw new Error(`${name}: unknown "${item}" (known: ${all.join(', ')})`)
  return picked
}
const flag = (name: string, fallback: boolean) => (process.env[name] === undefined || process.env[name] === '' ? fallback : !['0', 'false', 'no'].includes(process.env[name]!))

const GROUPS = ['main', 'floor', 'retry', 'transport', 'workers', 'soak', 'ab'] as const
/** Sections of interleaved comparisons in the report. */
export const RETRY_TITLE = '#5: retries and fallbacks configured, nothing failing'
export const TRANSPORT_TITLE = '#10: global fetch vs the pooled undici transport'
export const AB_TITLE = 'A/B: the baseline tree (BENCH_BASELINE) vs this tree'
type Group = (typeof GROUPS)[number]
/** Targets measured on the translation route too (the others only on OpenAI passthrough). */
const BOTH_ROUTES: readonly TargetId[] = ['direct', 'bare', 'switchyard']

export const settings = {
  groups: list('BENCH_GROUPS', GROUPS, ['main', 'floor', 'retry', 'transport', 'workers', 'soak']),
  targets: list('BENCH_TARGETS', TARGETS, DEFAULT_TARGETS),
  routes: list('BENCH_ROUTES', ROUTES),
  modes: list('BENCH_MODES', MODES),
  connections: num('BENCH_CONNECTIONS', 10),
  warmupSeconds: num('BENCH_WARMUP', 2),
  durationSeconds: num('BENCH_DURATION', 4),
  segments: Math.max(1, Math.round(num('BENCH_SEGMENTS', 2))),
  rate: num('BENCH_RATE', 100),
  rateSeconds: num('BENCH_RATE_DURATION', 3),
  rateConnections: num('BENCH_RATE_CONNECTIONS', 16),
  pairRepeats: Math.max(1, Math.round(num('BENCH_PAIR_REPEATS', 3))),
  pairSeconds: num('BENCH_PAIR_DURATION', 3),
  workerConnections: num('BENCH_WORKER_CONNECTIONS', 32),
  soakSeconds: num('BENCH_SOAK', 40),
  soakRate: num('BENCH_SOAK_RATE', 200),
  pin: flag('BENCH_PIN', true) && CAN_PIN,
  build: flag('BENCH_BUILD', true),
  quietBudgetSeconds: num('BENCH_QUIET_BUDGET', 30),
  cpuProfileDir: process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined,
  /** Another source tree (say, an export of the last commit) to build and compare with: the `ab` group. */
  baseline: process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined,
}

const METRICS_ONLY: ProductionSetup = { config: { plugins: [{ name: '@switchyard/plugin-metrics' }] }, headers: {}, summary: 'metrics plugin on (`@switchyard/plugin-metrics`)' }
/** Redis keys of this run's governance state start with this (removed at the end). */
const REDIS_PREFIX = `switchyard-bench-${process.pid}-${Date.now().toString(36)}:`
const VIRTUAL_KEY = 'sk-bf-bench-0123456789abcdef'

/**
 * The production-like row: metrics on, and a virtual key with a budget and a rate limit whose
 * counters live in Redis (`storage: redis`, the governance and redis plugins) — large limits,
 * so nothing is refused, but every request is authenticated, checked, reserved and accounted.
 * BENCH_GOVERNANCE=0 keeps metrics only; so does a start that fails with governance (the
 * reason goes into the report).
 */
function productionSetup(): ProductionSetup {
  const available = ['plugins/governance/src/index.ts', 'plugins/redis/src/index.ts'].every((file) => existsSync(join(ROOT, file)))
  if (!flag('BENCH_GOVERNANCE', true) || !available) return { ...METRICS_ONLY, summary: `${METRICS_ONLY.summary}; governance ${available ? 'off (BENCH_GOVERNANCE=0)' : 'not available in this tree'}` }
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  return {
    config: {
      plugins: [{ name: '@switchyard/plugin-metrics' }],
      storage: { type: 'redis', url: redisUrl, prefix: REDIS_PREFIX },
      client: { enforce_governance_header: true },
      governance: {
        virtual_keys: [
          {
            id: 'vk-bench',
            name: 'bench',
            value: VIRTUAL_KEY,
            provider_configs: [{ provider: 'openai', allowed_models: ['*'] }, { provider: 'anthropic', allowed_models: ['*'] }],
            budget: { max_limit: 1_000_000, reset_duration: '1d' },
            rate_limit: { request_max_limit: 1_000_000_000, request_reset_duration: '1m', token_max_limit: 1_000_000_000_000, token_reset_duration: '1m' },
          },
        ],
        // The paced variants (time-to-first-byte runs) are models of their own: priced the same.
        pricing: Object.fromEntries(
          [`openai/${OPENAI_MODEL}`, `anthropic/${ANTHROPIC_MODEL}`].flatMap((model) => {
            const price = model.startsWith('openai/') ? { input_cost_per_token: 1.5e-7, output_cost_per_token: 6e-7 } : { input_cost_per_token: 1e-6, output_cost_per_token: 5e-6 }
            return [[model, price], [`${model}-paced`, price]]
          }),
        ),
      },
    },
    headers: { 'x-bf-vk': VIRTUAL_KEY },
    summary: `metrics plugin on, and a governance virtual key (\`x-bf-vk\`) with a budget (1,000,000 USD/day) and a rate limit (requests and tokens per minute, never reached) whose counters are in Redis (${redisUrl}, \`storage: redis\`)`,
  }
}

/** Set once a production-like gateway was started with governance (its keys are removed at the end). */
let usedGovernance = false

/** Removes this run's governance keys from Redis. */
async function dropRedisState(): Promise<void> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } catch {
    // Redis gone: nothing to clean
  } finally {
    redis.disconnect()
  }
}

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0]!
  } catch {
    return 'unavailable'
  }
}
const packageVersion = (name: string) => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unavailable'
  }
}

function machineInfo() {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
    commit: version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    pinned: settings.pin ? `server under test on CPU ${CPUS.server}; upstream and load generator on CPU ${CPUS.rest}` : 'no (BENCH_PIN=0, or taskset/cores missing)',
    versions: {
      node: process.version,
      bun: version(join(ROOT, 'node_modules/.bin/bun'), ['--version']),
      deno: version(join(ROOT, 'node_modules/.bin/deno'), ['--version']),
      undici: packageVersion('undici'),
      hono: packageVersion('hono'),
      '@hono/node-server': packageVersion('@hono/node-server'),
      autocannon: packageVersion('autocannon'),
      esbuild: packageVersion('esbuild'),
    },
  }
}

interface Running {
  load: LoadGenerator
  upstreamPid: number
  servers: Map<TargetId, Server>
  ctx: StartContext
}

function probeFor(running: Running, server: Server, route: Route, mode: Mode, paced = false, body?: string): Probe {
  const endpoint = endpointOf(server, route)
  return { load: running.load, pid: server.pid, upstreamPid: running.upstreamPid, endpoint, body: body ?? requestBody(endpoint.dialect, paced ? `${endpoint.model}-paced` : endpoint.model, mode === 'stream'), label: `${LABELS[server.id]} / ${route} / ${mode}` }
}

/** One answer per route and mode from every server, checked, before any load. */
async function sanityCheck(running: Running, plan: Array<{ server: Server; route: Route }>): Promise<Map<string, number>> {
  const events = new Map<string, number>()
  for (const { server, route } of plan) {
    for (const mode of settings.modes) {
      for (const paced of mode === 'stream' ? [false, true] : [false]) {
        const probe = probeFor(running, server, route, mode, paced)
        let text = ''
        let status = 0
        try {
          const response = await fetch(probe.endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json', ...probe.endpoint.headers }, body: probe.body, signal: AbortSignal.timeout(15_000) })
          status = response.status
          text = await response.text()
          if (status < 200 || status > 299) throw new Error('non-2xx answer')
          const count = checkAnswer(probe.endpoint.dialect, mode === 'stream', text)
          if (mode === 'stream' && !paced) events.set(`${server.id}/${route}`, count)
        } catch (error) {
          throw new Error(`${probe.label}${paced ? ' (paced)' : ''}: ${(error as Error).message}\n    HTTP ${status} ${text.slice(0, 600)}${server.child.exited ? `\n    ${describeExit(server.child)}` : ''}`)
        }
      }
    }
  }
  return events
}

async function measureRow(running: Running, server: Server, route: Route, mode: Mode, idleRssMiB: number | undefined, streamEvents: number | undefined): Promise<Row> {
  const probe = probeFor(running, server, route, mode)
  const statusCodes: Record<string, number> = {}
  // Wait before the warmup, not after: an idle gap lets V8 shrink the heap again.
  await waitForQuiet(probe)
  log(`${probe.label}: warmup ${settings.warmupSeconds} s, saturation ${settings.segments} x ${settings.durationSeconds / settings.segments} s`)
  const warm = await warmUp(probe, settings.connections, settings.warmupSeconds)
  mergeCodes(statusCodes, warm.statusCodes)
  const saturation = await saturate(probe, { connections: settings.connections, seconds: settings.durationSeconds, segments: settings.segments })
  mergeCodes(statusCodes, saturation.statusCodes)
  // Streams at the fixed rate are paced: each event leaves the upstream as its own packet.
  const rate = await atRate(probeFor(running, server, route, mode, mode === 'stream'), { rate: settings.rate, seconds: settings.rateSeconds, connections: settings.rateConnections })
  mergeCodes(statusCodes, rate.statusCodes)
  if (server.child.exited) throw new Error(`${probe.label}: ${describeExit(server.child)}`)
  const row: Row = { target: server.id, label: LABELS[server.id], route, mode, saturation, rate, errors: warm.errors + saturation.errors + rate.errors, statusCodes, idleRssMiB, rssAfterMiB: rssMiB(server.pid), streamEvents }
  log(`${probe.label}: ${saturation.rps.toFixed(0)} req/s, ${saturation.cpuUsPerReq.toFixed(0)} µs CPU/req, p50 ${rate.latency?.p50.toFixed(2)} ms, p99 ${rate.latency?.p99.toFixed(2)} ms${mode === 'stream' ? `, TTFB p99 ${rate.ttfb?.p99.toFixed(2)} ms, ${rate.events?.coalesced ?? 0} coalesced events` : ''}, errors ${row.errors}, other CPU ${saturation.otherCpuPct.toFixed(0)}% (${saturation.segmentsUsed}/${saturation.segments.length} segments used)`)
  return row
}

interface Variant {
  name: string
  probe: Probe
}

/**
 * Starts fresh servers for an interleaved comparison, runs `work`, stops them. Fresh, because a
 * server's history matters: one that also ran the translation route has more polymorphic code
 * than one that only ever relayed, and would lose a comparison for that reason alone.
 */
async function withFresh<T>(running: Running, ids: Array<Exclude<TargetId, 'direct'>>, work: (servers: Server[]) => Promise<T>): Promise<T> {
  const servers: Server[] = []
  try {
    for (const id of ids) servers.push(await startTarget(running.ctx, id))
    await sanityCheck(running, servers.flatMap((server) => settings.routes.map((route) => ({ server, route }))))
    return await work(servers)
  } finally {
    for (const server of servers) await stopChild(server.child)
  }
}

/**
 * Same-run comparison robust to a drifting machine: each variant warmed up, then `repeats`
 * rounds of one short saturation run per variant, the order rotated every round. The report
 * compares each variant with the first one round by round (ratios of neighbouring runs).
 */
async function interleave(title: string, mode: Mode, variants: Variant[]): Promise<PairResult> {
  await waitForQuiet(variants[0]!.probe)
  // Fresh processes: a warmup each, then one round that is not recorded (the first round after
  // the warmups used to come out 30-60% dearer for every variant: JIT and heap still settling).
  for (const variant of variants) await warmUp(variant.probe, settings.connections, Math.max(2, settings.warmupSeconds))
  for (const variant of variants) await warmUp(variant.probe, settings.connections, settings.pairSeconds)
  const runs: PairResult['runs'] = []
  for (let repeat = 0; repeat < settings.pairRepeats; repeat++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + repeat) % variants.length]!
      const result = await saturate(variant.probe, { connections: settings.connections, seconds: settings.pairSeconds, segments: 1 })
      runs.push({ repeat, variant: variant.name, rps: result.rps, cpuUsPerReq: result.cpuUsPerReq, otherCpuPct: result.otherCpuPct, errors: result.errors })
    }
  }
  log(`${title} / ${mode}: ${variants.map((v) => `${v.name} ${runs.filter((r) => r.variant === v.name).map((r) => r.cpuUsPerReq.toFixed(0)).join('/')} µs`).join('; ')}`)
  return { title, mode, variants: variants.map((v) => v.name), runs }
}

/** Issue #5: default config vs retries/fallbacks config (and a body carrying `fallbacks`), nothing failing. */
function retryVariants(running: Running, mode: Mode, base: Server, retry: Server): Variant[] {
  const plain = probeFor(running, retry, 'openai', mode)
  const withField = probeFor(running, retry, 'openai', mode, false, JSON.stringify({ ...JSON.parse(plain.body), fallbacks: [`anthropic/${ANTHROPIC_MODEL}`] }))
  return [
    { name: 'default config', probe: probeFor(running, base, 'openai', mode) },
    { name: 'retries+fallbacks config', probe: plain },
    { name: 'same, request carries `fallbacks`', probe: withField },
  ]
}

/** Issue #9: the same gateway as 1 process and as `--workers 2`, everything unpinned. */
async function measureWorkers(running: Running): Promise<WorkersResult> {
  const single = running.servers.get('switchyard')!
  const unpinned = [single.pid, running.upstreamPid, running.load.pid]
  if (settings.pin) for (const pid of unpinned) pin(pid, CPUS.all)
  const two = await startWorkers(running.ctx, 2)
  try {
    const deadline = Date.now() + 30_000
    // The primary plus two workers (node processes; a tsx loader's esbuild child does not count).
    while (treePids(two.pid).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node').length < 3) {
      if (Date.now() > deadline || two.child.exited) throw new Error(`switchyard --workers 2 did not start its workers: ${describeExit(two.child)}`)
      await sleep(100)
    }
    const servers = [
      { workers: 1, server: single },
      { workers: 2, server: { ...single, pid: two.pid, port: two.port, child: two.child } },
    ]
    const runs: WorkersResult['runs'] = []
    for (const mode of settings.modes) {
      for (const { workers, server } of servers) {
        const probe = { ...probeFor(running, server, 'openai', mode), label: `switchyard --workers ${workers} / ${mode}` }
        await waitForQuiet(probe)
        log(`${probe.label}: warmup ${settings.warmupSeconds} s, saturation ${settings.durationSeconds} s x ${settings.workerConnections} connections`)
        await warmUp(probe, settings.workerConnections, settings.warmupSeconds)
        const result = await saturate(probe, { connections: settings.workerConnections, seconds: settings.durationSeconds, segments: settings.segments })
        runs.push({ workers, mode, rps: result.rps, cpuUsPerReq: result.cpuUsPerReq, otherCpuPct: result.otherCpuPct, errors: result.errors, rssMiB: result.peakRssMiB })
        log(`${probe.label}: ${result.rps.toFixed(0)} req/s, ${result.cpuUsPerReq.toFixed(0)} µs CPU/req`)
      }
    }
    return { connections: settings.workerConnections, runs }
  } finally {
    await stopChild(two.child)
    if (settings.pin) {
      pin(single.pid, CPUS.server)
      pin(running.upstreamPid, CPUS.rest)
      pin(running.load.pid, CPUS.rest)
    }
  }
}

/** RSS of the default gateway over a bounded soak: non-stream and stream alternating at a moderate rate. */
async function measureSoak(running: Running): Promise<SoakResult> {
  const server = running.servers.get('switchyard')!
  const samples: SoakResult['samples'] = []
  const started = performance.now()
  const sample = () => samples.push({ seconds: Math.round((performance.now() - started) / 100) / 10, rssMiB: rssMiB(server.pid) })
  sample()
  let errors = 0
  let requests = 0
  const slice = Math.min(5, settings.soakSeconds)
  log(`soak: ${settings.soakSeconds} s at ${settings.soakRate} req/s, non-stream and stream alternating every ${slice} s`)
  for (let i = 0; (performance.now() - started) / 1000 < settings.soakSeconds; i++) {
    const mode: Mode = i % 2 === 0 ? 'non-stream' : 'stream'
    const run = await atRate(probeFor(running, server, 'openai', mode), { rate: settings.soakRate, seconds: slice, connections: settings.rateConnections })
    errors += run.errors
    requests += run.latency?.count ?? 0
    sample()
  }
  return { seconds: settings.soakSeconds, rate: settings.soakRate, requests, errors, samples }
}

async function main(): Promise<number> {
  const startedAt = Date.now()
  setQuietBudget(settings.quietBudgetSeconds)
  const machine = machineInfo()
  log(`${machine.cpuModel}, ${machine.cores} cores, node ${process.version}; groups ${settings.groups.join(', ')}; targets ${settings.targets.join(', ')}; ${machine.pinned}`)
  const tempDir = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-'))
  try {
    const built = settings.build ? await buildGateway(ROOT, 'current') : undefined
    if (built) log(`built the gateway from the sources in ${built.seconds.toFixed(1)} s (${built.cli})`)
    const baseline = settings.baseline && settings.groups.includes('ab') ? await buildGateway(settings.baseline, 'baseline', join(ROOT, 'node_modules')) : undefined
    if (baseline) log(`built the baseline gateway from ${settings.baseline} (${baseline.cli})`)
    const base = { root: ROOT, benchDir: BENCH_DIR, tempDir, tsNodeArgs: TS_NODE_ARGS, pin: settings.pin }
    const upstream = await startUpstream(base)
    const ctx: StartContext = { ...base, upstreamPort: upstream.port, builtCli: built?.cli, profileArgs: settings.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfileDir}`] : [], production: productionSetup(), baselineCli: baseline?.cli, onGovernance: () => (usedGovernance = true) }
    const load = await startLoadGenerator(join(BENCH_DIR, 'load.ts'), TS_NODE_ARGS, ROOT, settings.pin ? CPUS.rest : undefined)
    const running: Running = { load, upstreamPid: upstream.child.proc.pid!, servers: new Map(), ctx }
    running.servers.set('direct', { id: 'direct', child: upstream.child, port: upstream.port, pid: upstream.child.proc.pid!, headers: {} })

    const needed = new Set<TargetId>(settings.groups.includes('main') ? settings.targets : [])
    if (settings.groups.includes('ab') && !settings.baseline) throw new Error('BENCH_GROUPS has ab but BENCH_BASELINE names no source tree to compare with')
    if (settings.groups.includes('workers') || settings.groups.includes('soak')) needed.add('switchyard')
    for (const id of TARGETS) {
      if (id === 'direct' || !needed.has(id)) continue
      const server = await startTarget(ctx, id).catch(async (error: unknown) => {
        if (id !== 'switchyard-prod' || ctx.production === METRICS_ONLY) throw error
        const reason = String((error as Error).message).split('\n').slice(0, 4).join(' ').slice(0, 400)
        log(`production-like gateway did not start with governance; falling back to metrics only: ${reason}`)
        ctx.production = { ...METRICS_ONLY, summary: `${METRICS_ONLY.summary}; governance configured but the gateway did not start with it: ${reason}` }
        return startTarget(ctx, id)
      })
      running.servers.set(id, server)
      log(`${LABELS[id]} on :${server.port} (pid ${server.pid})`)
    }

    const plan = settings.groups.includes('main') ? settings.targets.flatMap((id) => settings.routes.filter((route) => route === 'openai' || BOTH_ROUTES.includes(id)).map((route) => ({ server: running.servers.get(id)!, route }))) : []
    const checks = [...plan, ...[...running.servers.values()].filter((server) => !plan.some((item) => item.server === server)).map((server) => ({ server, route: 'openai' as Route }))]
    const streamEvents = await sanityCheck(running, checks)
    log('sanity check passed: every target answers every route and mode with the expected body')
    await sleep(1000)
    const idle = new Map([...running.servers].map(([id, server]) => [id, rssMiB(server.pid)]))

    const report: Report = { machine, settings: { ...settings }, production: ctx.production.summary, rows: [], pairs: [], workers: undefined, soak: undefined, elapsedSeconds: 0, errors: 0 }
    for (const mode of settings.modes) {
      for (const route of settings.routes) {
        for (const item of plan.filter((each) => each.route === route)) {
          report.rows.push(await measureRow(running, item.server, route, mode, item.server.id === 'direct' ? undefined : idle.get(item.server.id), mode === 'stream' ? streamEvents.get(`${item.server.id}/${route}`) : undefined))
        }
      }
    }
    if (settings.groups.includes('retry')) {
      await withFresh(running, ['switchyard', 'switchyard-retry'], async ([base, retry]) => {
        for (const mode of settings.modes) report.pairs.push(await interleave(RETRY_TITLE, mode, retryVariants(running, mode, base!, retry!)))
      })
    }
    const pair = async (title: string, ids: Array<Exclude<TargetId, 'direct'>>, routes: readonly Route[]) =>
      withFresh(running, ids, async (servers) => {
        for (const route of routes) {
          for (const mode of settings.modes) {
            const variants = servers.map((server) => ({ name: LABELS[server.id], probe: probeFor(running, server, route, mode) }))
            report.pairs.push(await interleave(routes.length > 1 ? `${title} (${route})` : title, mode, variants))
          }
        }
      })
    if (settings.groups.includes('floor')) {
      // The #10 ratios, judged round by round: the floor and the gateways side by side.
      if (settings.routes.includes('openai')) await pair(`${FLOOR_TITLE} (openai)`, ['bare', 'switchyard', 'switchyard-prod'], ['openai'])
      if (settings.routes.includes('anthropic')) await pair(`${FLOOR_TITLE} (anthropic)`, ['bare', 'switchyard'], ['anthropic'])
    }
    if (settings.groups.includes('transport')) await pair(TRANSPORT_TITLE, ['switchyard-fetch', 'switchyard'], ['openai'])
    if (settings.groups.includes('ab')) await pair(AB_TITLE, ['baseline', 'switchyard'], settings.routes)
    if (settings.groups.includes('workers')) report.workers = await measureWorkers(running)
    if (settings.groups.includes('soak') && settings.soakSeconds > 0) report.soak = await measureSoak(running)

    report.elapsedSeconds = Math.round((Date.now() - startedAt) / 1000)
    report.errors = report.rows.reduce((sum, row) => sum + row.errors, 0) + report.pairs.reduce((sum, pair) => sum + pair.runs.reduce((n, run) => n + run.errors, 0), 0) + (report.workers?.runs.reduce((n, run) => n + run.errors, 0) ?? 0) + (report.soak?.errors ?? 0)
    const markdown = renderMarkdown(report)
    process.stdout.write(`\n${markdown}\n`)
    mkdirSync(RESULTS_DIR, { recursive: true })
    writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown)
    writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`)
    log(`wrote bench/results/latest.json and latest.md (${report.elapsedSeconds} s)`)
    if (report.errors > 0) {
      process.stderr.write(`bench: FAILED — ${report.errors} non-2xx or failed requests (see the errors column and statusCodes in latest.json)\n`)
      return 1
    }
    return 0
  } finally {
    await cleanup()
    rmSync(tempDir, { recursive: true, force: true })
    // Whichever section started the production-like gateway (main, floor), its keys go.
    if (usedGovernance) await dropRedisState()
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench: FAILED — ${(error as Error)?.message ?? String(error)}\n`)
    await cleanup()
    process.exit(1)
  },
)
