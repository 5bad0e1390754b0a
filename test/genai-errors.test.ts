import { ApiError } from '@google/genai'
import { describe, expect, it } from 'vitest'
import { CALLER_KEY } from './support/gateway.js'
import { apiErrorBody, expectGeminiError, expectGeminiKey, rejection, useGenAIGateway } from './support/genai-e2e.js'

/**
 * Bad input under /genai: a Gemini-shaped 4xx (`{"error": {"code", "message", "status"}}` with the
 * HTTP status), never a 500 or a hang, and nothing sent upstream.
 */

const gw = useGenAIGateway()
const hello = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] })

/** Posts `body` to `path` and expects a Gemini error with `code` and `status`; returns its message. */
async function expectRefused(path: string, body: string, code: number, status: string, headers?: Record<string, string>): Promise<string> {
  const response = await gw.post(path, body, headers)
  expect(response.status).toBe(code)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const json = await response.json()
  expectGeminiError(json, code, status)
  return json.error.message
}

const expectNothingSent = () => {
  expect(gw.gemini.requests).toEqual([])
  expect(gw.openaiMock.requests).toEqual([])
  expect(gw.anthropicMock.requests).toEqual([])
}

describe('malformed requests get a Gemini-shaped 400', () => {
  it('a body that is not JSON, or not an object', async () => {
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [', 400, 'INVALID_ARGUMENT')).toMatch(/not valid JSON/)
    expect(await expectRefused('/genai/v1beta/models/openai/gpt-4o-mini:streamGenerateContent?alt=sse', '[1, 2]', 400, 'INVALID_ARGUMENT')).toMatch(/JSON object/)
    await expectRefused('/genai/v1beta/models/gemini-2.5-flash:countTokens', '', 400, 'INVALID_ARGUMENT')
    expectNothingSent()
  })

  it('missing or mistyped members, named', async () => {
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash:generateContent', '{}', 400, 'INVALID_ARGUMENT')).toMatch(/contents/)
    expect(await expectRefused('/genai/v1beta/models/openai/gpt-4o-mini:generateContent', '{"contents": []}', 400, 'INVALID_ARGUMENT')).toMatch(/contents/)
    expect(await expectRefused('/genai/v1beta/models/openai/gpt-4o-mini:generateContent', '{"contents": [{"role": "robot", "parts": [{"text": "hi"}]}]}', 400, 'INVALID_ARGUMENT')).toMatch(/contents\[0\]\.role/)
    expect(await expectRefused('/genai/v1beta/models/openai/gpt-4o-mini:generateContent', '{"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": "ten"}}', 400, 'INVALID_ARGUMENT')).toMatch(/maxOutputTokens/)
    expect(await expectRefused('/genai/v1beta/models/gemini-embedding-001:embedContent', '{"content": "hi"}', 400, 'INVALID_ARGUMENT')).toMatch(/content/)
    expect(await expectRefused('/genai/v1beta/models/gemini-embedding-001:batchEmbedContents', '{"requests": []}', 400, 'INVALID_ARGUMENT')).toMatch(/requests/)
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash:countTokens', `{"contents": [], "generateContentRequest": ${hello}}`, 400, 'INVALID_ARGUMENT')).toMatch(/not both/)
    expectNothingSent()
  })

  it('the SDK gets an ApiError with the status and the Gemini body', async () => {
    const error = await rejection(gw.genai.models.generateContent({ model: 'openai/gpt-4o-mini', contents: [{ role: 'robot', parts: [{ text: 'Hi' }] }] }))
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(400)
    const body = apiErrorBody(error)
    expectGeminiError(body, 400, 'INVALID_ARGUMENT')
    expect(body.error.message).toMatch(/contents\[0\]\.role/)
    expectNothingSent()
  })

  it('streamGenerateContent without ?alt=sse', async () => {
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent', hello, 400, 'INVALID_ARGUMENT')).toMatch(/alt=sse/)
    expectNothingSent()
  })
})

describe('unknown models, methods and routes', () => {
  it('an unknown provider prefix is a 400 naming the loaded providers', async () => {
    const error = await rejection(gw.genai.models.generateContent({ model: 'nope/some-model', contents: 'Hi' }))
    expect(error.status).toBe(400)
    const body = apiErrorBody(error)
    expectGeminiError(body, 400, 'INVALID_ARGUMENT')
    expect(body.error.message).toMatch(/unknown provider "nope".*gemini/)
    expect(await expectRefused('/genai/v1beta/models/nope/m:countTokens', hello, 400, 'INVALID_ARGUMENT')).toMatch(/unknown provider/)
    expect(await expectRefused('/genai/v1beta/models/gemini/:generateContent', hello, 400, 'INVALID_ARGUMENT')).toMatch(/names no model/)
    expectNothingSent()
  })

  it('a model name that is no Gemini resource name is refused before it reaches a URL', async () => {
    expect(await expectRefused('/genai/v1beta/models/gemini/bad%20name:generateContent', hello, 400, 'INVALID_ARGUMENT')).toMatch(/not a Gemini model name/)
    expectNothingSent()
  })

  it('an unknown method, or none, is a 404', async () => {
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash:fooBar', hello, 404, 'NOT_FOUND')).toMatch(/unknown method "fooBar"/)
    expect(await expectRefused('/genai/v1beta/models/gemini-2.5-flash', hello, 404, 'NOT_FOUND')).toMatch(/no method/)
    expectNothingSent()
  })

  it('unknown paths and API versions under /genai are a Gemini-shaped 404', async () => {
    await expectRefused('/genai/v1beta/files', hello, 404, 'NOT_FOUND')
    await expectRefused('/genai/v2/models/gemini-2.5-flash:generateContent', hello, 404, 'NOT_FOUND')
    const get = await fetch(`${gw.url}/genai/v1beta/cachedContents`)
    expect(get.status).toBe(404)
    expectGeminiError(await get.json(), 404, 'NOT_FOUND')
    expectNothingSent()
  })

  it('a provider without a token counting endpoint: 400 naming it, nothing sent', async () => {
    const error = await rejection(gw.genai.models.countTokens({ model: 'mock/echo', contents: 'Hi' }))
    expect(error.status).toBe(400)
    expect(apiErrorBody(error).error.message).toBe('[mock] provider has no token counting endpoint')
    expectNothingSent()
  })

  it('a model the gateway does not list is a 404 on models.get', async () => {
    const error = await rejection(gw.genai.models.get({ model: 'openai/not-listed' }))
    expect(error.status).toBe(404)
    expectGeminiError(apiErrorBody(error), 404, 'NOT_FOUND')
  })
})

describe('keys', () => {
  it('without client.allow_direct_keys, the caller\'s key (header or ?key=) is never used nor forwarded', async () => {
    const response = await gw.post(`/genai/v1beta/models/gemini-3-pro-preview:generateContent?key=${CALLER_KEY}-query`, hello)
    expect(response.status).toBe(200)
    expectGeminiKey(gw.onlyGeminiRequest())
    expect(JSON.stringify(gw.gemini.requests[0]!.headers)).not.toContain(`${CALLER_KEY}-query`)
  })
})
