import * as v from 'valibot'

/**
 * The `config.json` shape (the documented Bifrost-compatible contract). Sections this
 * version does not act on yet are accepted and kept, so one file serves every version.
 */

/**
 * A provider key. Members beyond these are provider-specific (Azure's `azure_key_config` ...):
 * kept for the provider package, which checks them at start (`ProviderDefinition.validateConfig`);
 * `env.VAR` strings inside them are resolved like `value`.
 */
const KeySchema = v.looseObject({
  /** The key, or `env.VAR` to read it from the environment at start. */
  value: v.pipe(v.string(), v.minLength(1)),
  /** Models this key may serve; empty or absent = all. */
  models: v.optional(v.array(v.string()), []),
  /** Relative weight for weighted random selection. Default 1. */
  weight: v.optional(v.pipe(v.number(), v.minValue(0)), 1),
  /** Optional name shown in logs instead of the key. */
  name: v.optional(v.string()),
})

const NetworkConfigSchema = v.object({
  /** Overrides the provider's default base URL. */
  base_url: v.optional(v.pipe(v.string(), v.url())),
  /** Headers added to every upstream request. */
  extra_headers: v.optional(v.record(v.string(), v.string())),
  /** Upstream request timeout (seconds). Default 30. */
  default_request_timeout_in_seconds: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Retries for retryable failures. Default 0. */
  max_retries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** First retry backoff (ms). Default 100. */
  retry_backoff_initial_ms: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Retry backoff cap (ms). Default 2000. */
  retry_backoff_max_ms: v.optional(v.pipe(v.number(), v.minValue(0))),
  /**
   * Longest silence (seconds) from the upstream in the middle of a response body. When it is
   * exceeded the upstream request is aborted (socket closed) and a stream ends with an error
   * event in the caller's dialect. 0 turns it off. Default 60.
   */
  stream_idle_timeout_in_seconds: v.optional(v.pipe(v.number(), v.minValue(0))),
})

const ConcurrencySchema = v.object({
  /** Upstream requests of this provider in flight at once (a stream holds its slot until it ends). Default: no limit. */
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /**
   * Callers that may wait for a slot when all are taken. Enforced with
   * `client.drop_excess_requests` (a caller that finds the queue full gets 429 at once);
   * otherwise every caller waits, each at most its request timeout. Default 0.
   */
  buffer_size: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
})

/** A `provider/model` name: a fallback target. */
const TargetSchema = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*\/.+$/, 'fallbacks are "<provider>/<model>"'))

/** Outbound HTTP(S) proxy for one provider's upstream requests. */
const ProxyConfigSchema = v.object({
  /** `http`: a plain-HTTP proxy; `https`: the gateway talks TLS to the proxy itself. Either tunnels with CONNECT. */
  type: v.picklist(['http', 'https']),
  /** Proxy address, e.g. `http://proxy.internal:3128`. */
  url: v.pipe(v.string(), v.url()),
  /** Basic-auth user for `Proxy-Authorization`. */
  username: v.optional(v.string()),
  /** Basic-auth password, or `env.VAR` to read it from the environment at start. */
  password: v.optional(v.string()),
  /** Extra CA certificate (PEM) trusted besides the system roots: for a TLS-intercepting proxy, or an `https` proxy with a private CA. */
  ca_cert_pem: v.optional(v.string()),
})

const ProviderConfigSchema = v.looseObject({
  keys: v.optional(v.array(KeySchema), []),
  network_config: v.optional(NetworkConfigSchema),
  concurrency_and_buffer_size: v.optional(ConcurrencySchema),
  /**
   * `provider/model` targets tried in order when a request to this provider failed after its
   * retries (any failure but a caller error: 400, 413, 422). Default none.
   */
  fallbacks: v.optional(v.array(TargetSchema)),
  /** Send this provider's upstream requests through an HTTP(S) proxy (needs a runtime that supports it: Node). */
  proxy_config: v.optional(ProxyConfigSchema),
  /** npm package that implements this provider; default `@switchyard/provider-<id>`. */
  package: v.optional(v.string()),
  /**
   * A provider from config alone, no package: an upstream that speaks a dialect a loaded provider
   * package already speaks (`openai`: OpenAI-compatible chat completions; `anthropic`: the Messages
   * API) at `base_url`. Keys are optional and sent when configured. See docs/providers.md.
   */
  custom: v.optional(v.object({
    /** API root, e.g. `https://llm.example.com/v1`: requests go to `<base_url>/chat/completions` (openai) or `<base_url>/messages` (anthropic). */
    base_url: v.pipe(v.string(), v.url()),
    /** Wire format of the upstream: `openai` or `anthropic` (or the dialect of another loaded provider package). */
    dialect: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*$/, 'custom.dialect is a dialect id such as "openai" or "anthropic"')),
  })),
  /** Provider-specific options handed to the provider package. */
  options: v.optional(v.record(v.string(), v.unknown())),
})

const ClientConfigSchema = v.looseObject({
  /** Use the caller's own provider key (Authorization / x-api-key / x-goog-api-key). Default false. */
  allow_direct_keys: v.optional(v.boolean(), false),
  /** Largest accepted request body (MiB). Default 100. */
  max_request_body_size_mb: v.optional(v.pipe(v.number(), v.minValue(0)), 100),
  /**
   * With a provider's `concurrency_and_buffer_size`: a caller that finds every slot taken and
   * `buffer_size` callers already waiting gets 429 (`retry-after: 1`) at once instead of
   * waiting. Default false.
   */
  drop_excess_requests: v.optional(v.boolean(), false),
  header_filter_config: v.optional(
    v.object({
      /** Caller headers forwarded upstream (lower-case names). */
      allowlist: v.optional(v.array(v.string()), []),
      /** Caller headers never forwarded, even if allow-listed. */
      denylist: v.optional(v.array(v.string()), []),
    }),
  ),
  /**
   * Request headers whose values become extra Prometheus labels on the request metrics (the
   * metrics plugin): the label is the header name with every character outside `[a-zA-Z0-9_]`
   * replaced by `_`, the value the header's value cut to 64 characters (`""` when absent).
   * Only name headers with a small, bounded set of values (a team, an environment): each
   * distinct value is a new time series. Default none.
   */
  prometheus_labels: v.optional(v.array(v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'prometheus_labels entries are header names'))), []),
})

/**
 * Shared state for several gateway instances: storage and exact counters on one backend,
 * provided by a package loaded by name (`@switchyard/plugin-<type>`, e.g. `@switchyard/plugin-redis`).
 */
const StorageConfigSchema = v.object({
  /** Backend kind: `redis`. */
  type: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]*$/, 'storage.type is a backend name such as "redis"')),
  /** Connection URL (`redis://host:6379/0`), or `env.VAR` to read it from the environment at start. */
  url: v.pipe(v.string(), v.minLength(1)),
  /** Prefix of every key and channel, so several deployments can share one server. Default `switchyard:`. */
  prefix: v.optional(v.pipe(v.string(), v.minLength(1)), 'switchyard:'),
  /** Package that provides the backend (its `createSharedState` export). Default `@switchyard/plugin-<type>`. */
  package: v.optional(v.pipe(v.string(), v.minLength(1))),
})

const PluginConfigSchema = v.object({
  /** Package name, or the name of a plugin handed to createGateway. */
  name: v.pipe(v.string(), v.minLength(1)),
  enabled: v.optional(v.boolean(), true),
  config: v.optional(v.unknown()),
})

export const ConfigSchema = v.looseObject({
  $schema: v.optional(v.string()),
  providers: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider ids are lower-case letters, digits, - and _')), ProviderConfigSchema), {}),
  client: v.optional(ClientConfigSchema, {}),
  plugins: v.optional(v.array(PluginConfigSchema), []),
  /** Shared state for several instances (Redis); absent: the runtime's own store (files, or memory). */
  storage: v.optional(StorageConfigSchema),
})

export type Config = v.InferOutput<typeof ConfigSchema>
export type ConfigInput = v.InferInput<typeof ConfigSchema>
export type ProviderConfig = v.InferOutput<typeof ProviderConfigSchema>
export type KeyConfig = v.InferOutput<typeof KeySchema>
export type ClientConfig = v.InferOutput<typeof ClientConfigSchema>
export type ProxyConfig = v.InferOutput<typeof ProxyConfigSchema>
export type StorageConfig = v.InferOutput<typeof StorageConfigSchema>

/** A config that failed validation; `issues` name each bad field by its path. */
export class ConfigError extends Error {
  constructor(readonly issues: string[], source?: string) {
    super(`invalid config${source ? ` (${source})` : ''}:\n  ${issues.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** The dotted path of a valibot issue (`providers.openai.keys[0].weight`), `(root)` for the whole value. */
export function formatPath(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`)).join('') ?? ''
  return path ? path.replace(/^\./, '') : '(root)'
}

const ENV_REFERENCE = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/
const KEY_MEMBERS = new Set(['value', 'models', 'weight', 'name'])

/** `env.VAR` strings anywhere inside provider-specific config (`options`, extra key members), resolved. */
function resolveEnvReferences(value: unknown, path: string, env: Record<string, string | undefined>, missing: string[]): unknown {
  if (typeof value === 'string') {
    const name = ENV_REFERENCE.exec(value)?.[1]
    if (name === undefined) return value
    const resolved = env[name]
    if (!resolved) missing.push(`${path}: environment variable ${name} is not set`)
    return resolved || value
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveEnvReferences(item, `${path}[${index}]`, env, missing))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, resolveEnvReferences(item, `${path}.${name}`, env, missing)]))
  }
  return value
}

/**
 * Validates a config object and resolves `env.VAR` key values.
 * @throws ConfigError naming the path of every bad field (and every missing env var).
 */
export function parseConfig(input: unknown, env: Record<string, string | undefined> = {}, source?: string): Config {
  const result = v.safeParse(ConfigSchema, input ?? {})
  if (!result.success) {
    throw new ConfigError(result.issues.map((issue) => `${formatPath(issue)}: ${issue.message}`), source)
  }
  const config = result.output
  const missing: string[] = []
  for (const [id, provider] of Object.entries(config.providers)) {
    const proxy = provider.proxy_config
    if (proxy?.password?.startsWith('env.')) {
      const name = proxy.password.slice(4)
      const value = env[name]
      if (value) provider.proxy_config = { ...proxy, password: value }
      else missing.push(`providers.${id}.proxy_config.password: environment variable ${name} is not set`)
    }
    if (provider.options) provider.options = resolveEnvReferences(provider.options, `providers.${id}.options`, env, missing) as Record<string, unknown>
    provider.keys = provider.keys.map((key, index) => {
      for (const member of Object.keys(key)) {
        if (!KEY_MEMBERS.has(member)) key = { ...key, [member]: resolveEnvReferences(key[member], `providers.${id}.keys[${index}].${member}`, env, missing) }
      }
      if (!key.value.startsWith('env.')) return key
      const name = key.value.slice(4)
      const value = env[name]
      if (!value) {
        missing.push(`providers.${id}.keys[${index}].value: environment variable ${name} is not set`)
        return key
      }
      return { ...key, value }
    })
  }
  const storageUrl = config.storage?.url
  if (storageUrl?.startsWith('env.')) {
    const value = env[storageUrl.slice(4)]
    if (value) config.storage = { ...config.storage!, url: value }
    else missing.push(`storage.url: environment variable ${storageUrl.slice(4)} is not set`)
  }
  if (missing.length > 0) throw new ConfigError(missing, source)
  return config
}

/** Well-known environment variables read when no config file is given. */
export const PROVIDER_ENV_KEYS: Readonly<Record<string, string>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  /** A service-account key (JSON), an access token or an express-mode API key; project and region from the key / defaults. */
  vertex: 'VERTEX_CREDENTIALS',
  mistral: 'MISTRAL_API_KEY',
  groq: 'GROQ_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
  xai: 'XAI_API_KEY',
  cohere: 'COHERE_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  together: 'TOGETHER_API_KEY',
  fireworks: 'FIREWORKS_API_KEY',
  cerebras: 'CEREBRAS_API_KEY',
  perplexity: 'PERPLEXITY_API_KEY',
}

/**
 * The config used when no file is given: the built-in `mock` provider plus every
 * provider whose usual environment variable is set.
 */
export function configFromEnv(env: Record<string, string | undefined>): Config {
  const providers: Record<string, unknown> = { mock: { keys: [] } }
  for (const [id, name] of Object.entries(PROVIDER_ENV_KEYS)) {
    if (env[name]) providers[id] = { keys: [{ value: `env.${name}`, models: [], weight: 1 }] }
  }
  return parseConfig({ providers }, env, 'environment')
}
