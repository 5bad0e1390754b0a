import { ApiError, FunctionCallingConfigMode, Type, type Content, type FunctionDeclaration } from '@google/genai'
import { describe, expect, it } from 'vitest'
import { expectConfiguredKey } from './support/e2e.js'
import { cassette, chunkLines, fixtureText } from './support/fixtures.js'
import { apiErrorBody, expectGeminiError, rejection, useGenAIGateway } from './support/genai-e2e.js'
import { ERROR_MODELS, mockInputTokenCount, RATE_LIMIT_RETRY_AFTER } from './support/mock-openai.js'

/**
 * `@google/genai` -> /genai -> OpenAI: translated through the IR. What the OpenAI upstream received
 * (validated against the OpenAI spec after every test) and what the SDK read back.
 */

const gw = useGenAIGateway()
const recordedText = JSON.parse(fixtureText('openai/chat-text.json'))
const toolCallAnswer = JSON.parse(cassette('openai/chat-tool-call.cassette.yaml')[0]!.response.body)
const recordedEmbedding: number[] = JSON.parse(cassette('openai/embeddings.cassette.yaml')[0]!.response.body).data[0].embedding

/** The text of a recorded chat/completions stream, its deltas joined. */
const streamedText = (lines: readonly string[]) => lines.map((line) => JSON.parse(line).choices[0]?.delta?.content ?? '').join('')

const currentWeather: FunctionDeclaration = {
  name: 'get_current_weather',
  description: 'Get the current weather in a given location',
  parameters: {
    type: Type.OBJECT,
    properties: { location: { type: Type.STRING, description: 'The city and state, e.g. San Francisco, CA' }, unit: { type: Type.STRING, enum: ['celsius', 'fahrenheit'] } },
    required: ['location'],
  },
}
const currentWeatherJsonSchema = {
  type: 'object',
  properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['location'],
}

describe('generateContent', () => {
  it('system instruction and generation settings become chat/completions members; the answer a Gemini response', async () => {
    const response = await gw.genai.models.generateContent({
      model: 'openai/gpt-4o-mini',
      contents: 'Invent a holiday and describe its traditions.',
      config: { systemInstruction: 'You are a creative writer.', temperature: 0.7, topP: 0.9, maxOutputTokens: 500, stopSequences: ['END'], seed: 7 },
    })
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.path).toBe('/v1/chat/completions')
    expect(upstream.json).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'You are a creative writer.' }, { role: 'user', content: 'Invent a holiday and describe its traditions.' }],
      temperature: 0.7,
      top_p: 0.9,
      max_completion_tokens: 500,
      stop: ['END'],
      seed: 7,
    })
    expectConfiguredKey(upstream)
    expect(response.text).toBe(recordedText.choices[0].message.content)
    expect(response.candidates![0]!.finishReason).toBe('STOP')
    expect(response.modelVersion).toBe('gpt-4.1-nano-2025-04-14')
    expect(response.responseId).toBe(recordedText.id)
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 16, candidatesTokenCount: 363, totalTokenCount: 379 })
    expect(response.sdkHttpResponse?.headers?.['x-bf-provider']).toBe('openai')
    // The role @google/genai puts on a system instruction is no feature to warn about.
    expect(response.sdkHttpResponse?.headers?.['x-switchyard-warnings']).toBeUndefined()
  })

  it('what OpenAI cannot take is reported in x-switchyard-warnings, not dropped silently', async () => {
    const response = await gw.genai.models.generateContent({
      model: 'openai/gpt-4o-mini',
      contents: 'Hi',
      config: { topK: 40, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT' as never, threshold: 'BLOCK_ONLY_HIGH' as never }] },
    })
    expect(response.text).toBe(recordedText.choices[0].message.content)
    const warnings = JSON.parse(response.sdkHttpResponse!.headers!['x-switchyard-warnings']!)
    expect(warnings.map((warning: { feature?: string }) => warning.feature)).toEqual(expect.arrayContaining(['topK', 'safetySettings']))
    expect(gw.onlyOpenAIRequest().json).not.toHaveProperty('top_k')
  })
})

describe('generateContentStream', () => {
  it('the OpenAI chunks become Gemini events; usage and finish reason come last', async () => {
    const stream = await gw.genai.models.generateContentStream({ model: 'openai/gpt-4o-mini', contents: 'Invent a holiday.' })
    let text = ''
    const chunks = []
    for await (const chunk of stream) {
      chunks.push(chunk)
      text += chunk.text ?? ''
    }
    expect(text).toBe(streamedText(chunkLines('openai/chat-stream-text.chunks.txt')))
    const last = chunks.at(-1)!
    expect(last.candidates![0]!.finishReason).toBe('STOP')
    expect(last.usageMetadata).toMatchObject({ promptTokenCount: 16, candidatesTokenCount: 300, totalTokenCount: 316 })
    expect(chunks.every((chunk) => chunk.responseId === 'chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0')).toBe(true)
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.json).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Invent a holiday.' }], stream: true, stream_options: { include_usage: true } })
  })
})

describe('function calling round trip', () => {
  it('functionDeclarations -> tools; tool_calls -> functionCall (with the call id); functionResponse -> a tool message', async () => {
    const config = { tools: [{ functionDeclarations: [currentWeather] }], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.AUTO } } }
    const question: Content = { role: 'user', parts: [{ text: 'What is the weather like in Boston today?' }] }
    const first = await gw.genai.models.generateContent({ model: 'openai/gpt-5-nano', contents: [question], config })
    expect(gw.onlyOpenAIRequest().json).toEqual({
      model: 'gpt-5-nano',
      messages: [{ role: 'user', content: 'What is the weather like in Boston today?' }],
      tools: [{ type: 'function', function: { name: 'get_current_weather', description: 'Get the current weather in a given location', parameters: currentWeatherJsonSchema } }],
      tool_choice: 'auto',
    })
    const recordedCall = toolCallAnswer.choices[0].message.tool_calls[0]
    expect(first.functionCalls).toEqual([{ id: recordedCall.id, name: 'get_current_weather', args: JSON.parse(recordedCall.function.arguments) }])
    expect(first.candidates![0]!.finishReason).toBe('STOP')
    expect(first.usageMetadata).toMatchObject({ promptTokenCount: 162, candidatesTokenCount: 31, thoughtsTokenCount: 256 })
    gw.openaiMock.reset()

    const call = first.functionCalls![0]!
    const second = await gw.genai.models.generateContent({
      model: 'openai/gpt-5-nano',
      contents: [question, first.candidates![0]!.content!, { role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { temperature: 54, unit: 'fahrenheit' } } }] }],
      config,
    })
    expect(second.text).toBe(recordedText.choices[0].message.content)
    expect(gw.onlyOpenAIRequest().json.messages).toEqual([
      { role: 'user', content: 'What is the weather like in Boston today?' },
      { role: 'assistant', content: null, tool_calls: [{ id: recordedCall.id, type: 'function', function: { name: 'get_current_weather', arguments: recordedCall.function.arguments } }] },
      { role: 'tool', tool_call_id: recordedCall.id, content: '{"temperature":54,"unit":"fahrenheit"}' },
    ])
  })

  it('stream: the streamed call arrives as one functionCall; the streamed answer after the tool result as text', async () => {
    const capital: FunctionDeclaration = { name: 'get_capital', description: '', parameters: { type: Type.OBJECT, properties: { country: { type: Type.STRING } }, required: ['country'] } }
    const config = { tools: [{ functionDeclarations: [capital] }] }
    const question: Content = { role: 'user', parts: [{ text: 'What is the capital of the UK? Use the tool, then answer.' }] }
    const calls = []
    let callTurn: Content | undefined
    for await (const chunk of await gw.genai.models.generateContentStream({ model: 'openai/gpt-4o-mini', contents: [question], config })) {
      if (chunk.functionCalls) {
        calls.push(...chunk.functionCalls)
        callTurn = chunk.candidates![0]!.content!
      }
    }
    expect(calls).toEqual([{ id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', name: 'get_capital', args: { country: 'UK' } }])
    gw.openaiMock.reset()

    let text = ''
    const answer = await gw.genai.models.generateContentStream({
      model: 'openai/gpt-4o-mini',
      contents: [question, callTurn!, { role: 'user', parts: [{ functionResponse: { id: calls[0]!.id, name: 'get_capital', response: { result: 'London' } } }] }],
      config,
    })
    for await (const chunk of answer) text += chunk.text ?? ''
    const recordedAnswer = cassette('openai/chat-stream-tool-call.cassette.yaml')[1]!.response.body.split('\n').filter((line) => line.startsWith('data: {')).map((line) => line.slice(6))
    expect(text).toBe(streamedText(recordedAnswer))
    expect(gw.onlyOpenAIRequest().json.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', type: 'function', function: { name: 'get_capital', arguments: '{"country":"UK"}' } }] },
      { role: 'tool', tool_call_id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', content: '{"result":"London"}' },
    ])
  })
})

describe('countTokens', () => {
  it('asks OpenAI\'s /responses/input_tokens with the prompt as a Responses body', async () => {
    const result = await gw.genai.models.countTokens({ model: 'openai/gpt-4o-mini', contents: 'How many tokens is this?' })
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.path).toBe('/v1/responses/input_tokens')
    expect(upstream.operationId).toBe('Getinputtokencounts')
    expect(upstream.json).toEqual({ model: 'gpt-4o-mini', input: [{ role: 'user', content: 'How many tokens is this?' }] })
    expect(result.totalTokens).toBe(mockInputTokenCount(upstream.json))
    expectConfiguredKey(upstream)
  })

  it('a generateContentRequest: system instruction and tools are counted (tools as the non-strict tools they are), generation settings left out', async () => {
    const body = {
      generateContentRequest: {
        model: 'models/openai/gpt-4o-mini',
        contents: [{ role: 'user', parts: [{ text: 'Weather in Boston?' }] }],
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        tools: [{ functionDeclarations: [currentWeather] }],
        generationConfig: { temperature: 0.2, maxOutputTokens: 100, stopSequences: ['END'] },
      },
    }
    const response = await gw.post('/genai/v1beta/models/openai/gpt-4o-mini:countTokens', JSON.stringify(body))
    expect(response.status).toBe(200)
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.json).toEqual({
      model: 'gpt-4o-mini',
      input: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Boston?' }],
      tools: [{ type: 'function', name: 'get_current_weather', description: 'Get the current weather in a given location', parameters: currentWeatherJsonSchema, strict: false }],
    })
    expect(await response.json()).toEqual({ totalTokens: mockInputTokenCount(upstream.json) })
    expect(response.headers.get('x-bf-provider')).toBe('openai')
  })
})

describe('embeddings', () => {
  it('embedContent -> /v1/embeddings; the vector comes back as Gemini values', async () => {
    const result = await gw.genai.models.embedContent({ model: 'openai/text-embedding-3-small', contents: 'How do I reset my password?' })
    expect(result.embeddings).toEqual([{ values: recordedEmbedding }])
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.path).toBe('/v1/embeddings')
    expect(upstream.json).toEqual({ model: 'text-embedding-3-small', input: ['How do I reset my password?'] })
  })

  it('a batch with outputDimensionality -> one input per text and `dimensions`', async () => {
    const contents = ['first', 'second'].map((text) => ({ role: 'user', parts: [{ text }] }))
    const result = await gw.genai.models.embedContent({ model: 'openai/text-embedding-3-small', contents, config: { outputDimensionality: 256 } })
    expect(result.embeddings).toHaveLength(2)
    expect(result.embeddings![1]!.values).toEqual(recordedEmbedding)
    expect(gw.onlyOpenAIRequest().json).toEqual({ model: 'text-embedding-3-small', input: ['first', 'second'], dimensions: 256 })
  })

  it(':embedContent answers {embedding: {values}}', async () => {
    const response = await gw.post('/genai/v1beta/models/openai/text-embedding-3-small:embedContent', JSON.stringify({ content: { parts: [{ text: 'How do I reset my password?' }] } }))
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ embedding: { values: recordedEmbedding } })
  })
})

describe('OpenAI errors reach the SDK in Gemini shape, status kept', () => {
  it('404 model not found -> NOT_FOUND; 429 -> RESOURCE_EXHAUSTED with retry-after', async () => {
    const notFound = await rejection(gw.genai.models.generateContent({ model: `openai/${ERROR_MODELS.notFound}`, contents: 'Hi' }))
    expect(notFound).toBeInstanceOf(ApiError)
    expect(notFound.status).toBe(404)
    expectGeminiError(apiErrorBody(notFound), 404, 'NOT_FOUND')
    const response = await gw.post(`/genai/v1beta/models/openai/${ERROR_MODELS.rateLimited}:generateContent`, JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe(RATE_LIMIT_RETRY_AFTER)
    expectGeminiError(await response.json(), 429, 'RESOURCE_EXHAUSTED')
  })
})
