/** The plugin's `config` in the Switchyard config file (`plugins[].config`). */
export interface AsyncInferenceOptions {
  /** Jobs this gateway instance runs at the same time. Default 8. */
  concurrency?: number
  /** How long a finished job's result stays pollable, in seconds, unless the caller sends `x-bf-async-job-result-ttl`. Default 3600. */
  result_ttl_seconds?: number
  /** The longest `x-bf-async-job-result-ttl` a caller may ask for, in seconds; more is a 400. Default 86400 (a day). */
  max_result_ttl_seconds?: number
  /**
   * How long a worker's claim on a job lasts without renewal, in ms. The worker renews it every
   * third of that while the job runs; when the worker dies, another instance (or this one after a
   * restart) takes the job over once the lease has expired. Default 30000.
   */
  lease_ms?: number
  /** How often each instance looks in the store for jobs nobody runs (missed announcements, dead workers), in ms. Default 5000. */
  scan_interval_ms?: number
  /** How often expired results are deleted from the store, in ms. Default 60000. */
  sweep_interval_ms?: number
  /**
   * How many times a job is started before it is given up: a job whose worker died that often
   * (a request that crashes the gateway) fails with a 500 instead of running again. Default 3.
   */
  max_attempts?: number
  /**
   * Whether a job that was running when its worker died (its upstream call may have been sent) runs
   * again. `true` (default): at-least-once upstream calls for such jobs, exactly one recorded result.
   * `false`: such a job fails with a 500 instead (at most one upstream call per job).
   */
  retry_interrupted?: boolean
  /**
   * How long a submit waits for its job to finish before answering with the pending object, in ms.
   * A job done by then is answered directly, as a synchronous call would be. Default 0 (answer at once).
   */
  submit_wait_ms?: number
  /** Prefix of the plugin's keys in the storage and the atomic store. Default `async-inference`. */
  key_prefix?: string
}

/** Options with defaults applied. */
export interface ResolvedAsyncOptions {
  concurrency: number
  resultTtlSeconds: number
  maxResultTtlSeconds: number
  leaseMs: number
  scanIntervalMs: number
  sweepIntervalMs: number
  maxAttempts: number
  retryInterrupted: boolean
  submitWaitMs: number
  keyPrefix: string
}

export const DEFAULT_RESULT_TTL_SECONDS = 3600

const fail = (message: string): never => {
  throw new TypeError(`async-inference: ${message}`)
}

function integerOf(options: Record<string, unknown>, field: keyof AsyncInferenceOptions, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = options[field]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`config.${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  return value as number
}

/** Checks the options; a bad value stops the gateway's start, naming the field. */
export function resolveOptions(input: unknown): ResolvedAsyncOptions {
  const options = (input ?? {}) as Record<string, unknown>
  if (typeof options !== 'object' || Array.isArray(options)) fail('config must be an object')
  const known = new Set(['concurrency', 'result_ttl_seconds', 'max_result_ttl_seconds', 'lease_ms', 'scan_interval_ms', 'sweep_interval_ms', 'max_attempts', 'retry_interrupted', 'submit_wait_ms', 'key_prefix'])
  for (const name of Object.keys(options)) if (!known.has(name)) fail(`config.${name} is not an option (known: ${[...known].join(', ')})`)
  const maxResultTtlSeconds = integerOf(options, 'max_result_ttl_seconds', 86_400, 1)
  const resultTtlSeconds = integerOf(options, 'result_ttl_seconds', Math.min(DEFAULT_RESULT_TTL_SECONDS, maxResultTtlSeconds), 1, maxResultTtlSeconds)
  const retryInterrupted = options.retry_interrupted ?? true
  if (typeof retryInterrupted !== 'boolean') fail('config.retry_interrupted must be true or false')
  const keyPrefix = options.key_prefix ?? 'async-inference'
  if (typeof keyPrefix !== 'string' || !/^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)*$/.test(keyPrefix)) fail('config.key_prefix must be letters, digits, "_" or "-", in ":"-separated parts')
  return {
    concurrency: integerOf(options, 'concurrency', 8, 1, 10_000),
    resultTtlSeconds,
    maxResultTtlSeconds,
    leaseMs: integerOf(options, 'lease_ms', 30_000, 300),
    scanIntervalMs: integerOf(options, 'scan_interval_ms', 5_000, 50),
    sweepIntervalMs: integerOf(options, 'sweep_interval_ms', 60_000, 100),
    maxAttempts: integerOf(options, 'max_attempts', 3, 1, 1_000),
    retryInterrupted: retryInterrupted as boolean,
    submitWaitMs: integerOf(options, 'submit_wait_ms', 0, 0, 600_000),
    keyPrefix: keyPrefix as string,
  }
}
