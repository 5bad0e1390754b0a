import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cassette, fixtureText } from './fixtures.js'
import { startMockGemini, recordedStream, recording, type MockGemini } from './mock-gemini.js'
import { validateGeminiRequest } from './mock-gemini-spec.js'

/** The mock Gemini upstream: its rules accept what Google accepted, refuse what it refuses; its replays are byte-exact. */

describe('validateGeminiRequest', () => {
  it('accepts every recorded request', () => {
    const stream = recording('chat-function-calling-stream')
    for (const interaction of stream.interactions) expect(validateGeminiRequest('streamGenerateContent', interaction.request.bodySegments[0], 'gemini-2.0-flash')).toEqual([])
    expect(validateGeminiRequest('streamGenerateContent', recording('generate-content-stream').interactions[0]!.request.bodySegments[0], 'gemini-2.5-flash')).toEqual([])
    expect(validateGeminiRequest('generateContent', recording('generate-content-thinking').interactions[0]!.request.bodySegments[0], 'gemini-2.0-flash-thinking-exp')).toEqual([])
    for (const name of ['generate-content-stream-text', 'generate-content-stream-thinking']) {
      expect(validateGeminiRequest('streamGenerateContent', cassette(`google/${name}.cassette.yaml`)[0]!.request.body, 'm')).toEqual([])
    }
    expect(validateGeminiRequest('batchEmbedContents', cassette('google/batch-embed-contents.cassette.yaml')[0]!.request.body, 'gemini-embedding-2-preview')).toEqual([])
  })

  it('refuses what the API refuses: unknown members, JSON Schema keywords, parts with two kinds of data', () => {
    const contents = [{ role: 'user', parts: [{ text: 'hi' }] }]
    expect(validateGeminiRequest('generateContent', { contents, temperature: 1 }, 'm')).toEqual([expect.stringMatching(/temperature/)])
    const declaration = { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } }
    expect(validateGeminiRequest('generateContent', { contents, tools: [{ functionDeclarations: [declaration] }] }, 'm').join()).toMatch(/additionalProperties/)
    expect(validateGeminiRequest('generateContent', { contents: [{ role: 'user', parts: [{ text: 'a', inlineData: { mimeType: 'image/png', data: 'AAAA' } }] }] }, 'm').join()).toMatch(/exactly one/)
    expect(validateGeminiRequest('generateContent', { contents: [] }, 'm').join()).toMatch(/contents is not specified/)
    expect(validateGeminiRequest('generateContent', { contents: [{ role: 'assistant', parts: [{ text: 'a' }] }] }, 'm').join()).toMatch(/role/)
  })

  it('checks what spans members: function responses answer calls, the batch names the URL\'s model', () => {
    const answer = { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { t: 1 } } }] }
    expect(validateGeminiRequest('generateContent', { contents: [{ role: 'user', parts: [{ text: 'q' }] }, answer] }, 'm')).toEqual([expect.stringMatching(/answers no functionCall/)])
    const call = { role: 'model', parts: [{ functionCall: { name: 'weather', args: {} } }] }
    expect(validateGeminiRequest('generateContent', { contents: [{ role: 'user', parts: [{ text: 'q' }] }, call, answer] }, 'm')).toEqual([])
    const batch = { requests: [{ model: 'models/gemini/e', content: { parts: [{ text: 'a' }] } }] }
    expect(validateGeminiRequest('batchEmbedContents', batch, 'e')).toEqual([expect.stringMatching(/not the model of the URL/)])
    expect(validateGeminiRequest('countTokens', { contents: [], generateContentRequest: { model: 'models/m', contents: [{ parts: [{ text: 'a' }] }] } }, 'm').join()).toMatch(/exactly one/)
  })
})

describe('startMockGemini', () => {
  let mock: MockGemini
  beforeAll(async () => {
    mock = await startMockGemini()
  })
  afterAll(() => mock.close())

  const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'AIza-test' }) =>
    fetch(`${mock.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  it('replays the recorded answers byte for byte, and records each request with its rule violations', async () => {
    const text = await post('/v1beta/models/gemini-3-pro-preview:generateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })
    expect(await text.text()).toBe(fixtureText('google/generate-content-text.json'))
    const stream = await post('/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })
    expect(stream.headers.get('content-type')).toBe('text/event-stream')
    expect(await stream.text()).toBe(recordedStream('generate-content-stream-text'))
    await post('/v1beta/models/m:generateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], stream: true })
    expect(mock.requests.map((request) => [request.rpc, request.model, request.specErrors.length])).toEqual([['generateContent', 'gemini-3-pro-preview', 0], ['streamGenerateContent', 'gemini-2.0-flash-exp', 0], ['generateContent', 'm', 1]])
    mock.reset()
  })

  it('refuses a call without a key (403) and answers unknown routes 404, in Google\'s error shape', async () => {
    const denied = await post('/v1beta/models/m:generateContent', { contents: [] }, {})
    expect(denied.status).toBe(403)
    expect((await denied.json()).error.status).toBe('PERMISSION_DENIED')
    const missing = await post('/v1beta/files', {})
    expect(missing.status).toBe(404)
    expect((await missing.json()).error).toMatchObject({ code: 404, status: 'NOT_FOUND' })
    mock.reset()
  })
})
