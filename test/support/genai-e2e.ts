import { GoogleGenAI } from '@google/genai'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { ANTHROPIC_UPSTREAM_KEY } from './anthropic-e2e.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './gateway.js'
import { startMockAnthropic, type MockAnthropic, type RecordedAnthropicRequest } from './mock-anthropic.js'
import { startMockGemini, type MockGemini, type RecordedGeminiRequest } from './mock-gemini.js'
import { startMockOpenAI, type MockOpenAI, type RecordedRequest } from './mock-openai.js'

/** The Gemini key the gateway is configured with (what the Gemini upstream should see). */
export const GEMINI_UPSTREAM_KEY = 'AIzaSyUpstreamGatewayKey-0123456789abcdef'

export interface GenAIGatewayOptions {
  /** Extra `client` settings (`allow_direct_keys` ...). */
  client?: Record<string, unknown>
  /** Key the SDK client sends. */
  apiKey?: string
  /** Settings merged into `providers.<id>` (keys, options ...). */
  providers?: Record<string, Record<string, unknown>>
}

/** What the SDK sent to the gateway (recorded through `httpOptions.fetch`). */
export interface SdkRequest {
  url: URL
  headers: Headers
  /** The body text, exactly as the SDK sent it. */
  body: string
}

export interface GenAIHarness {
  readonly gemini: MockGemini
  readonly openaiMock: MockOpenAI
  readonly anthropicMock: MockAnthropic
  /** Gateway root URL. */
  readonly url: string
  /** The official `@google/genai` SDK on the gateway's `/genai` (no retries). */
  readonly genai: GoogleGenAI
  /** Every request the SDK clients sent to the gateway in this test. */
  readonly sdkRequests: SdkRequest[]
  /** The one request the SDK sent in this test. */
  onlySdkRequest(): SdkRequest
  /** A `@google/genai` client with other options (another key, API version ...), on the same gateway. */
  client(options?: { apiKey?: string; apiVersion?: string }): GoogleGenAI
  /** The only request the upstreams received, which must be the Gemini one. */
  onlyGeminiRequest(): RecordedGeminiRequest
  /** The only request the upstreams received, which must be the OpenAI one. */
  onlyOpenAIRequest(): RecordedRequest
  /** The only request the upstreams received, which must be the Anthropic one. */
  onlyAnthropicRequest(): RecordedAnthropicRequest
  /** Raw HTTP to the gateway (`path` includes the surface, e.g. `/genai/v1beta/models`). */
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>
}

/**
 * The three mock upstreams + the real gateway (`launchGateway`: in process on Node, a child
 * process under Bun or Deno) for one test file: `gemini`, `openai` and `anthropic` pointed at the
 * mocks. After every test each upstream request must satisfy its API's rules (the Gemini rules, the
 * OpenAI spec, the Anthropic rules), and the recordings are cleared.
 */
export function useGenAIGateway(options: GenAIGatewayOptions = {}): GenAIHarness {
  let gemini: MockGemini | undefined
  let openaiMock: MockOpenAI | undefined
  let anthropicMock: MockAnthropic | undefined
  let gateway: LaunchedGateway | undefined
  let genai: GoogleGenAI | undefined
  const sdkRequests: SdkRequest[] = []
  const recordingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    sdkRequests.push({ url: new URL(request.url), headers: request.headers, body: await request.clone().text() })
    return fetch(request)
  }
  const client = (settings: { apiKey?: string; apiVersion?: string } = {}) =>
    new GoogleGenAI({
      apiKey: settings.apiKey ?? options.apiKey ?? CALLER_KEY,
      httpOptions: { baseUrl: `${gateway!.url}/genai`, fetch: recordingFetch, ...(settings.apiVersion && { apiVersion: settings.apiVersion }) },
    })
  const provider = (id: string, settings: Record<string, unknown>) => ({ ...settings, ...options.providers?.[id] })

  beforeAll(async () => {
    gemini = await startMockGemini()
    openaiMock = await startMockOpenAI()
    anthropicMock = await startMockAnthropic()
    gateway = await launchGateway({
      providers: {
        gemini: provider('gemini', { keys: [{ value: GEMINI_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${gemini.url}/v1beta` } }),
        openai: provider('openai', { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiMock.url}/v1` } }),
        anthropic: provider('anthropic', { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${anthropicMock.url}/v1` } }),
      },
      ...(options.client ? { client: options.client } : {}),
    })
    genai = client()
  })
  afterAll(async () => {
    await gateway?.close()
    await gemini?.close()
    await openaiMock?.close()
    await anthropicMock?.close()
  })
  afterEach(() => {
    if (!gemini || !openaiMock || !anthropicMock) return
    const invalid = [
      ...gemini.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ upstream: 'gemini', path: `${request.method} ${request.path}`, errors: request.specErrors })),
      ...openaiMock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ upstream: 'openai', path: `${request.method} ${request.path}`, errors: request.specErrors })),
      ...anthropicMock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ upstream: 'anthropic', path: `${request.method} ${request.path}`, errors: request.specErrors })),
    ]
    gemini.reset()
    openaiMock.reset()
    anthropicMock.reset()
    sdkRequests.length = 0
    expect(invalid, 'every upstream request must follow its API rules').toEqual([])
  })

  const all = () => [
    ...gemini!.requests.map((request) => `gemini ${request.method} ${request.path}`),
    ...openaiMock!.requests.map((request) => `openai ${request.method} ${request.path}`),
    ...anthropicMock!.requests.map((request) => `anthropic ${request.method} ${request.path}`),
  ]
  return {
    get gemini() {
      return gemini!
    },
    get openaiMock() {
      return openaiMock!
    },
    get anthropicMock() {
      return anthropicMock!
    },
    get url() {
      return gateway!.url
    },
    get genai() {
      return genai!
    },
    client,
    sdkRequests,
    onlySdkRequest() {
      expect(sdkRequests.map((request) => request.url.pathname)).toHaveLength(1)
      return sdkRequests[0]!
    },
    onlyGeminiRequest() {
      expect(all()).toHaveLength(1)
      expect(gemini!.requests).toHaveLength(1)
      return gemini!.requests[0]!
    },
    onlyOpenAIRequest() {
      expect(all()).toHaveLength(1)
      expect(openaiMock!.requests).toHaveLength(1)
      return openaiMock!.requests[0]!
    },
    onlyAnthropicRequest() {
      expect(all()).toHaveLength(1)
      expect(anthropicMock!.requests).toHaveLength(1)
      return anthropicMock!.requests[0]!
    },
    post(path, body, headers = {}) {
      return fetch(`${gateway!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': options.apiKey ?? CALLER_KEY, ...headers }, body })
    },
  }
}

/** The Gemini upstream saw the configured key as `x-goog-api-key`, and nothing of the caller's. */
export function expectGeminiKey(request: RecordedGeminiRequest, key = GEMINI_UPSTREAM_KEY): void {
  expect(request.headers['x-goog-api-key']).toBe(key)
  expect(request.query).not.toMatch(/key=/)
  if (key !== CALLER_KEY) expect(JSON.stringify(request.headers)).not.toContain(CALLER_KEY)
}

/** A Gemini-shaped error body with `code` and canonical `status`. */
export function expectGeminiError(body: unknown, code: number, status: string): void {
  expect(body).toEqual({ error: { code, message: expect.any(String), status } })
}

/** The JSON of an `ApiError` message from `@google/genai` (it carries the response body as JSON text). */
export function apiErrorBody(error: unknown): any {
  return JSON.parse((error as Error).message)
}

/** Runs `call` and returns what it rejected with (fails when it resolved). */
export async function rejection(call: Promise<unknown>): Promise<any> {
  const outcome = await call.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  )
  expect(outcome.resolved, 'the call should have failed').toBe(false)
  return (outcome as { error: unknown }).error
}
