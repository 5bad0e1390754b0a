import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { startTestGateway, UPSTREAM_KEY, type GatewayOptions, type TestGateway } from './gateway.js'
import { startMockOpenAI, type MockOpenAI, type RecordedRequest } from './mock-openai.js'

export interface OpenAIHarness {
  readonly mock: MockOpenAI
  readonly gateway: TestGateway
  readonly openai: TestGateway['openai']
  /** The only request the upstream received (fails when there was not exactly one). */
  onlyRequest(): RecordedRequest
  /** Raw HTTP to the gateway's `/openai` surface (for what the SDK cannot send). */
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>
}

/**
 * Mock upstream + real gateway for one test file. After every test, each request the
 * upstream received must be valid per the OpenAI spec, and the recording is cleared.
 */
export function useOpenAIGateway(options: GatewayOptions = {}): OpenAIHarness {
  let mock: MockOpenAI | undefined
  let gateway: TestGateway | undefined
  beforeAll(async () => {
    mock = await startMockOpenAI()
    gateway = await startTestGateway(mock, options)
  })
  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })
  afterEach(() => {
    if (!mock) return
    const invalid = mock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ path: `${request.method} ${request.path}`, errors: request.specErrors }))
    mock.reset()
    expect(invalid, 'every upstream request must be valid per the OpenAI spec').toEqual([])
  })
  return {
    get mock() {
      return mock!
    },
    get gateway() {
      return gateway!
    },
    get openai() {
      return gateway!.openai
    },
    onlyRequest() {
      expect(mock!.requests.map((request) => `${request.method} ${request.path}`)).toHaveLength(1)
      return mock!.requests[0]!
    },
    post(path, body, headers = {}) {
      return fetch(`${gateway!.url}/openai${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer caller-key', ...headers }, body })
    },
  }
}

/** The upstream saw the configured provider key, and nothing of the caller's. */
export function expectConfiguredKey(request: RecordedRequest): void {
  expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
  expect(JSON.stringify(request.headers)).not.toContain('caller-key')
}

/** An OpenAI-shaped error body. */
export function expectOpenAIError(body: unknown): void {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: expect.toBeOneOf([expect.any(String), null]), code: expect.toBeOneOf([expect.any(String), null]) } })
}
