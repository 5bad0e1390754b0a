import { describe, expect, it } from 'vitest'
import { expectGeminiError, expectGeminiKey, useGenAIGateway } from './support/genai-e2e.js'
import { mockGeminiTokenCount } from './support/mock-gemini.js'

/**
 * `client.allow_direct_keys`: the caller's own key (`x-goog-api-key`, as `@google/genai` sends it,
 * or `?key=`) goes to the provider it asked for. And the model list, with keys naming their models.
 */

const CALLER_GEMINI_KEY = 'AIzaSyCallerOwnKey-abcdefghijklmnop0123'
const gw = useGenAIGateway({
  client: { allow_direct_keys: true },
  apiKey: CALLER_GEMINI_KEY,
  providers: {
    gemini: { keys: [{ value: 'AIzaSyConfiguredKey-000000000000000000', models: ['gemini-2.5-flash', 'gemini-embedding-2-preview'], weight: 1 }] },
    openai: { keys: [{ value: 'sk-configured-openai-key-0000', models: ['gpt-4o-mini', 'text-embedding-3-small'], weight: 1 }] },
  },
})
const hello = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] })

describe('direct keys', () => {
  it('the SDK\'s x-goog-api-key reaches the Gemini upstream (passthrough and countTokens)', async () => {
    await gw.genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hello' })
    expectGeminiKey(gw.onlyGeminiRequest(), CALLER_GEMINI_KEY)
    gw.gemini.reset()
    const count = await gw.genai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'Hello' })
    const upstream = gw.onlyGeminiRequest()
    expectGeminiKey(upstream, CALLER_GEMINI_KEY)
    expect(count.totalTokens).toBe(mockGeminiTokenCount(upstream.json))
  })

  it('?key= is the caller\'s key when no key header is sent; it is never forwarded in the URL', async () => {
    const response = await fetch(`${gw.url}/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaSyQueryKey-0123456789`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: hello })
    expect(response.status).toBe(200)
    await response.text()
    const upstream = gw.onlyGeminiRequest()
    expectGeminiKey(upstream, 'AIzaSyQueryKey-0123456789')
    expect(upstream.query).toBe('?alt=sse')
  })

  it('a key header wins over ?key=', async () => {
    const response = await gw.post('/genai/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyQueryKey-0123456789', hello)
    expect(response.status).toBe(200)
    expectGeminiKey(gw.onlyGeminiRequest(), CALLER_GEMINI_KEY)
  })

  it('toward OpenAI the caller\'s key is the bearer', async () => {
    await gw.genai.models.generateContent({ model: 'openai/gpt-4o-mini', contents: 'Hello' })
    expect(gw.onlyOpenAIRequest().headers.authorization).toBe(`Bearer ${CALLER_GEMINI_KEY}`)
  })
})

describe('models', () => {
  const listed = ['gemini/gemini-2.5-flash', 'gemini/gemini-embedding-2-preview', 'openai/gpt-4o-mini', 'openai/text-embedding-3-small', 'mock/echo', 'mock/tools']

  it('models.list pages through every model the config can serve', async () => {
    const pager = await gw.genai.models.list({ config: { pageSize: 4 } })
    const names: string[] = []
    for await (const model of pager) names.push(model.name!)
    expect(names).toEqual(listed.map((id) => `models/${id}`))
    expect(gw.sdkRequests.map((request) => request.url.search)).toEqual(['?pageSize=4', '?pageSize=4&pageToken=4'])
    expect(gw.gemini.requests).toEqual([])
  })

  it('GET /models answers the Gemini list shape; a bad page token is a 400', async () => {
    const page = await fetch(`${gw.url}/genai/v1beta/models?pageSize=2`)
    const body = await page.json()
    expect(body).toEqual({
      models: listed.slice(0, 2).map((id) => ({ name: `models/${id}`, displayName: id, version: '', supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents'] })),
      nextPageToken: '2',
    })
    const last = await (await fetch(`${gw.url}/genai/v1/models?pageToken=4`)).json()
    expect(last.models.map((model: { name: string }) => model.name)).toEqual(['models/mock/echo', 'models/mock/tools'])
    expect(last.nextPageToken).toBeUndefined()
    const bad = await fetch(`${gw.url}/genai/v1beta/models?pageToken=abc`)
    expect(bad.status).toBe(400)
    expectGeminiError(await bad.json(), 400, 'INVALID_ARGUMENT')
  })

  it('models.get finds a prefixed name, and a bare name under the default provider', async () => {
    expect((await gw.genai.models.get({ model: 'openai/gpt-4o-mini' })).name).toBe('models/openai/gpt-4o-mini')
    expect((await gw.genai.models.get({ model: 'gemini-2.5-flash' })).name).toBe('models/gemini/gemini-2.5-flash')
  })
})
