/** The plugin's `config` in the Switchyard config file (`plugins[].config`). */
export interface MetricsOptions {
  /** Path of the scrape endpoint. Default `/metrics`. */
  path?: string
  /**
   * Bearer token a scraper must send (`Authorization: Bearer <token>`); without it `/metrics`
   * answers 401. `env.VAR` reads it from the environment at start. Default: no protection.
   */
  token?: string
  /**
   * Extra `provider/model` names that keep their own `model` label besides the models in the
   * providers' key lists and the routing rules' targets (a keyless provider's models, say).
   */
  models?: string[]
  /** Histogram bucket bounds, in seconds. */
  buckets?: {
    /** `switchyard_request_duration_seconds`. Default 0.05 s … 300 s. */
    duration?: number[]
    /** `switchyard_time_to_first_token_seconds`. Default 0.01 s … 30 s. */
    ttft?: number[]
  }
}

/** Options with defaults applied and the token resolved. */
export interface ResolvedMetricsOptions {
  path: string
  token: string | undefined
  models: string[]
  durationBuckets: number[]
  ttftBuckets: number[]
}

/** Requests last seconds to minutes: the buckets reach 5 minutes. */
export const DEFAULT_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300]
/** A first token comes within milliseconds to tens of seconds. */
export const DEFAULT_TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const RESERVED_PATHS = new Set(['/health', '/ready'])

const fail = (message: string): never => {
  throw new TypeError(`metrics: ${message}`)
}

function bucketsOf(value: unknown, field: string, fallback: number[]): number[] {
  if (value === undefined) return fallback
  if (!Array.isArray(value) || value.length === 0 || !value.every((bound) => typeof bound === 'number' && Number.isFinite(bound) && bound > 0)) {
    fail(`config.buckets.${field} must be a non-empty list of positive numbers (seconds)`)
  }
  return [...new Set(value as number[])].sort((a, b) => a - b)
}

/** Reads `env.VAR` from the process environment (Node, Bun and Deno all expose `process.env`). */
function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  return env?.[name]
}

/** Checks the options; a bad value fails the gateway's start, naming the field. */
export function resolveOptions(input: unknown): ResolvedMetricsOptions {
  const options = (input ?? {}) as MetricsOptions
  if (typeof options !== 'object' || Array.isArray(options)) fail('config must be an object')
  const path = options.path ?? '/metrics'
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(path) || RESERVED_PATHS.has(path)) {
    fail(`config.path must be a path such as "/metrics" (not /health or /ready), got ${JSON.stringify(path)}`)
  }
  let token = options.token
  if (token !== undefined) {
    if (typeof token !== 'string' || token.length === 0) fail('config.token must be a non-empty string')
    if (token.startsWith('env.')) {
      const name = token.slice(4)
      token = readEnv(name)
      if (!token) fail(`config.token: environment variable ${name} is not set`)
    }
  }
  const models = options.models ?? []
  if (!Array.isArray(models) || !models.every((model) => typeof model === 'string' && model.includes('/'))) {
    fail('config.models must be a list of "provider/model" names')
  }
  const buckets = options.buckets ?? {}
  if (typeof buckets !== 'object' || Array.isArray(buckets)) fail('config.buckets must be an object')
  return {
    path,
    token,
    models,
    durationBuckets: bucketsOf(buckets.duration, 'duration', DEFAULT_DURATION_BUCKETS),
    ttftBuckets: bucketsOf(buckets.ttft, 'ttft', DEFAULT_TTFT_BUCKETS),
  }
}
