/**
 * One measurement of one server: waiting for a quiet machine, a saturation run cut in
 * segments (req/s, CPU µs per request, peak RSS), and a fixed-rate run (latency, time to first
 * byte, how stream events arrived).
 */
import type { LoadResult, Percentiles } from './load.js'
import { cpuMicros, log, machineCpuMicros, rssMiB, selfCpuMicros, sleep, type LoadGenerator } from './procs.js'
import type { Endpoint } from './targets.js'

/** A run during which other processes used more than this (% of one core) is flagged. */
export const NOISY_PCT = 15

/** One slice of a saturation run. */
export interface Segment {
  seconds: number
  completed: number
  rps: number
  cpuUs: number
  upstreamCpuUs: number
  cpuUsPerReq: number
  /** CPU used outside the bench during the segment, % of one core. */
  otherCpuPct: number
  stealPct: number
}

export interface Saturation {
  /** req/s, responses and CPU µs/req over the quiet segments (or the quietest one). */
  rps: number
  completed: number
  cpuUsPerReq: number
  /** The same over the whole run, noisy segments included. */
  allSegments: { rps: number; cpuUsPerReq: number; otherCpuPct: number }
  segments: Segment[]
  segmentsUsed: number
  /** The upstream's CPU per request during the same run (similar across rows, or the proxies sent it different work). */
  upstreamCpuUsPerReq: number
  otherCpuPct: number
  stealPct: number
  /** Largest RSS of the server seen during the run (MiB). */
  peakRssMiB: number
  errors: number
  statusCodes: Record<string, number>
}

export interface RateRun {
  rate: number
  seconds: number
  latency: Percentiles | undefined
  ttfb: Percentiles | undefined
  events: LoadResult['events']
  errors: number
  statusCodes: Record<string, number>
  otherCpuPct: number
}

export interface Probe {
  load: LoadGenerator
  /** The server under test (its whole process tree is measured). */
  pid: number
  upstreamPid: number
  endpoint: Endpoint
  body: string
  label: string
}

export const countErrors = (result: LoadResult) => result.non2xx + result.errors + result.timeouts

export function mergeCodes(into: Record<string, number>, from: Record<string, number>): void {
  for (const [code, count] of Object.entries(from)) into[code] = (into[code] ?? 0) + count
}

/** CPU of the bench's own processes (runner, load generator, upstream, server). */
function oursMicros(probe: Probe): number {
  return cpuMicros(probe.pid) + (probe.pid === probe.upstreamPid ? 0 : cpuMicros(probe.upstreamPid)) + cpuMicros(probe.load.pid) + selfCpuMicros()
}

/** Runs `work` and says how much CPU processes outside the bench used meanwhile (% of one core). */
async function watchOthers<T>(probe: Probe, work: () => Promise<T>): Promise<{ result: T; otherCpuPct: number; stealPct: number }> {
  const wall0 = performance.now()
  const machine0 = machineCpuMicros()
  const ours0 = oursMicros(probe)
  const result = await work()
  const machine1 = machineCpuMicros()
  const wallUs = (performance.now() - wall0) * 1000
  return { result, otherCpuPct: Math.max(0, ((machine1.busy - machine0.busy - (oursMicros(probe) - ours0)) / wallUs) * 100), stealPct: ((machine1.steal - machine0.steal) / wallUs) * 100 }
}

/** Seconds still allowed, over the whole run, for waiting until other processes calm down. */
let quietBudgetMs = 40_000
export function setQuietBudget(seconds: number): void {
  quietBudgetMs = seconds * 1000
}

/**
 * Other processes on a shared machine (a type-check, a test run) skew CPU numbers, so before
 * each measured run wait, within a bounded budget, until they use under NOISY_PCT of a core.
 */
export async function waitForQuiet(probe: Probe): Promise<void> {
  const started = Date.now()
  let logged = false
  for (;;) {
    const { otherCpuPct } = await watchOthers(probe, () => sleep(500))
    const waited = Date.now() - started
    if (otherCpuPct <= NOISY_PCT) break
    if (waited >= Math.min(10_000, quietBudgetMs)) {
      log(`${probe.label}: other processes still use ${otherCpuPct.toFixed(0)}% of a core; measuring anyway (the row will be flagged if it stays noisy)`)
      break
    }
    if (!logged) log(`${probe.label}: other processes use ${otherCpuPct.toFixed(0)}% of a core; waiting for quiet`)
    logged = true
  }
  quietBudgetMs = Math.max(0, quietBudgetMs - (Date.now() - started))
}

/** Load as fast as `connections` go, to warm the server up (JIT, heap); nothing is measured but errors. */
export async function warmUp(probe: Probe, connections: number, seconds: number): Promise<{ errors: number; statusCodes: Record<string, number> }> {
  const result = await probe.load.run({ kind: 'saturate', url: probe.endpoint.url, headers: probe.endpoint.headers, body: probe.body, connections, duration: seconds })
  return { errors: countErrors(result), statusCodes: result.statusCodes }
}

/**
 * `segments` back-to-back saturation runs. Contention moves CPU/req either way (shared cores
 * run slower; a starved server batches more requests per event-loop turn), so only quiet
 * segments count, summed so that a GC pause in one does not decide the row; when none was
 * quiet, the quietest one, flagged.
 */
export async function saturate(probe: Probe, options: { connections: number; seconds: number; segments: number }): Promise<Saturation> {
  const segmentSeconds = options.seconds / options.segments
  const segments: Segment[] = []
  const statusCodes: Record<string, number> = {}
  let errors = 0
  let peakRssMiB = rssMiB(probe.pid)
  const sampler = setInterval(() => (peakRssMiB = Math.max(peakRssMiB, rssMiB(probe.pid))), 500)
  try {
    for (let i = 0; i < options.segments; i++) {
      const cpu0 = cpuMicros(probe.pid)
      const up0 = cpuMicros(probe.upstreamPid)
      const watched = await watchOthers(probe, async () => {
        const run = await probe.load.run({ kind: 'saturate', url: probe.endpoint.url, headers: probe.endpoint.headers, body: probe.body, connections: options.connections, duration: segmentSeconds })
        await sleep(150) // let the requests cut off at the end of the run settle
        return run
      })
      const run = watched.result
      const cpuUs = cpuMicros(probe.pid) - cpu0
      mergeCodes(statusCodes, run.statusCodes)
      errors += countErrors(run)
      segments.push({ seconds: run.duration, completed: run.completed, rps: run.rps, cpuUs, upstreamCpuUs: cpuMicros(probe.upstreamPid) - up0, cpuUsPerReq: run.completed > 0 ? cpuUs / run.completed : Number.NaN, otherCpuPct: watched.otherCpuPct, stealPct: watched.stealPct })
    }
  } finally {
    clearInterval(sampler)
  }
  const quiet = segments.filter((segment) => segment.otherCpuPct <= NOISY_PCT)
  const used = quiet.length > 0 ? quiet : [segments.reduce((best, segment) => (segment.otherCpuPct < best.otherCpuPct ? segment : best))]
  const sum = (items: Segment[], pick: (segment: Segment) => number) => items.reduce((total, segment) => total + pick(segment), 0)
  const completed = sum(used, (s) => s.completed)
  const seconds = sum(used, (s) => s.seconds)
  const completedAll = sum(segments, (s) => s.completed)
  return {
    rps: completed / seconds,
    completed,
    cpuUsPerReq: sum(used, (s) => s.cpuUs) / completed,
    allSegments: { rps: completedAll / sum(segments, (s) => s.seconds), cpuUsPerReq: sum(segments, (s) => s.cpuUs) / completedAll, otherCpuPct: sum(segments, (s) => s.otherCpuPct) / segments.length },
    segments,
    segmentsUsed: used.length,
    upstreamCpuUsPerReq: sum(used, (s) => s.upstreamCpuUs) / completed,
    otherCpuPct: sum(used, (s) => s.otherCpuPct * s.seconds) / seconds,
    stealPct: sum(used, (s) => s.stealPct * s.seconds) / seconds,
    peakRssMiB,
    errors,
    statusCodes,
  }
}

/** Requests at a fixed, evenly spaced rate: latency, time to first byte, stream event arrival. */
export async function atRate(probe: Probe, options: { rate: number; seconds: number; connections: number }): Promise<RateRun> {
  const watched = await watchOthers(probe, () => probe.load.run({ kind: 'rate', url: probe.endpoint.url, headers: probe.endpoint.headers, body: probe.body, rate: options.rate, duration: options.seconds, connections: options.connections }))
  const run = watched.result
  return { rate: options.rate, seconds: options.seconds, latency: run.latency, ttfb: run.ttfb, events: run.events, errors: countErrors(run), statusCodes: run.statusCodes, otherCpuPct: watched.otherCpuPct }
}
