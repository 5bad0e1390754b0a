import { ApiError, Type, type FunctionDeclaration } from '@google/genai'
import { describe, expect, it } from 'vitest'
import { chunkLines, fixtureText } from './support/fixtures.js'
import { apiErrorBody, expectGeminiError, expectGeminiKey, rejection, useGenAIGateway } from './support/genai-e2e.js'
import { frameGeminiEvents, GEMINI_ERROR_MODELS, GEMINI_RETRY_DELAY_SECONDS, mockGeminiTokenCount, recordedEmbedding, recordedStream, recording, splitGeminiEvents } from './support/mock-gemini.js'

/**
 * `@google/genai` -> /genai -> Gemini: the passthrough path. The upstream gets the SDK's body with
 * only the model names changed and the gateway's key; answers and streams come back byte for byte.
 */

const gw = useGenAIGateway()
const recordedText = JSON.parse(fixtureText('google/generate-content-text.json'))
const recordedCall = JSON.parse(fixtureText('google/generate-content-tool-call.json'))
const weather: FunctionDeclaration = {
  name: 'weather',
  description: 'Weather of a city',
  parameters: { type: Type.OBJECT, properties: { location: { type: Type.STRING } }, required: ['location'] },
}

/** The members of a `GenerateContentResponse` the SDK copies from the wire (it adds `sdkHttpResponse`). */
const wireOf = (response: object) => {
  const { sdkHttpResponse: _headers, ...rest } = response as Record<string, unknown>
  return JSON.parse(JSON.stringify(rest))
}

describe('generateContent', () => {
  it('plain: the SDK gets the recorded answer; the upstream gets the SDK body as sent, with the configured key', async () => {
    const response = await gw.genai.models.generateContent({
      model: 'gemini-3-pro-preview',
      contents: 'How many rs in strawberry?',
      config: { systemInstruction: 'Be brief.', temperature: 0.5, maxOutputTokens: 500, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT' as never, threshold: 'BLOCK_ONLY_HIGH' as never }] },
    })
    expect(wireOf(response)).toEqual(recordedText)
    expect(response.text).toBe(recordedText.candidates[0].content.parts[0].text)
    expect(response.sdkHttpResponse?.headers?.['x-bf-provider']).toBe('gemini')
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.path).toBe('/v1beta/models/gemini-3-pro-preview:generateContent')
    expect(upstream.query).toBe('')
    expect(upstream.rawBody).toBe(gw.onlySdkRequest().body)
    expect(upstream.json).toMatchObject({ systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { temperature: 0.5, maxOutputTokens: 500 }, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT' }] })
    expectGeminiKey(upstream)
  })

  it('gemini/ prefix: the path names the bare model; the body bytes (odd spacing, unknown members) and the answer bytes are as sent', async () => {
    const raw = '{ "contents" : [ {"role":"user", "parts": [{"text": "Hi \\u00e9"}]} ],\n  "generationConfig": {"temperature": 1.0}, "labels": {"team": "a"} }'
    const response = await gw.post('/genai/v1beta/models/gemini/gemini-3-pro-preview:generateContent', raw)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-model')).toBe('gemini-3-pro-preview')
    expect(await response.text()).toBe(fixtureText('google/generate-content-text.json'))
    const upstream = gw.gemini.requests[0]!
    expect(upstream.path).toBe('/v1beta/models/gemini-3-pro-preview:generateContent')
    expect(upstream.rawBody).toBe(raw)
    // `labels` is Vertex-only: the Gemini mock reports it, as the real API would refuse it.
    expect(upstream.specErrors).toEqual([expect.stringMatching(/labels/)])
    gw.gemini.requests[0]!.specErrors = []
  })

  it('thinking: includeThoughts reaches the upstream, and the thought part the SDK', async () => {
    const response = await gw.genai.models.generateContent({ model: 'gemini-2.0-flash-thinking-exp', contents: 'What is the sum of natural numbers from 1 to 100?', config: { maxOutputTokens: 20, thinkingConfig: { includeThoughts: true } } })
    // The SDK keeps the members it knows (not `turnToken`).
    const { turnToken: _token, ...recorded } = recording('generate-content-thinking').interactions[0]!.response.bodySegments[0] as any
    expect(wireOf(response)).toEqual(recorded)
    expect(response.candidates![0]!.content!.parts![0]!.thought).toBe(true)
    expect(gw.onlyGeminiRequest().json.generationConfig).toEqual({ maxOutputTokens: 20, thinkingConfig: { includeThoughts: true } })
  })

  it('the SDK configured for v1 is served too', async () => {
    const response = await gw.client({ apiVersion: 'v1' }).models.generateContent({ model: 'gemini-3-pro-preview', contents: 'How many rs in strawberry?' })
    expect(response.text).toBe(recordedText.candidates[0].content.parts[0].text)
    expect(gw.onlySdkRequest().url.pathname).toBe('/genai/v1/models/gemini-3-pro-preview:generateContent')
    expect(gw.onlyGeminiRequest().path).toBe('/v1beta/models/gemini-3-pro-preview:generateContent')
  })
})

describe('generateContentStream', () => {
  it('the SDK reads the relayed events', async () => {
    const stream = await gw.genai.models.generateContentStream({ model: 'gemini-2.0-flash-exp', contents: 'What is the capital of France?', config: { systemInstruction: 'You are a helpful chatbot.', temperature: 0 } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.text)).toEqual(['The', ' capital of France', ' is Paris.\n'])
    expect(chunks.at(-1)!.candidates![0]!.finishReason).toBe('STOP')
    expect(chunks.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 13, candidatesTokenCount: 8, totalTokenCount: 21 })
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.path).toBe('/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent')
    expect(upstream.query).toBe('?alt=sse')
    expect(upstream.rawBody).toBe(gw.onlySdkRequest().body)
    expectGeminiKey(upstream)
  })

  it('the SSE bytes are relayed byte for byte (Gemini spacing, CRLF framing)', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'What is the capital of France?' }] }] })
    const response = await gw.post('/genai/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent?alt=sse', body)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await response.text()).toBe(recordedStream('generate-content-stream-text'))
  })

  it('the recorded thinking stream is relayed byte for byte', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'How do I cross the street?' }] }], generationConfig: { thinkingConfig: { includeThoughts: true } } })
    const response = await gw.post('/genai/v1beta/models/gemini/gemini-2.5-pro:streamGenerateContent?alt=sse', body)
    expect(await response.text()).toBe(recordedStream('generate-content-stream-thinking'))
    expect(gw.onlyGeminiRequest().path).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent')
  })

  it('an upstream event that is not JSON ends the stream with a Gemini error event the SDK throws on', async () => {
    const first = splitGeminiEvents(recordedStream('generate-content-stream-text'))[0]!
    gw.gemini.setNext({ status: 200, events: [first, 'data: {"candidates": [{"content": \r\n\r\n'] })
    const response = await gw.post('/genai/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent?alt=sse', JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }))
    const text = await response.text()
    expect(text.startsWith(first)).toBe(true)
    const last = splitGeminiEvents(text).at(-1)!
    expect(last).toMatch(/^data: \{"error":\{"code":502,"message":".+","status":"[A-Z_]+"\}\}\r\n\r\n$/)

    gw.gemini.setNext({ status: 200, events: [first, 'data: {"candidates": [{"content": \r\n\r\n'] })
    const stream = await gw.genai.models.generateContentStream({ model: 'gemini-2.0-flash-exp', contents: 'Hi' })
    const texts: Array<string | undefined> = []
    const error = await rejection((async () => {
      for await (const chunk of stream) texts.push(chunk.text)
    })())
    expect(texts).toEqual(['The'])
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(502)
  })
})

describe('function calling round trip', () => {
  it('chats: the functionCall (with its thoughtSignature) goes back with the functionResponse, byte for byte', async () => {
    const chat = gw.genai.chats.create({ model: 'gemini-3-pro-preview', config: { tools: [{ functionDeclarations: [weather] }] } })
    const first = await chat.sendMessage({ message: 'What is the weather in San Francisco?' })
    expect(first.functionCalls).toEqual([{ name: 'weather', args: { location: 'San Francisco' } }])
    expect(gw.onlyGeminiRequest().json.tools).toEqual([{ functionDeclarations: [{ name: 'weather', description: 'Weather of a city', parameters: { type: 'OBJECT', properties: { location: { type: 'STRING' } }, required: ['location'] } }] }])
    gw.gemini.reset()
    gw.sdkRequests.length = 0

    const second = await chat.sendMessage({ message: [{ functionResponse: { name: 'weather', response: { temperature: 18, unit: 'celsius' } } }] })
    expect(second.text).toBe(recordedText.candidates[0].content.parts[0].text)
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.rawBody).toBe(gw.onlySdkRequest().body)
    expect(upstream.json.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is the weather in San Francisco?' }] },
      recordedCall.candidates[0].content,
      { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { temperature: 18, unit: 'celsius' } } }] },
    ])
  })

  it('stream: the whole functionCall arrives in one event, relayed as recorded', async () => {
    const stream = await gw.genai.models.generateContentStream({ model: 'gemini-3-pro-preview', contents: 'What is the weather in San Francisco?', config: { tools: [{ functionDeclarations: [weather] }] } })
    const calls = []
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []))
    expect(calls).toEqual([{ name: 'weather', args: { location: 'San Francisco' } }])
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'weather?' }] }], tools: [{ functionDeclarations: [weather] }] })
    const response = await gw.post('/genai/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse', body)
    expect(await response.text()).toBe(frameGeminiEvents(chunkLines('google/generate-content-stream-tool-call.chunks.txt')).join(''))
  })
})

describe('countTokens', () => {
  it('forwarded: the upstream counts the SDK body as sent', async () => {
    const result = await gw.genai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' })
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens')
    expect(upstream.rawBody).toBe(gw.onlySdkRequest().body)
    expect(result.totalTokens).toBe(mockGeminiTokenCount(upstream.json))
    expectGeminiKey(upstream)
  })

  it('gemini/ prefix: generateContentRequest.model names the bare model upstream, nothing else changes', async () => {
    const raw = '{"generateContentRequest": {"model": "models/gemini/gemini-2.5-flash", "contents": [{"role": "user", "parts": [{"text": "Hi"}]}], "systemInstruction": {"parts": [{"text": "Be brief."}]}}}'
    const response = await gw.post('/genai/v1beta/models/gemini/gemini-2.5-flash:countTokens', raw)
    expect(response.status).toBe(200)
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.rawBody).toBe(raw.replace('"models/gemini/gemini-2.5-flash"', '"models/gemini-2.5-flash"'))
    expect(await response.json()).toEqual({ totalTokens: mockGeminiTokenCount(upstream.json), promptTokensDetails: [{ modality: 'TEXT', tokenCount: mockGeminiTokenCount(upstream.json) }] })
  })
})

describe('embeddings', () => {
  it('embedContent (the SDK calls batchEmbedContents): requests[].model is swapped, every other byte as sent', async () => {
    const result = await gw.genai.models.embedContent({ model: 'gemini/gemini-embedding-2-preview', contents: 'Hello, world!', config: { outputDimensionality: 768, taskType: 'RETRIEVAL_QUERY' } })
    expect(result.embeddings).toEqual([{ values: recordedEmbedding() }])
    const sent = gw.onlySdkRequest().body
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.path).toBe('/v1beta/models/gemini-embedding-2-preview:batchEmbedContents')
    expect(sent).toContain('"models/gemini/gemini-embedding-2-preview"')
    expect(upstream.rawBody).toBe(sent.replace('"models/gemini/gemini-embedding-2-preview"', '"models/gemini-embedding-2-preview"'))
    expectGeminiKey(upstream)
  })

  it('a batch of several texts (one Content each)', async () => {
    const contents = ['first', 'second', 'third'].map((text) => ({ role: 'user', parts: [{ text }] }))
    const result = await gw.genai.models.embedContent({ model: 'gemini-embedding-2-preview', contents, config: { outputDimensionality: 8 } })
    expect(result.embeddings).toEqual([0, 1, 2].map(() => ({ values: recordedEmbedding().slice(0, 8) })))
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.json.requests.map((request: any) => request.content.parts[0].text)).toEqual(['first', 'second', 'third'])
    expect(upstream.rawBody).toBe(gw.onlySdkRequest().body)
  })

  it(':embedContent (one text) is forwarded to :embedContent', async () => {
    const raw = JSON.stringify({ model: 'models/gemini/gemini-embedding-2-preview', content: { parts: [{ text: 'Hello, world!' }] }, taskType: 'SEMANTIC_SIMILARITY' })
    const response = await gw.post('/genai/v1beta/models/gemini/gemini-embedding-2-preview:embedContent', raw)
    expect(await response.json()).toEqual({ embedding: { values: recordedEmbedding() } })
    const upstream = gw.onlyGeminiRequest()
    expect(upstream.path).toBe('/v1beta/models/gemini-embedding-2-preview:embedContent')
    expect(upstream.rawBody).toBe(raw.replace('models/gemini/gemini-embedding-2-preview', 'models/gemini-embedding-2-preview'))
  })
})

describe('upstream errors reach the SDK in Gemini shape, status kept', () => {
  it('404 NOT_FOUND for an unknown model (the recorded error), stream and not', async () => {
    const stream = await rejection(gw.genai.models.generateContentStream({ model: GEMINI_ERROR_MODELS.notFound, contents: 'why is the sky blue?' }))
    expect(stream).toBeInstanceOf(ApiError)
    expect(stream.status).toBe(404)
    const body = apiErrorBody(stream)
    expectGeminiError(body, 404, 'NOT_FOUND')
    expect(body.error.message).toContain('models/custom-gemini-2.0-flash is not found for API version v1beta')
    const plain = await rejection(gw.genai.models.generateContent({ model: GEMINI_ERROR_MODELS.notFound, contents: 'why?' }))
    expect(plain.status).toBe(404)
    expect(gw.gemini.requests).toHaveLength(2)
  })

  it('429 RESOURCE_EXHAUSTED with retry-after from the RetryInfo detail', async () => {
    const response = await gw.post(`/genai/v1beta/models/${GEMINI_ERROR_MODELS.rateLimited}:generateContent`, JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe(String(GEMINI_RETRY_DELAY_SECONDS))
    expectGeminiError(await response.json(), 429, 'RESOURCE_EXHAUSTED')
    const error = await rejection(gw.genai.models.generateContent({ model: GEMINI_ERROR_MODELS.serverError, contents: 'Hi' }))
    expect(error.status).toBe(500)
    expectGeminiError(apiErrorBody(error), 500, 'INTERNAL')
  })
})
