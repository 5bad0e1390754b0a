import type { KeyConfig, ProviderConfig } from './config.js'
import { isKeyFailure, KeyCooldowns } from './cooldown.js'
import { GatewayError, toGatewayError } from './errors.js'
import { ConcurrencyLimiter, LoadCounter, type ProviderLoad } from './limiter.js'
import type { ProviderDefinition, UpstreamContext, UpstreamRequest } from './provider.js'

/** A provider as the router holds it: definition plus its resolved configuration and live state. */
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
  /** Longest silence from the upstream in the middle of a response body (ms); 0 = none. */
  streamIdleMs: number
  /** `providers.<id>.fallbacks`: `provider/model` targets tried after this provider failed. */
  fallbacks: readonly string[]
  /** Keys that just failed with 429/401/402/403 (per process). */
  cooldowns: KeyCooldowns
  /** In-flight and queued upstream requests. */
  load: ProviderLoad
  /** Set when `concurrency_and_buffer_size.concurrency` is configured. */
  limiter: ConcurrencyLimiter | undefined
  /** Transport for this provider (an outbound proxy); undefined = the gateway's. */
  fetch: typeof fetch | undefined
}

export interface Route {
  provider: RegisteredProvider
  /** Model name as the provider knows it. */
  model: string
}

/** Gateway-wide settings that shape how a provider is registered. */
export interface RegisterOptions {
  /** `client.drop_excess_requests`: refuse (429) instead of waiting when the queue is full. */
  dropExcessRequests?: boolean
  /** Transport for this provider (the runtime's proxy-aware fetch). */
  fetch?: typeof fetch
}

/** Default `network_config.stream_idle_timeout_in_seconds`. */
export const DEFAULT_STREAM_IDLE_SECONDS = 60

/** Registers a provider with defaults from its definition and config. */
export function registerProvider(id: string, definition: ProviderDefinition, config: ProviderConfig, options: RegisterOptions = {}): RegisteredProvider {
  const network = config.network_config ?? {}
  const baseURL = (network.base_url ?? definition.baseURL ?? '').replace(/\/+$/, '')
  const concurrency = config.concurrency_and_buffer_size?.concurrency
  const limiter = concurrency
    ? new ConcurrencyLimiter({ provider: id, concurrency, bufferSize: config.concurrency_and_buffer_size?.buffer_size ?? 0, dropExcess: options.dropExcessRequests === true })
    : undefined
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
    streamIdleMs: (network.stream_idle_timeout_in_seconds ?? DEFAULT_STREAM_IDLE_SECONDS) * 1000,
    fallbacks: config.fallbacks ?? [],
    cooldowns: new KeyCooldowns(),
    load: limiter ?? new LoadCounter(),
    limiter,
    fetch: options.fetch,
  }
}

/**
 * Splits `provider/model`. A bare model goes to `defaultProvider`; a prefix that names no
 * loaded provider is a 400 (nothing is sent upstream).
 */
export function resolveModel(model: string, providers: ReadonlyMap<string, RegisteredProvider>, defaultProvider: string, param = 'model'): Route {
  const slash = model.indexOf('/')
  if (slash === -1) {
    const provider = providers.get(defaultProvider)
    if (!provider) throw GatewayError.badRequest(`model "${model}" has no provider prefix and the default provider "${defaultProvider}" is not available`, param)
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
      param,
      message: `unknown provider "${id}" in model "${model}"; use "<provider>/<model>" with one of: ${[...providers.keys()].join(', ')}`,
      retryable: false,
    })
  }
  if (rest.length === 0) throw GatewayError.badRequest(`model "${model}" names no model after the provider prefix`, param)
  return { provider, model: rest }
}

const allows = (key: KeyConfig, model: string) => key.models.length === 0 || key.models.includes(model)

/**
 * Weighted random choice among the keys whose `models` allow `model` (empty list = all).
 * With `cooldowns`, keys cooling at `now` are skipped while another allowed key can serve; when
 * every allowed key is cooling, the one whose cooldown ends first is used (the upstream decides,
 * rather than the gateway refusing on a guess).
 */
export function selectKey(keys: readonly KeyConfig[], model: string, random: () => number = Math.random, cooldowns?: KeyCooldowns, now: number = Date.now()): KeyConfig | undefined {
  const cooling = cooldowns !== undefined && cooldowns.size > 0 ? cooldowns : undefined
  let total = 0
  let only: KeyConfig | undefined
  let count = 0
  let soonest: KeyConfig | undefined
  for (const key of keys) {
    if (!allows(key, model)) continue
    if (cooling?.isCooling(key, now)) {
      if (!soonest || cooling.until(key) < cooling.until(soonest)) soonest = key
      continue
    }
    total += key.weight
    only = key
    count++
  }
  if (count === 0) return soonest
  if (count === 1) return only
  let pick = random() * total
  for (const key of keys) {
    if (!allows(key, model) || cooling?.isCooling(key, now)) continue
    pick -= key.weight
    if (pick < 0) return key
  }
  return only
}

/** True when some key allowed for `model` is not cooling. */
function hasFreeKey(keys: readonly KeyConfig[], model: string, cooldowns: KeyCooldowns, now: number): boolean {
  for (const key of keys) if (allows(key, model) && !cooldowns.isCooling(key, now)) return true
  return false
}

/** Full-jitter exponential backoff: random in [0, min(max, initial * 2^attempt)]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, initialMs * 2 ** attempt)
}

/** `retry-after` (seconds or an HTTP date) in ms. */
export function retryAfterMs(headers: Headers | Record<string, string> | undefined): number | undefined {
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
  /** The gateway's transport; a provider with its own (`proxy_config`) uses that instead. */
  fetch: typeof fetch
  /** Builds the request for one attempt (a retry may pick another key). */
  build(context: UpstreamContext): UpstreamRequest
  /** Counts every attempt (and every retry) as it starts, also for a call that fails in the end. */
  tally?: { attempts: number; retries: number }
}

export interface SendResult {
  response: Response
  context: UpstreamContext
  /** Upstream attempts made, this one included. */
  attempts: number
  /** Disarms the request timeout: call once the body was read, or when a stream starts (the idle timeout takes over). */
  done(): void
  /**
   * Ends the call: disarms the timeout, stops watching the caller and frees the provider's
   * concurrency slot. Call it once the response body ended, failed or was cancelled. Idempotent.
   */
  settle(): void
  /** Aborts the upstream request (its socket is closed); the body then fails with `reason`. */
  abort(reason: unknown): void
  /** What a failed body read means: the timeout's 504 when the timeout fired, else `caught` as a GatewayError. */
  failed(caught: unknown): GatewayError
}

/** The 499 for a caller that went away (the runtime's abort reason is not always an Error). */
export function clientClosed(provider: string | undefined, cause?: unknown): GatewayError {
  return new GatewayError({ status: 499, code: 'client_closed', message: provider ? `[${provider}] the caller went away` : 'the caller went away', provider, retryable: false, cause })
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

/** Errors that mean "this target cannot serve" rather than "this request is wrong": a fallback may serve. */
const targetFaults = new WeakSet<GatewayError>()

/** Marks an error as a limitation of the target (no keys, unsupported operation), so fallbacks apply. */
export function markTargetFault<T extends GatewayError>(error: T): T {
  targetFaults.add(error)
  return error
}

/** True for an error made by {@link markTargetFault}. */
export function isTargetFault(error: GatewayError): boolean {
  return targetFaults.has(error)
}

/** Picks the key for one attempt, or fails with a 4xx that sends nothing upstream. */
export function keyFor(route: Route, directKey: string | undefined, now?: number): KeyConfig | undefined {
  if (directKey !== undefined) return { value: directKey, models: [], weight: 1 }
  const { provider, model } = route
  if (provider.definition.requiresKey === false) return selectKey(provider.config.keys, model, Math.random, provider.cooldowns, now)
  if (provider.config.keys.length === 0) {
    throw markTargetFault(new GatewayError({
      status: 400,
      code: 'invalid_request',
      type: 'invalid_request_error',
      param: 'model',
      message: `[${provider.id}] provider has no keys configured`,
      provider: provider.id,
      retryable: false,
    }))
  }
  const key = selectKey(provider.config.keys, model, Math.random, provider.cooldowns, now)
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

/** Takes a concurrency slot (waiting in the provider's queue when it has a limit). */
function takeSlot(provider: RegisteredProvider, signal: AbortSignal): Promise<void> | undefined {
  if (provider.limiter) return provider.limiter.acquire(signal, provider.timeoutMs)
  provider.load.inFlight++
  return undefined
}

function freeSlot(provider: RegisteredProvider): void {
  if (provider.limiter) provider.limiter.release()
  else provider.load.inFlight--
}

/**
 * Sends one logical request upstream: takes a concurrency slot, picks a key, applies the
 * timeout, and retries retryable failures with backoff (honouring `retry-after`) until the
 * response headers arrive. A key that answers 429/401/402/403 is cooled down, and the retry
 * (if any is left) goes to another key when one is free: at once after 401/402/403, after the
 * backoff after 429. A non-OK answer after the last attempt is thrown as the provider's GatewayError.
 */
export async function sendUpstream(options: SendOptions): Promise<SendResult> {
  const { route, signal, directKey } = options
  const { provider } = route
  const upstream = provider.definition.upstream
  const fetcher = provider.fetch ?? options.fetch
  let attempt = 0
  for (;;) {
    const waiting = takeSlot(provider, signal)
    if (waiting) await waiting
    if (options.tally) {
      options.tally.attempts++
      if (attempt > 0) options.tally.retries++
    }
    const controller = new AbortController()
    const onCallerAbort = () => controller.abort(signal.reason)
    if (signal.aborted) onCallerAbort()
    else signal.addEventListener('abort', onCallerAbort, { once: true })
    const timer = provider.timeoutMs > 0
      ? setTimeout(() => controller.abort(new DOMException(`[${provider.id}] upstream timed out after ${provider.timeoutMs} ms`, 'TimeoutError')), provider.timeoutMs)
      : undefined
    let settled = false
    const done = () => {
      if (timer !== undefined) clearTimeout(timer)
    }
    const settle = () => {
      if (settled) return
      settled = true
      done()
      signal.removeEventListener('abort', onCallerAbort)
      freeSlot(provider)
    }
    let key: KeyConfig | undefined
    let error: GatewayError
    try {
      key = keyFor(route, directKey)
      const context: UpstreamContext = { providerId: provider.id, key, baseURL: provider.baseURL, config: provider.config, signal: controller.signal, fetch: fetcher }
      const built = options.build(context)
      const extra = provider.config.network_config?.extra_headers
      const merged = extra ? { ...built, headers: { ...built.headers, ...extra } } : built
      // A signing provider (Bedrock's SigV4) signs every attempt afresh, extra headers included.
      const request = upstream?.sign ? await upstream.sign(merged, context) : merged
      const response = await fetcher(request.url, {
        method: request.method ?? 'POST',
        headers: request.headers,
        body: request.body as BodyInit | undefined,
        signal: controller.signal,
        // Node's fetch needs this for a streamed request body.
        ...(request.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit)
      if (response.ok) {
        if (key && provider.cooldowns.size > 0) provider.cooldowns.clear(key)
        const failed = (caught: unknown) => (signal.aborted ? clientClosed(provider.id, caught) : toGatewayError(controller.signal.aborted ? controller.signal.reason : caught, provider.id))
        return { response, context, attempts: attempt + 1, done, settle, abort: (reason) => controller.abort(reason), failed }
      }
      const text = await response.text().catch(() => '')
      settle()
      error = upstream
        ? upstream.error(response.status, text, response.headers, context)
        : new GatewayError({ status: response.status, code: 'upstream', message: `[${provider.id}] request failed with status ${response.status}`, provider: provider.id })
    } catch (caught) {
      settle()
      if (signal.aborted) throw clientClosed(provider.id, signal.reason)
      if (GatewayError.is(caught) && key === undefined) throw caught
      error = toGatewayError(controller.signal.aborted ? controller.signal.reason : caught, provider.id)
    }
    const retryAfter = retryAfterMs(error.headers ?? error.upstream?.headers)
    let rotate = false
    if (key && directKey === undefined && isKeyFailure(error.status) && provider.config.keys.includes(key)) {
      const now = Date.now()
      provider.cooldowns.cool(key, error.status, retryAfter, now)
      rotate = hasFreeKey(provider.config.keys, route.model, provider.cooldowns, now)
    }
    // 401/402/403 are not retryable as such, but another key may well succeed.
    const retryable = error.retryable || (rotate && error.status !== 429)
    if (!retryable || attempt >= provider.maxRetries || (directKey !== undefined && error.status === 401)) throw error
    const backoff = () => backoffDelay(attempt, provider.backoffInitialMs, provider.backoffMaxMs)
    // `retry-after` speaks for the key that got it; a fresh key only waits the backoff.
    const wait = rotate ? (error.status === 429 ? backoff() : 0) : (retryAfter ?? backoff())
    if (wait > 0) await sleep(Math.min(wait, provider.backoffMaxMs * 4), signal).catch((reason: unknown) => {
      throw clientClosed(provider.id, reason)
    })
    attempt++
  }
}
