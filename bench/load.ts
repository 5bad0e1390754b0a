/**
 * The load generator, kept in its own process so its CPU is not charged to (or stolen
 * from) the runner. It takes one job at a time over IPC from bench/run.ts and answers with a
 * summary; the runner reads the servers' CPU counters between jobs. Two kinds of job:
 *
 * - `saturate`: autocannon, N connections as fast as they go, for a fixed duration.
 * - `rate`: an open-loop client of its own (node:http, keep-alive): requests start at evenly
 *   spaced instants (`rate` per second, never in bursts), each timed exactly: whole response,
 *   first body byte, and for streams how the SSE events arrived (one read each, or several
 *   merged into one read; the longest silence between two reads).
 */
import { Agent, request } from 'node:http'
import autocannon from 'autocannon'

interface JobBase {
  id: number
  url: string
  body: string
  headers: Record<string, string>
  /** Seconds. */
  duration: number
}

export interface SaturateJob extends JobBase {
  kind: 'saturate'
  connections: number
}

export interface RateJob extends JobBase {
  kind: 'rate'
  /** Requests started per second. */
  rate: number
  /** Most sockets open at once (keep-alive). */
  connections: number
}

export type LoadJob = SaturateJob | RateJob

export interface Percentiles {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export interface LoadResult {
  id: number
  /** Responses received (any status). */
  completed: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  /** Seconds, as measured. */
  duration: number
  rps: number
  /** `rate` jobs: fractional-ms times of 2xx responses (whole response). */
  latency?: Percentiles
  /** `rate` jobs: time to the first body byte (ms). */
  ttfb?: Percentiles
  /** `rate` jobs on streams: SSE events received, and how many came in the same read as an earlier one. */
  events?: { total: number; perResponse: number; coalesced: number; reads: number; maxGapP99: number }
  error?: string
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!)
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN, mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN }
}

async function saturate(job: SaturateJob): Promise<LoadResult> {
  const result = await autocannon({ url: job.url, method: 'POST', headers: { 'content-type': 'application/json', ...job.headers }, body: job.body, connections: job.connections, duration: job.duration, timeout: 10 })
  const completed = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count
  return { id: job.id, completed, ok: result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, statusCodes, duration: result.duration, rps: result.duration > 0 ? completed / result.duration : 0 }
}

/** Blank lines (event ends) in one chunk of an SSE body. */
function eventEnds(chunk: Buffer): number {
  let count = 0
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) if (chunk[i + 1] === 10 || (chunk[i + 1] === 13 && chunk[i + 2] === 10)) count++
  return count
}

function rate(job: RateJob): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections })
  const url = new URL(job.url)
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(job.body)), ...job.headers }
  const total = Math.max(1, Math.round(job.rate * job.duration))
  const interval = 1000 / job.rate
  const times: number[] = []
  const firstBytes: number[] = []
  const maxGaps: number[] = []
  const statusCodes: Record<string, number> = {}
  const out = { ok: 0, non2xx: 0, errors: 0, timeouts: 0, events: 0, coalesced: 0, reads: 0, completed: 0 }
  let started = 0
  let settled = 0
  const begin = performance.now()
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy()
      const duration = (performance.now() - begin) / 1000
      const events = out.events > 0 ? { total: out.events, perResponse: out.events / Math.max(1, out.ok), coalesced: out.coalesced, reads: out.reads, maxGapP99: percentiles(maxGaps).p99 } : undefined
      resolve({ id: job.id, completed: out.completed, ok: out.ok, non2xx: out.non2xx, errors: out.errors, timeouts: out.timeouts, statusCodes, duration, rps: out.completed / duration, latency: percentiles(times), ttfb: percentiles(firstBytes), events })
    }
    const done = () => {
      if (++settled === total) finish()
    }
    const fire = () => {
      const t0 = performance.now()
      let first = -1
      let last = 0
      let maxGap = 0
      let ended = false
      const end = (kind: 'ok' | 'error' | 'timeout' | 'non2xx') => {
        if (ended) return
        ended = true
        if (kind === 'error') out.errors++
        else if (kind === 'timeout') out.timeouts++
        done()
      }
      const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', agent, headers }, (res) => {
        const status = res.statusCode ?? 0
        statusCodes[status] = (statusCodes[status] ?? 0) + 1
        out.completed++
        const ok = status >= 200 && status < 300
        res.on('data', (chunk: Buffer) => {
          const now = performance.now()
          if (first < 0) first = now - t0
          else maxGap = Math.max(maxGap, now - last)
          last = now
          const ends = eventEnds(chunk)
          out.reads++
          out.events += ends
          if (ends > 1) out.coalesced += ends - 1
        })
        res.on('end', () => {
          if (ok) {
            out.ok++
            times.push(performance.now() - t0)
            if (first >= 0) firstBytes.push(first)
            maxGaps.push(maxGap)
          } else out.non2xx++
          end(ok ? 'ok' : 'non2xx')
        })
        res.on('error', () => end('error'))
      })
      req.setTimeout(10_000, () => {
        end('timeout')
        req.destroy()
      })
      req.on('error', () => end('error'))
      req.end(job.body)
    }
    const tick = () => {
      const now = performance.now()
      while (started < total && begin + started * interval <= now) {
        started++
        fire()
      }
      if (started < total) setTimeout(tick, Math.max(0, begin + started * interval - performance.now()))
    }
    tick()
  })
}

process.on('message', (job: LoadJob) => {
  ;(job.kind === 'rate' ? rate(job) : saturate(job)).then(
    (result) => process.send?.(result),
    (error: unknown) => process.send?.({ id: job.id, error: String((error as Error)?.stack ?? error) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ ready: true })
