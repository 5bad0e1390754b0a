import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { ANTHROPIC_UPSTREAM_KEY } from './anthropic-e2e.js'
import type { VkRecord } from './async-vk-plugin.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './gateway.js'
import { startMockAnthropic, type MockAnthropic } from './mock-anthropic.js'
import { startMockOpenAI, type MockOpenAI } from './mock-openai.js'
import { validateOpenAIRequest } from './openapi.js'

/** The async inference plugin's package name, as a config names it. */
export const ASYNC_PLUGIN = '@switchyard/plugin-async-inference'
/** The test plugin that identifies a virtual key from `x-test-vk` (loaded by file path). */
export const VK_PLUGIN = new URL('./async-vk-plugin.ts', import.meta.url).pathname

/** Pause between two polls: the reference examples' loop, shortened so the suite stays quick. */
export const POLL_INTERVAL_MS = 25

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface AsyncHarness {
  readonly gateway: LaunchedGateway
  readonly url: string
  readonly openaiMock: MockOpenAI
  readonly anthropicMock: MockAnthropic
  /** The official SDKs on `/openai` and `/anthropic` (no retries), with the caller key. */
  readonly openai: OpenAI
  readonly anthropic: Anthropic
  /** What the virtual key test plugin recorded (submits, polls and runs, with usage). */
  records(): Promise<VkRecord[]>
}

export interface AsyncGatewayOptions {
  /** The async plugin's `config`. */
  plugin?: Record<string, unknown>
  /** Load the virtual key test plugin before the async plugin. Default true. */
  vkPlugin?: boolean
}

/** Provider config for the two mocks (or any upstream speaking their dialects at `openaiUrl`/`anthropicUrl`). */
export function mockProviders(openaiUrl: string, anthropicUrl?: string): Record<string, unknown> {
  return {
    openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiUrl}/v1` } },
    ...(anthropicUrl ? { anthropic: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${anthropicUrl}/v1` } } } : {}),
  }
}

/** The plugin list: the virtual key stand-in first (as governance would be), then async inference. */
export function asyncPlugins(config: Record<string, unknown> = {}, vkPlugin = true): Array<Record<string, unknown>> {
  return [...(vkPlugin ? [{ name: VK_PLUGIN }] : []), { name: ASYNC_PLUGIN, config }]
}

/**
 * Compiles the OpenAI spec validators the async tests' upstream calls need, before any test runs.
 * The mock compiles them on first use, which blocks this process for seconds on a busy machine; in
 * the middle of a poll loop that stall outlasts the gateway's keep-alive timeout, and the SDK's
 * next request meets a connection the gateway just closed (ECONNRESET).
 */
export function warmUpOpenAIValidators(): void {
  for (const path of ['/v1/chat/completions', '/v1/responses', '/v1/completions', '/v1/embeddings']) validateOpenAIRequest('POST', path, {}, 'application/json')
}

/**
 * Both fixture-replaying mocks and a real gateway (under `$SWITCHYARD_TEST_RUNTIME`) with the async
 * plugin, for one test file. After each test, every upstream request must follow its API's rules.
 */
export function useAsyncGateway(options: AsyncGatewayOptions = {}): AsyncHarness {
  let openaiMock: MockOpenAI | undefined
  let anthropicMock: MockAnthropic | undefined
  let gateway: LaunchedGateway | undefined
  let openai: OpenAI | undefined
  let anthropic: Anthropic | undefined
  beforeAll(async () => {
    warmUpOpenAIValidators()
    openaiMock = await startMockOpenAI()
    anthropicMock = await startMockAnthropic()
    gateway = await launchGateway({ providers: mockProviders(openaiMock.url, anthropicMock.url), plugins: asyncPlugins(options.plugin, options.vkPlugin ?? true) })
    openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0 })
  })
  afterAll(async () => {
    await gateway?.close()
    await openaiMock?.close()
    await anthropicMock?.close()
  })
  afterEach(() => {
    const invalid = [
      ...(openaiMock?.requests ?? []).filter((request) => request.specErrors.length > 0).map((request) => ({ path: `${request.method} ${request.path}`, errors: request.specErrors })),
      ...(anthropicMock?.requests ?? []).filter((request) => request.specErrors.length > 0).map((request) => ({ path: `${request.method} ${request.path}`, errors: request.specErrors })),
    ]
    openaiMock?.reset()
    anthropicMock?.reset()
    expect(invalid, 'every upstream request must follow its API rules').toEqual([])
  })
  return {
    get gateway() {
      return gateway!
    },
    get url() {
      return gateway!.url
    },
    get openaiMock() {
      return openaiMock!
    },
    get anthropicMock() {
      return anthropicMock!
    },
    get openai() {
      return openai!
    },
    get anthropic() {
      return anthropic!
    },
    async records() {
      return (await fetch(`${gateway!.url}/test-vk/records`)).json() as Promise<VkRecord[]>
    },
  }
}

/** The native job view (`GET /v1/async/:id`), polled until the job is final. */
export async function pollNative(url: string, id: string, headers: Record<string, string> = { authorization: `Bearer ${CALLER_KEY}` }): Promise<any> {
  for (;;) {
    const response = await fetch(`${url}/v1/async/${id}`, { headers })
    const view = await response.json()
    if (response.status !== 200) return { httpStatus: response.status, ...view }
    if (view.status !== 'queued' && view.status !== 'in_progress') return view
    await sleep(POLL_INTERVAL_MS)
  }
}

/** Waits until `check` holds (re-checked every few ms); a hang guard, not a timing assertion. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(POLL_INTERVAL_MS)
  }
}
