import Anthropic from '@anthropic-ai/sdk'
import { ApiError as GenAIError, GoogleGenAI } from '@google/genai'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ANTHROPIC_UPSTREAM_KEY } from './support/anthropic-e2e.js'
import { GEMINI_UPSTREAM_KEY } from './support/genai-e2e.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { startMockAnthropic, type MockAnthropic } from './support/mock-anthropic.js'
import { startMockGemini, type MockGemini } from './support/mock-gemini.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * Every answer governance gives, through the real SDKs, for each way a caller can send its
 * virtual key: `x-bf-vk` beside the SDK's own key, or the virtual key as the SDK's API key
 * (OpenAI: `Authorization: Bearer`, Anthropic: `x-api-key` or `Authorization`, Google:
 * `x-goog-api-key`). A refused request must reach no upstream; an admitted one reaches it with the
 * gateway's provider key, never the virtual key.
 */

const KEYS = {
  ok: 'sk-bf-e2e-ok-00000000000001',
  inactive: 'sk-bf-e2e-inactive-000000001',
  broke: 'sk-bf-e2e-broke-0000000000001',
  limited: 'sk-bf-e2e-limited-00000000001',
  unknown: 'sk-bf-e2e-unknown-00000000001',
} as const

const providerConfigs = [
  { provider: 'openai', allowed_models: ['gpt-4o-mini'], weight: 1 },
  { provider: 'anthropic', allowed_models: ['claude-sonnet-4-5'], weight: 1 },
  { provider: 'gemini', allowed_models: ['gemini-2.5-flash'], weight: 1 },
]

let openaiMock: MockOpenAI
let anthropicMock: MockAnthropic
let geminiMock: MockGemini
let gateway: LaunchedGateway

beforeAll(async () => {
  openaiMock = await startMockOpenAI()
  anthropicMock = await startMockAnthropic()
  geminiMock = await startMockGemini()
  gateway = await launchGateway({
    providers: {
      openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiMock.url}/v1` } },
      anthropic: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${anthropicMock.url}/v1` } },
      gemini: { keys: [{ value: GEMINI_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${geminiMock.url}/v1beta` } },
    },
    governance: {
      virtual_keys: [
        { id: 'vk-ok', name: 'ok', value: KEYS.ok, provider_configs: providerConfigs },
        { id: 'vk-inactive', name: 'inactive', value: KEYS.inactive, is_active: false, provider_configs: providerConfigs },
        { id: 'vk-broke', name: 'broke', value: KEYS.broke, provider_configs: providerConfigs, budgets: [{ max_limit: 0, reset_duration: '1M' }] },
        { id: 'vk-limited', name: 'limited', value: KEYS.limited, provider_configs: providerConfigs, rate_limit: { request_max_limit: 0, request_reset_duration: '1h' } },
      ],
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await openaiMock?.close()
  await anthropicMock?.close()
  await geminiMock?.close()
})
afterEach(() => {
  openaiMock.reset()
  anthropicMock.reset()
  geminiMock.reset()
})

const upstreamCalls = () => openaiMock.requests.length + anthropicMock.requests.length + geminiMock.requests.length

/** What each refusal looks like: status, and the SDK error it raises. */
const REFUSALS = [
  { name: 'unknown key -> 401', key: KEYS.unknown, model: 'allowed', status: 401 },
  { name: 'inactive key -> 401', key: KEYS.inactive, model: 'allowed', status: 401 },
  { name: 'model not allowed -> 403', key: KEYS.ok, model: 'otherModel', status: 403 },
  { name: 'provider not allowed -> 403', key: KEYS.ok, model: 'otherProvider', status: 403 },
  { name: 'budget exhausted -> 402', key: KEYS.broke, model: 'allowed', status: 402 },
  { name: 'rate limited -> 429', key: KEYS.limited, model: 'allowed', status: 429 },
] as const

const OPENAI_MODELS = { allowed: 'gpt-4o-mini', otherModel: 'gpt-4o', otherProvider: 'mock/echo' }
const ANTHROPIC_MODELS = { allowed: 'claude-sonnet-4-5', otherModel: 'claude-opus-4-1', otherProvider: 'mock/echo' }
const GEMINI_MODELS = { allowed: 'gemini-2.5-flash', otherModel: 'gemini-2.5-pro', otherProvider: 'mock/echo' }

const OPENAI_ERRORS: Record<number, unknown> = { 401: OpenAI.AuthenticationError, 403: OpenAI.PermissionDeniedError, 429: OpenAI.RateLimitError, 402: OpenAI.APIError }
const ANTHROPIC_ERRORS: Record<number, unknown> = { 401: Anthropic.AuthenticationError, 403: Anthropic.PermissionDeniedError, 429: Anthropic.RateLimitError, 402: Anthropic.APIError }

/** A 429 tells the caller when to come back, in OpenAI's header names. */
function expectRateLimitHeaders(headers: Headers | Record<string, string> | undefined) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers?.[name])
  expect(Number(get('retry-after'))).toBeGreaterThan(0)
  expect(get('x-ratelimit-limit-requests')).toBe('0')
  expect(get('x-ratelimit-remaining-requests')).toBe('0')
  expect(get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/)
}

const openaiStyles = [
  { style: 'x-bf-vk header', client: (key: string) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key } }) },
  { style: 'Authorization: Bearer (the SDK api key)', client: (key: string) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: key, maxRetries: 0 }) },
]

describe.each(openaiStyles)('OpenAI SDK, virtual key in $style', ({ client }) => {
  it('200: the upstream gets the gateway key, never the virtual key', async () => {
    const completion = await client(KEYS.ok).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
    expect(completion.choices[0]!.message.content).toBeTruthy()
    expect(openaiMock.requests).toHaveLength(1)
    expect(openaiMock.requests[0]!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
    expect(JSON.stringify(openaiMock.requests[0]!.headers)).not.toContain(KEYS.ok)
  })

  it.each(REFUSALS)('$name, in the OpenAI dialect, nothing sent upstream', async ({ key, model, status }) => {
    const error = await client(key).chat.completions.create({ model: OPENAI_MODELS[model], messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OPENAI_ERRORS[status] as typeof OpenAI.APIError)
    const apiError = error as InstanceType<typeof OpenAI.APIError>
    expect(apiError.status).toBe(status)
    expect(apiError.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    expect(apiError.message).not.toContain(key)
    if (status === 429) expectRateLimitHeaders(apiError.headers)
    expect(upstreamCalls()).toBe(0)
  })
})

const anthropicStyles = [
  { style: 'x-bf-vk header', client: (key: string) => new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key } }) },
  { style: 'x-api-key (the SDK api key)', client: (key: string) => new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: key, maxRetries: 0 }) },
  { style: 'Authorization: Bearer (the SDK auth token)', client: (key: string) => new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: null, authToken: key, maxRetries: 0 }) },
]

describe.each(anthropicStyles)('Anthropic SDK, virtual key in $style', ({ client }) => {
  it('200: the upstream gets the gateway key, never the virtual key', async () => {
    const message = await client(KEYS.ok).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] })
    expect(message.content.length).toBeGreaterThan(0)
    expect(anthropicMock.requests).toHaveLength(1)
    expect(anthropicMock.requests[0]!.headers['x-api-key']).toBe(ANTHROPIC_UPSTREAM_KEY)
    expect(JSON.stringify(anthropicMock.requests[0]!.headers)).not.toContain(KEYS.ok)
  })

  it.each(REFUSALS)('$name, in the Anthropic dialect, nothing sent upstream', async ({ key, model, status }) => {
    const error = await client(key).messages.create({ model: ANTHROPIC_MODELS[model], max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ANTHROPIC_ERRORS[status] as typeof Anthropic.APIError)
    const apiError = error as InstanceType<typeof Anthropic.APIError>
    expect(apiError.status).toBe(status)
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: expect.stringMatching(/_error$/), message: expect.any(String) } })
    if (status === 429) expectRateLimitHeaders(apiError.headers)
    expect(upstreamCalls()).toBe(0)
  })
})

const genaiStyles = [
  { style: 'x-bf-vk header', client: (key: string) => new GoogleGenAI({ apiKey: CALLER_KEY, httpOptions: { baseUrl: `${gateway.url}/genai`, headers: { 'x-bf-vk': key } } }) },
  { style: 'x-goog-api-key (the SDK api key)', client: (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/genai` } }) },
]

describe.each(genaiStyles)('Google GenAI SDK, virtual key in $style', ({ client }) => {
  it('200: the upstream gets the gateway key, never the virtual key', async () => {
    const response = await client(KEYS.ok).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' })
    expect(response.candidates?.length).toBeGreaterThan(0)
    expect(geminiMock.requests).toHaveLength(1)
    expect(JSON.stringify(geminiMock.requests[0]!.headers)).toContain(GEMINI_UPSTREAM_KEY)
    expect(JSON.stringify(geminiMock.requests[0]!.headers)).not.toContain(KEYS.ok)
  })

  it.each(REFUSALS)('$name, in the Gemini dialect, nothing sent upstream', async ({ key, model, status }) => {
    const error = await client(key).models.generateContent({ model: GEMINI_MODELS[model], contents: 'Hi' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(GenAIError)
    expect((error as GenAIError).status).toBe(status)
    // The SDK puts the body it got in the message: Gemini's {"error":{"code","message","status"}}.
    expect((error as GenAIError).message).toContain(`"code":${status}`)
    expect(upstreamCalls()).toBe(0)
  })
})

describe('calls that are not model calls (count_tokens)', () => {
  const anthropic = (key: string) => new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: key, maxRetries: 0 })

  it('are authenticated and checked against the key: 401, 403, else forwarded', async () => {
    const messages = [{ role: 'user' as const, content: 'Count me' }]
    expect((await anthropic(KEYS.unknown).messages.countTokens({ model: 'claude-sonnet-4-5', messages }).catch((error: unknown) => error)) as unknown).toBeInstanceOf(Anthropic.AuthenticationError)
    expect((await anthropic(KEYS.ok).messages.countTokens({ model: 'claude-opus-4-1', messages }).catch((error: unknown) => error)) as unknown).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(upstreamCalls()).toBe(0)
    const counted = await anthropic(KEYS.ok).messages.countTokens({ model: 'claude-sonnet-4-5', messages })
    expect(counted.input_tokens).toBeGreaterThan(0)
    expect(anthropicMock.requests.map((request) => request.endpoint)).toEqual(['count_tokens'])
    // A count holds nothing: the key whose request limit is 0 may still count.
    expect((await anthropic(KEYS.limited).messages.countTokens({ model: 'claude-sonnet-4-5', messages })).input_tokens).toBeGreaterThan(0)
  })
})

describe('x-goog-api-key and x-api-key over plain HTTP (any surface)', () => {
  const post = (headers: Record<string, string>, model = 'gpt-4o-mini') =>
    fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }) })

  it.each(['x-goog-api-key', 'x-api-key'])('%s carries the virtual key: 200, then each refusal', async (header) => {
    expect((await post({ [header]: KEYS.ok })).status).toBe(200)
    expect(openaiMock.requests).toHaveLength(1)
    openaiMock.reset()
    for (const { key, model, status } of REFUSALS) {
      const response = await post({ [header]: key }, OPENAI_MODELS[model])
      expect(response.status, `${key} ${model}`).toBe(status)
      expect(await response.json()).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } })
      if (status === 429) expectRateLimitHeaders(response.headers)
    }
    expect(upstreamCalls()).toBe(0)
  })

  it('without the sk-bf- / vk_ prefix a credential header is not a virtual key (governance is optional here)', async () => {
    expect((await post({ 'x-goog-api-key': 'not-a-virtual-key' })).status).toBe(200)
  })
})

describe('with client.allow_direct_keys', () => {
  let direct: LaunchedGateway
  beforeAll(async () => {
    direct = await launchGateway({
      client: { allow_direct_keys: true },
      providers: { openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiMock.url}/v1` } } },
      governance: { virtual_keys: [{ id: 'vk-ok', name: 'ok', value: KEYS.ok, provider_configs: providerConfigs }] },
    })
  })
  afterAll(() => direct?.close())
  const ask = (apiKey: string) => new OpenAI({ baseURL: `${direct.url}/openai`, apiKey, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

  it('a virtual key sent as the API key is never passed on as a provider key', async () => {
    await ask(KEYS.ok)
    expect(openaiMock.requests).toHaveLength(1)
    expect(openaiMock.requests[0]!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
  })

  it('a provider key of the caller (no virtual key prefix) is still used directly', async () => {
    await ask('sk-callers-own-provider-key-1')
    expect(openaiMock.requests[0]!.headers.authorization).toBe('Bearer sk-callers-own-provider-key-1')
  })
})
