/**
 * The load generator, kept in its own process so its CPU is not charged to (or stolen
 * from) the runner. It takes one job at a time over IPC from bench/run.ts, runs autocannon
 * and answers with a summary; the runner reads the servers' CPU counters between jobs.
 */
import autocannon from 'autocannon'

export interface LoadJob {
  id: number
  url: string
  body: string
  connections: number
  /** Seconds. */
  duration: number
  /** Requests per second over all connections (autocannon `overallRate`); absent = as fast as possible. */
  overallRate?: number
  /** Record every 2xx response time (fractional ms) and answer with percentiles. */
  collectLatency?: boolean
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
  /** Seconds, as measured by autocannon. */
  duration: number
  rps: number
  /** Fractional-ms percentiles of 2xx responses, when asked for. */
  latency?: { count: number; p50: number; p90: number; p99: number; max: number; mean: number }
  error?: string
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

async function run(job: LoadJob): Promise<LoadResult> {
  const instance = autocannon({
    url: job.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: job.body,
    connections: job.connections,
    duration: job.duration,
    overallRate: job.overallRate,
    timeout: 10,
  })
  // autocannon's own latency histogram has 1 ms resolution; keep the exact times instead.
  const times: number[] = []
  if (job.collectLatency) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, time: number) => {
      if (status >= 200 && status < 300) times.push(time)
    })
  }
  const result = await instance
  const completed = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count
  const out: LoadResult = {
    id: job.id,
    completed,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    duration: result.duration,
    rps: result.duration > 0 ? completed / result.duration : 0,
  }
  if (job.collectLatency) {
    times.sort((a, b) => a - b)
    const sum = times.reduce((a, b) => a + b, 0)
    out.latency = {
      count: times.length,
      p50: percentile(times, 50),
      p90: percentile(times, 90),
      p99: percentile(times, 99),
      max: times.length ? times[times.length - 1] : Number.NaN,
      mean: times.length ? sum / times.length : Number.NaN,
    }
  }
  return out
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.(result),
    (error: unknown) => process.send?.({ id: job.id, error: String((error as Error)?.stack ?? error) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ ready: true })
