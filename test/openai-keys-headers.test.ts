import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { expectConfiguredKey } from './support/e2e.js'
import { startTestGateway, UPSTREAM_KEY, type TestGateway } from './support/gateway.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/** Which credentials and headers reach the upstream. */

const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello!' }]
const CALLERS_OWN_KEY = 'sk-callers-own-openai-key-7890'

let mock: MockOpenAI
let directKeys: TestGateway
let configuredKeys: TestGateway
let filtered: TestGateway

beforeAll(async () => {
  mock = await startMockOpenAI()
  directKeys = await startTestGateway(mock, { client: { allow_direct_keys: true }, apiKey: CALLERS_OWN_KEY })
  configuredKeys = await startTestGateway(mock, { apiKey: CALLERS_OWN_KEY })
  filtered = await startTestGateway(mock, { client: { header_filter_config: { allowlist: ['x-custom-trace', 'openai-project', 'x-bf-secret', 'x-bf-vk', 'authorization'] } } })
})
afterAll(async () => {
  await Promise.all([directKeys?.close(), configuredKeys?.close(), filtered?.close()])
  await mock?.close()
})
afterEach(() => {
  const invalid = mock.requests.filter((request) => request.specErrors.length > 0)
  mock.reset()
  expect(invalid).toEqual([])
})

/** A client on `gateway` with the docs' placeholder key. */
const configuredKeysClient = (gateway: TestGateway) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: 'dummy-key', maxRetries: 0 })

describe('direct keys', () => {
  it('with allow_direct_keys the caller bearer key is what the upstream receives', async () => {
    await directKeys.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    await directKeys.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'float' })
    await directKeys.openai.responses.create({ model: 'gpt-5-mini', input: 'x' })
    expect(mock.requests).toHaveLength(3)
    for (const request of mock.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${CALLERS_OWN_KEY}`)
      expect(JSON.stringify(request.headers)).not.toContain(UPSTREAM_KEY)
    }
  })

  it('with allow_direct_keys, streamed and id-addressed calls use the caller key too', async () => {
    const stream = await directKeys.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    for await (const _chunk of stream) {
      // drain
    }
    await directKeys.openai.responses.retrieve('resp_0f35ed53160b395301693cc957829881909359e7f80cdd20b5')
    expect(mock.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${CALLERS_OWN_KEY}`, `Bearer ${CALLERS_OWN_KEY}`])
  })

  it('with allow_direct_keys a per-request Authorization header wins (the documented pattern)', async () => {
    const perRequest = 'sk-per-request-openai-key-4242'
    await configuredKeysClient(directKeys).chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hello }, { headers: { Authorization: `Bearer ${perRequest}` } })
    expect(mock.requests[0]!.headers.authorization).toBe(`Bearer ${perRequest}`)
  })

  it('without it the configured key is used and the caller key goes nowhere', async () => {
    await configuredKeys.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    await configuredKeysClient(configuredKeys).chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: { Authorization: `Bearer ${CALLERS_OWN_KEY}` } })
    await configuredKeys.openai.responses.retrieve('resp_0f35ed53160b395301693cc957829881909359e7f80cdd20b5')
    expect(mock.requests).toHaveLength(3)
    for (const request of mock.requests) {
      expectConfiguredKey(request)
      expect(JSON.stringify(request.headers)).not.toContain(CALLERS_OWN_KEY)
      expect(request.rawBody).not.toContain(CALLERS_OWN_KEY)
    }
  })
})

describe('caller headers', () => {
  const callerHeaders = {
    'x-bf-vk': 'sk-bf-virtual-key',
    'x-bf-secret': 'do-not-forward',
    'x-bf-cache-key': 'abc',
    'x-custom-trace': 'trace-123',
    'x-not-allowlisted': 'nope',
    cookie: 'session=1',
  }

  it('x-bf-* headers never reach the upstream, even when allow-listed; allow-listed others do', async () => {
    await filtered.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders })
    const stream = await filtered.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }, { headers: callerHeaders })
    for await (const _chunk of stream) {
      // drain
    }
    await filtered.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'float' }, { headers: callerHeaders })
    await filtered.openai.responses.create({ model: 'gpt-5-mini', input: 'x' }, { headers: callerHeaders })
    expect(mock.requests).toHaveLength(4)
    for (const request of mock.requests) {
      expect(Object.keys(request.headers).filter((name) => name.startsWith('x-bf-'))).toEqual([])
      expect(request.headers['x-custom-trace']).toBe('trace-123')
      expect(request.headers['x-not-allowlisted']).toBeUndefined()
      expect(request.headers.cookie).toBeUndefined()
      // An allow-listed authorization header must not let the caller's credential through.
      expectConfiguredKey(request)
    }
  })

  it('allow-listed headers reach id-addressed calls too (a stored response lives in the caller project)', async () => {
    const id = 'resp_0f35ed53160b395301693cc957829881909359e7f80cdd20b5'
    const headers = { ...callerHeaders, 'openai-project': 'proj_caller' }
    await filtered.openai.responses.create({ model: 'gpt-5-mini', input: 'x', store: true }, { headers })
    await filtered.openai.responses.retrieve(id, {}, { headers })
    await filtered.openai.responses.delete(id, { headers })
    expect(mock.requests.map((request) => request.method)).toEqual(['POST', 'GET', 'DELETE'])
    for (const request of mock.requests) {
      expect(request.headers['openai-project']).toBe('proj_caller')
      expect(request.headers['x-custom-trace']).toBe('trace-123')
      expect(Object.keys(request.headers).filter((name) => name.startsWith('x-bf-'))).toEqual([])
      expectConfiguredKey(request)
    }
  })

  it('without an allowlist no caller header is forwarded', async () => {
    await configuredKeys.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders })
    const [request] = mock.requests
    for (const name of Object.keys(callerHeaders)) expect(request!.headers[name]).toBeUndefined()
    expect(Object.keys(request!.headers).filter((name) => name.startsWith('x-stainless'))).toEqual([])
  })
})
