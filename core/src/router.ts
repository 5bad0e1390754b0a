import type { KeyConfig, ProviderConfig } from './config.js'
import { GatewayError, toGatewayError } from './errors.js'
import type { ProviderDefinition, UpstreamContext, UpstreamRequest } from './provider.js'

/** A provider as the router holds it: definition plus its resolved configuration. */
export interface RegisteredProvider {
  id: string
  definition: ProviderDefinition
  config: ProviderConfig
  /** Base URL without trailing slash ('' for in-process providers). */
  baseURL: string
  /** Requests may be served: keys configured, or none needed. */
  usable: boolean
  timeoutMs: number
  maxRetries: number
  backoffInitialMs: number
  backoffMaxMs: number
}

export interface Route {
  provider: RegisteredProvider
  /** Model name as the provider knows it. */
  model: string
}

/** Registers a provider with defaults from its definition and config. */
export function registerProvider(id: string, definition: ProviderDefinition, config: ProviderConfig): RegisteredProvider {
  const network = config.network_config ?? {}
  const baseURL = (network.base_url ?? definition.baseURL ?? '').replace(/\/+$/, '')
  return {
    id,
    definition,
    config,
    baseURL,
    usable: definition.requiresKey === false || config.keys.length > 0,
    timeoutMs: (network.default_request_timeout_in_seconds ?? 30) * 1000,
    maxRetries: network.max_retries ?? 0,
    backoffInitialMs: network.retry_backoff_initial_ms ?? 100,
    backoffMaxMs: network.retry_backoff_max_ms ?? 2000,
  }
}

/**
 * Splits `provider/model`. A bare model goes to `defaultProvider`; a prefix that names no
 * loaded provider is a 400 (nothing is sent upstream).
 */
export function resolveModel(model: string, providers: ReadonlyMap<string, RegisteredProvider>, defaultProvider: string): Route {
  const slash = model.indexOf('/')
  if (slash === -1) {
    const provider = providers.get(defaultProvider)
    if (!provider) throw GatewayError.badRequest(`model "${model}" has no provider prefix and the default provider "${defaultProvider}" is not available`, 'model')
    return { provider, model }
  }
  const id = model.slice(0, slash)
  const rest = model.slice(slash + 1)
  const provider = providers.get(id)
  if (!provider) {
    throw new GatewayError({
      status: 400,
      code: 'invalid_request',
      type: 'invalid_request_error',
      param: 'model',
      message: `unknown provider "${id}" in model "${model}"; use "<provider>/<model>" with one of: ${[...providers.keys()].join(', ')}`,
      retryable: false,
    })
  }
  if (rest.length === 0) throw GatewayError.badRequest(`model "${model}" names no model after the provider prefix`, 'model')
  return { provider, model: rest }
}

/** Weighted random choice among the keys whose `models` allow `model` (empty list = all). */
export function selectKey(keys: readonly KeyConfig[], model: string, random: () => number = Math.random): KeyConfig | undefined {
  let total = 0
  let only: KeyConfig | undefined
  let count = 0
  for (const key of keys) {
    if (key.models.length > 0 && !key.models.includes(model)) continue
    total += key.weight
    only = key
    count++
  }
  if (count <= 1) return only
  let pick = random() * total
  for (const key of keys) {
    if (key.models.length > 0 && !key.models.includes(model)) continue
    pick -= key.weight
    if (pick < 0) return key
  }
  return only
}

/** Full-jitter exponential backoff: random in [0, min(max, initial * 2^attempt)]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, initialMs * 2 ** attempt)
}

function retryAfterMs(headers: Headers | Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined
  const value = headers instanceof Headers ? headers.get('retry-after') : headers['retry-after']
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

export interface SendOptions {
  route: Route
  /** Caller's key, when direct keys are allowed and one was sent. */
  directKey: string | undefined
  /** Fires when the caller goes away. */
  signal: AbortSignal
  fetch: typeof fetch
  /** Builds the request for one attempt (a retry may pick another key). */
  build(context: UpstreamContext): UpstreamRequest
  /** Keep the timeout armed until the body was read (non-stream). */
  onAttempt?(attempt: number): void
}

export interface SendResult {
  response: Response
  context: UpstreamContext
  attempts: number
  /** Disarms the request timeout; call once the response body is fully read or a stream started. */
  done(): void
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })

/** Picks the key for one attempt, or fails with a 4xx that sends nothing upstream. */
export function keyFor(route: Route, directKey: string | undefined): KeyConfig | undefined {
  if (directKey !== undefined) return { value: directKey, models: [], weight: 1 }
  const { provider, model } = route
  if (provider.definition.requiresKey === false) return selectKey(provider.config.keys, model)
  if (provider.config.keys.length === 0) {
    throw new GatewayError({
      status: 400,
      code: 'invalid_request',
      type: 'invalid_request_error',
      param: 'model',
      message: `[${provider.id}] provider has no keys configured`,
      provider: provider.id,
      retryable: false,
    })
  }
  const key = selectKey(provider.config.keys, model)
  if (!key) {
    throw new GatewayError({
      status: 404,
      code: 'not_found',
      type: 'model_not_found',
      param: 'model',
      message: `[${provider.id}] no configured key allows model "${model}"`,
      provider: provider.id,
      retryable: false,
    })
  }
  return key
}

/**
 * Sends one logical request upstream: picks a key, applies the timeout, and retries
 * retryable failures with backoff (honouring `retry-after`) until the response headers
 * arrive. A non-OK answer after the last attempt is thrown as the provider's GatewayError.
 */
export async function sendUpstream(options: SendOptions): Promise<SendResult> {
  const { route, signal } = options
  const { provider } = route
  const upstream = provider.definition.upstream
  let attempt = 0
  for (;;) {
    const key = keyFor(route, options.directKey)
    const controller = new AbortController()
    const onCallerAbort = () => controller.abort(signal.reason)
    if (signal.aborted) onCallerAbort()
    else signal.addEventListener('abort', onCallerAbort, { once: true })
    const timer = provider.timeoutMs > 0
      ? setTimeout(() => controller.abort(new DOMException(`[${provider.id}] upstream timed out after ${provider.timeoutMs} ms`, 'TimeoutError')), provider.timeoutMs)
      : undefined
    const done = () => {
      if (timer !== undefined) clearTimeout(timer)
      signal.removeEventListener('abort', onCallerAbort)
    }
    const context: UpstreamContext = { providerId: provider.id, key, baseURL: provider.baseURL, config: provider.config, signal: controller.signal }
    let error: GatewayError
    try {
      const request = options.build(context)
      const extra = provider.config.network_config?.extra_headers
      const response = await options.fetch(request.url, {
        method: request.method ?? 'POST',
        headers: extra ? { ...request.headers, ...extra } : request.headers,
        body: request.body as BodyInit | undefined,
        signal: controller.signal,
        // Node's fetch needs this for a streamed request body.
        ...(request.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit)
      if (response.ok) return { response, context, attempts: attempt + 1, done }
      const text = await response.text().catch(() => '')
      done()
      error = upstream
        ? upstream.error(response.status, text, response.headers, context)
        : new GatewayError({ status: response.status, code: 'upstream', message: `[${provider.id}] request failed with status ${response.status}`, provider: provider.id })
    } catch (caught) {
      done()
      if (signal.aborted) throw toGatewayError(signal.reason ?? caught, provider.id)
      error = toGatewayError(controller.signal.aborted ? controller.signal.reason : caught, provider.id)
    }
    if (!error.retryable || attempt >= provider.maxRetries || options.directKey !== undefined && error.status === 401) throw error
    const wait = retryAfterMs(error.headers ?? error.upstream?.headers) ?? backoffDelay(attempt, provider.backoffInitialMs, provider.backoffMaxMs)
    await sleep(Math.min(wait, provider.backoffMaxMs * 4), signal)
    attempt++
  }
}
