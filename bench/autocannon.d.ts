// Minimal typing for the parts of autocannon (v9, no bundled types) the bench uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string
    connections?: number
    duration?: number
    amount?: number
    overallRate?: number
    timeout?: number
    pipelining?: number
  }
  interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    [percentile: string]: number
  }
  interface Result {
    duration: number
    requests: Histogram
    latency: Histogram
    throughput: Histogram
    errors: number
    timeouts: number
    mismatches: number
    non2xx: number
    resets: number
    '1xx': number
    '2xx': number
    '3xx': number
    '4xx': number
    '5xx': number
    statusCodeStats: Record<string, { count: number }>
  }
  type Instance = EventEmitter & Promise<Result> & { stop(): void }
  function autocannon(options: Options): Instance
  export default autocannon
}
