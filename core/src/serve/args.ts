/**
 * The command line every runtime's CLI takes (`switchyard`, `switchyard-bun`,
 * `switchyard-deno`): parsed here, with Web APIs only, so the flags, defaults and messages
 * are the same everywhere.
 */

/** What the command line asked for, defaults applied. */
export interface ServeArgs {
  /** `--config FILE` (or `$SWITCHYARD_CONFIG`); undefined = providers from the environment. */
  configPath: string | undefined
  /** `--port N` (or `$PORT`), 0 = any free port. Default 8080. */
  port: number
  /** `--host ADDR`. Default `127.0.0.1`. */
  host: string
  /** `--data-dir DIR`: the file store. Default `.switchyard` (relative to the working directory). */
  dataDir: string
  /** `--workers N`: processes serving the same port. Default 1 (no supervisor). */
  workers: number
  /**
   * `--redis URL` (or `$SWITCHYARD_REDIS_URL`): keep shared state (storage, budgets, rate limits,
   * jobs) in this Redis, as config `storage: { type: "redis", url }` would. Undefined = the config's
   * `storage`, else the file store.
   */
  redis: string | undefined
  /** `--help` / `-h`. */
  help: boolean
}

/** A command line that cannot be run; the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const VALUE_FLAGS = ['config', 'port', 'host', 'data-dir', 'workers', 'redis'] as const
type ValueFlag = (typeof VALUE_FLAGS)[number]

/** The `--help` text for a runtime's command. */
export function serveUsage(command: string): string {
  return `Usage: ${command} [--config FILE] [--port 8080] [--host 127.0.0.1] [--data-dir DIR] [--workers N] [--redis URL]

  --config FILE    config.json (default: $SWITCHYARD_CONFIG, else providers from OPENAI_API_KEY, ANTHROPIC_API_KEY ...)
  --port N         port to listen on (default $PORT, else 8080; 0 = any free port)
  --host ADDR      address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --data-dir DIR   file store directory (default ./.switchyard)
  --workers N      serve from N processes sharing the port (default 1; see docs/runtimes.md)
  --redis URL      shared state in Redis for several instances (default $SWITCHYARD_REDIS_URL; see docs/configuration.md)
  --help           this text`
}

function parseInteger(flag: string, raw: string, min: number, max: number, what: string): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`--${flag} must be ${what}, got "${raw}"`)
  return value
}

/** A `redis://` or `rediss://` URL, checked; undefined stays undefined. */
function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got "${raw}"`)
  return raw
}

/**
 * Parses the arguments after the script name (`--flag value` or `--flag=value`; the last
 * occurrence of a flag wins).
 * @throws UsageError for an unknown flag, a missing value, or a bad number.
 */
export function parseServeArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ServeArgs {
  const values: Partial<Record<ValueFlag, string>> = {}
  let help = false
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    const match = /^--([a-z-]+)(?:=([\s\S]*))?$/.exec(arg)
    const flag = match?.[1] as ValueFlag | undefined
    if (!match || !flag || !VALUE_FLAGS.includes(flag)) throw new UsageError(`Unknown option '${arg}'`)
    const value = match[2] ?? argv[++index]
    if (value === undefined || (match[2] === undefined && value.startsWith('--'))) throw new UsageError(`Option '--${flag} <value>' argument missing`)
    values[flag] = value
  }
  return {
    configPath: values.config || env.SWITCHYARD_CONFIG || undefined,
    port: parseInteger('port', values.port ?? (env.PORT || '8080'), 0, 65535, 'a port number'),
    host: values.host || '127.0.0.1',
    dataDir: values['data-dir'] || '.switchyard',
    workers: parseInteger('workers', values.workers ?? '1', 1, 1024, 'a whole number of processes (1 or more)'),
    redis: parseRedisUrl(values.redis ?? (env.SWITCHYARD_REDIS_URL || undefined)),
    help,
  }
}
