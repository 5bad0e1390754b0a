import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { startFaultUpstream, type FaultUpstream } from './fault-upstream.js'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './gateway.js'
import { startMockAnthropic, type MockAnthropic } from './mock-anthropic.js'

/**
 * Harness for the fault-injection e2e tests (`test/routing-*.test.ts`): named fault upstreams for
 * the whole file, one gateway per test (each test states the config it needs), the real SDKs,
 * and leak checks:
 * - after each test, every upstream has no open socket left once the requests are done (polled
 *   briefly, before the test's gateways are closed, so a gateway that forgot an upstream request
 *   is caught rather than rescued by its own shutdown);
 * - after the file, the process holds no more handles (`process.getActiveResourcesInfo()`) than
 *   it did before the harness started anything.
 */

export interface RoutingGateway extends LaunchedGateway {
  /** The official OpenAI SDK on `/openai`, no SDK retries. */
  openai: OpenAI
  /** The official Anthropic SDK on `/anthropic`, no SDK retries. */
  anthropic: Anthropic
  /**
   * Raw POST to the gateway; `path` includes the surface (`/openai/v1/chat/completions`). The
   * exchange, body included, is cut after 5 s, so a gateway that never ends a response fails fast.
   */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>
  get(path: string): Promise<Response>
}

export interface RoutingHarness<Name extends string> {
  /** The fault upstreams by name (started before the first test). */
  readonly up: Record<Name, FaultUpstream>
  /** The fixture-replaying Anthropic mock, when asked for with `anthropicMock: true`. */
  readonly anthropicMock: MockAnthropic
  /** Starts a gateway with `config`; it is closed after the current test. */
  launch(config: Record<string, unknown>): Promise<RoutingGateway>
}

/** Counts of active handles by type (`Timeout`, `TCPSocketWrap` ...). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

/**
 * The handles the process keeps when idle: the lowest count of each type over `windowMs`, so a
 * transient timer of the test runner (it batches its reports) does not raise the baseline.
 */
export async function quietResources(windowMs = 200): Promise<Record<string, number>> {
  let lowest = activeResources()
  for (let waited = 0; waited < windowMs; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const now = activeResources()
    const merged: Record<string, number> = {}
    for (const type of new Set([...Object.keys(lowest), ...Object.keys(now)])) merged[type] = Math.min(lowest[type] ?? 0, now[type] ?? 0)
    lowest = merged
  }
  return lowest
}

/** Handle types above `baseline`, with how many more there are. */
function extraResources(baseline: Record<string, number>): Record<string, number> {
  const extra: Record<string, number> = {}
  for (const [type, count] of Object.entries(activeResources())) if (count > (baseline[type] ?? 0)) extra[type] = count - (baseline[type] ?? 0)
  return extra
}

/**
 * Fails when the process holds more handles of any type than in `baseline` (`quietResources()`
 * before the file started its servers), after giving closing sockets and timers `timeoutMs` to go.
 * The harness's own handles (the test runner's pipes, a hook's timeout timer) are in both.
 */
export async function expectNoLeaks(baseline: Record<string, number>, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let extra = extraResources(baseline)
  while (Object.keys(extra).length > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    extra = extraResources(baseline)
  }
  expect(extra, 'handles left behind (compared with before the harness started)').toEqual({})
}

/** `providers.<id>` for an OpenAI-dialect provider served by `upstream`. */
export function openaiProvider(upstream: FaultUpstream, options: { keys?: Array<string | { value: string; weight?: number; models?: string[] }>; network?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    keys: (options.keys ?? [`sk-${upstream.name}`]).map((key) => (typeof key === 'string' ? { value: key, models: [], weight: 1 } : { models: [], weight: 1, ...key })),
    network_config: { base_url: `${upstream.url}/v1`, ...options.network },
    ...options.extra,
  }
}

/** `providers.<id>` for an Anthropic-dialect provider served at `url` (a fault upstream or the mock). */
export function anthropicProvider(url: string, options: { keys?: string[]; network?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    keys: (options.keys ?? ['sk-ant-routing']).map((value) => ({ value, models: [], weight: 1 })),
    network_config: { base_url: `${url}/v1`, ...options.network },
    ...options.extra,
  }
}

/** Registers the harness hooks for one test file. */
export function useRouting<Name extends string>(names: readonly Name[], options: { anthropicMock?: boolean } = {}): RoutingHarness<Name> {
  const up = {} as Record<Name, FaultUpstream>
  let anthropicMock: MockAnthropic | undefined
  let baseline: Record<string, number> = {}
  let launched: LaunchedGateway[] = []

  beforeAll(async () => {
    baseline = await quietResources()
    for (const name of names) up[name] = await startFaultUpstream(name)
    if (options.anthropicMock) anthropicMock = await startMockAnthropic()
  })

  afterEach(async () => {
    const open: Record<string, number> = {}
    try {
      for (const name of names) {
        const left = await up[name].waitForNoOpenSockets()
        if (left > 0) open[name] = left
      }
    } finally {
      const gateways = launched
      launched = []
      await Promise.all(gateways.map((gateway) => gateway.close()))
      for (const name of names) up[name].reset()
      anthropicMock?.reset()
    }
    expect(open, 'upstream sockets still open after the test (the gateway did not close them)').toEqual({})
  })

  afterAll(async () => {
    await Promise.all(launched.map((gateway) => gateway.close()))
    for (const name of names) await up[name]?.close()
    await anthropicMock?.close()
    await expectNoLeaks(baseline)
  })

  return {
    up,
    get anthropicMock() {
      if (!anthropicMock) throw new Error('useRouting(..., { anthropicMock: true }) to get the Anthropic mock')
      return anthropicMock
    },
    async launch(config) {
      const gateway = await launchGateway(config)
      launched.push(gateway)
      return {
        ...gateway,
        openai: new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 }),
        anthropic: new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0 }),
        post: (path, body, headers = {}) =>
          fetch(`${gateway.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER_KEY}`, 'anthropic-version': '2023-06-01', ...headers },
            body: typeof body === 'string' ? body : JSON.stringify(body),
            signal: AbortSignal.timeout(5_000),
          }),
        get: (path) => fetch(`${gateway.url}${path}`),
      }
    },
  }
}

/** What the OpenAI SDK throws for an HTTP error. */
export type OpenAIError = InstanceType<typeof OpenAI.APIError>
/** What the Anthropic SDK throws for an HTTP error. */
export type AnthropicError = InstanceType<typeof Anthropic.APIError>

/** The chat messages every routing test sends. */
export const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello!' }]

/** Runs `call` and returns what it rejected with (fails when it resolved). */
export async function rejection(call: Promise<unknown>): Promise<unknown> {
  const outcome = await call.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  )
  expect(outcome.resolved, 'expected the call to fail').toBe(false)
  return (outcome as { error: unknown }).error
}

/** An SDK stream: iterable, with the controller that cancels it (OpenAI's and Anthropic's `Stream`). */
export interface SdkStream<T> extends AsyncIterable<T> {
  controller: AbortController
}

/** What draining a stream gave: the chunks read, the error it ended with, whether it had to be cut. */
export interface Drained<T> {
  chunks: T[]
  error: unknown
  /** Nothing ended the stream within the time limit; the client aborted it. */
  timedOut: boolean
}

/**
 * Drains an SDK stream. When it has not ended after `timeoutMs` (default 5 s), the client aborts
 * it and `timedOut` is true, so a gateway that never ends a stalled stream fails the test quickly.
 */
export async function drain<T>(stream: SdkStream<T>, timeoutMs = 5_000): Promise<Drained<T>> {
  const chunks: T[] = []
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    stream.controller.abort()
  }, timeoutMs)
  try {
    for await (const chunk of stream) chunks.push(chunk)
    return { chunks, error: undefined, timedOut }
  } catch (error) {
    return { chunks, error, timedOut }
  } finally {
    clearTimeout(timer)
  }
}

/** Settles with `promise`, or runs `onTimeout` and rejects after `ms` (default 5 s). */
export async function within<T>(promise: Promise<T>, onTimeout: () => void, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(new Error(`not settled within ${ms} ms`))
    }, ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Concatenated `delta.content` of chat completion chunks. */
export const contentOf = (chunks: readonly OpenAI.Chat.ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
