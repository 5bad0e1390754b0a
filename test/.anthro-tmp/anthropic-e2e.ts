import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { silentLogger } from '@switchyard/core'
import { startGateway, type RunningGateway } from '../../runtimes/node/src/index.js'
import { CALLER_KEY, UPSTREAM_KEY, launchGateway } from '../support/gateway.js'
import { startMockAnthropic, type MockAnthropic, type RecordedAnthropicRequest } from '../support/mock-anthropic.js'
import { startMockOpenAI, type MockOpenAI, type RecordedRequest } from '../support/mock-openai.js'

/** The Anthropic key the gateway is configured with (what the Anthropic upstream should see). */
export const ANTHROPIC_UPSTREAM_KEY = 'sk-ant-test-upstream-key-654321'

export interface AnthropicGatewayOptions {
  /** Extra `client` settings (`allow_direct_keys`, `header_filter_config` ...). */
  client?: Record<string, unknown>
  /** Settings merged into `providers.anthropic` (keys, network_config ...). */
  anthropicProvider?: Record<string, unknown>
  /** Key the SDK clients send. */
  apiKey?: string
}

export interface AnthropicHarness {
  /** The Anthropic upstream. */
  readonly mock: MockAnthropic
  /** The OpenAI upstream. */
  readonly openaiMock: MockOpenAI
  readonly running: RunningGateway
  /** Gateway root URL. */
  readonly url: string
  /** The official Anthropic SDK on `/anthropic` (no retries). */
  readonly anthropic: Anthropic
  /** The official OpenAI SDK on `/openai` (no retries). */
  readonly openai: OpenAI
  /** The only request the Anthropic upstream received. */
  onlyRequest(): RecordedAnthropicRequest
  /** The only request the OpenAI upstream received. */
  onlyOpenAIRequest(): RecordedRequest
  /** Raw HTTP to the gateway (`path` includes the surface, e.g. `/anthropic/v1/messages`). */
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>
}

/**
 * Both mock upstreams + the real gateway (Node runtime, in process) for one test file, with the
 * `anthropic` and `openai` providers pointed at the mocks. After every test each upstream request
 * must satisfy its API's rules (Anthropic rules for the Anthropic mock, the OpenAPI spec for the
 * OpenAI mock), and the recordings are cleared.
 */
export function useAnthropicGateway(options: AnthropicGatewayOptions = {}): AnthropicHarness {
  let mock: MockAnthropic | undefined
  let openaiMock: MockOpenAI | undefined
  let running: RunningGateway | undefined
  let anthropic: Anthropic | undefined
  let openai: OpenAI | undefined
  beforeAll(async () => {
    mock = await startMockAnthropic()
    openaiMock = await startMockOpenAI()
    running = (await launchGateway({
        providers: {
          openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiMock.url}/v1` } },
          anthropic: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` }, ...options.anthropicProvider },
        },
        ...(options.client ? { client: options.client } : {}),
      })) as any
    const apiKey = options.apiKey ?? CALLER_KEY
    anthropic = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey, maxRetries: 0 })
    openai = new OpenAI({ baseURL: `${running.url}/openai`, apiKey, maxRetries: 0 })
  })
  afterAll(async () => {
    await running?.close()
    await mock?.close()
    await openaiMock?.close()
  })
  afterEach(() => {
    if (!mock || !openaiMock) return
    const invalid = [
      ...mock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ upstream: 'anthropic', path: `${request.method} ${request.path}`, errors: request.specErrors })),
      ...openaiMock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ upstream: 'openai', path: `${request.method} ${request.path}`, errors: request.specErrors })),
    ]
    mock.reset()
    openaiMock.reset()
    expect(invalid, 'every upstream request must follow its API rules').toEqual([])
  })
  return {
    get mock() {
      return mock!
    },
    get openaiMock() {
      return openaiMock!
    },
    get running() {
      return running!
    },
    get url() {
      return running!.url
    },
    get anthropic() {
      return anthropic!
    },
    get openai() {
      return openai!
    },
    onlyRequest() {
      expect(mock!.requests.map((request) => `${request.method} ${request.path}`)).toHaveLength(1)
      expect(openaiMock!.requests).toHaveLength(0)
      return mock!.requests[0]!
    },
    onlyOpenAIRequest() {
      expect(openaiMock!.requests.map((request) => `${request.method} ${request.path}`)).toHaveLength(1)
      expect(mock!.requests).toHaveLength(0)
      return openaiMock!.requests[0]!
    },
    post(path, body, headers = {}) {
      return fetch(`${running!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': CALLER_KEY, 'anthropic-version': '2023-06-01', ...headers }, body })
    },
  }
}

/** The Anthropic upstream saw the configured key as `x-api-key`, and nothing of the caller's. */
export function expectAnthropicKey(request: RecordedAnthropicRequest): void {
  expect(request.headers['x-api-key']).toBe(ANTHROPIC_UPSTREAM_KEY)
  expect(request.headers.authorization).toBeUndefined()
  expect(JSON.stringify(request.headers)).not.toContain(CALLER_KEY)
}

/** An Anthropic-shaped error body. */
export function expectAnthropicError(body: unknown, type?: string): void {
  expect(body).toEqual({ type: 'error', error: { type: type ?? expect.any(String), message: expect.any(String) } })
}

/** Parses an SSE body into `{event, data}` pairs (data parsed as JSON where it is JSON). */
export function sseEvents(text: string): Array<{ event: string | undefined; data: any }> {
  const out: Array<{ event: string | undefined; data: any }> = []
  for (const frame of text.split(/\r?\n\r?\n/)) {
    if (frame.trim() === '') continue
    let event: string | undefined
    const data: string[] = []
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim()
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
    }
    const joined = data.join('\n')
    let parsed: unknown = joined
    try {
      parsed = JSON.parse(joined)
    } catch {
      // `[DONE]` and other non-JSON payloads stay text.
    }
    out.push({ event, data: parsed })
  }
  return out
}
