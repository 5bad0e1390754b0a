import { Type, type Content, type FunctionDeclaration } from '@google/genai'
import { describe, expect, it } from 'vitest'
import { expectAnthropicKey } from './support/anthropic-e2e.js'
import { cassette, fixtureText } from './support/fixtures.js'
import { expectGeminiError, useGenAIGateway } from './support/genai-e2e.js'
import { ANTHROPIC_ERROR_MODELS, ANTHROPIC_RETRY_AFTER, mockTokenCount } from './support/mock-anthropic.js'

/**
 * `@google/genai` -> /genai -> Anthropic: translated through the IR. What the Anthropic upstream
 * received (checked against the Messages API rules after every test) and what the SDK read back.
 */

const gw = useGenAIGateway()
const recordedText = JSON.parse(fixtureText('anthropic/messages-text.json'))
const parallel = cassette('anthropic/messages-parallel-tool-use.cassette.yaml')
const entityInfo: FunctionDeclaration = {
  name: 'retrieve_entity_info',
  description: 'Get the knowledge about the given entity.',
  parameters: { type: Type.OBJECT, properties: { name: { type: Type.STRING } }, required: ['name'] },
}

describe('generateContent', () => {
  it('system instruction and settings become a Messages body; the message a Gemini response', async () => {
    const response = await gw.genai.models.generateContent({
      model: 'anthropic/claude-sonnet-4-5',
      contents: 'Hello, how are you?',
      config: { systemInstruction: 'Be friendly.', maxOutputTokens: 1024, temperature: 0.3, stopSequences: ['END'] },
    })
    const upstream = gw.onlyAnthropicRequest()
    expect(upstream.path).toBe('/v1/messages')
    expect(upstream.json).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'Be friendly.',
      messages: [{ role: 'user', content: 'Hello, how are you?' }],
      temperature: 0.3,
      stop_sequences: ['END'],
    })
    expectAnthropicKey(upstream)
    expect(response.text).toBe(recordedText.content[0].text)
    expect(response.candidates![0]!.finishReason).toBe('STOP')
    expect(response.modelVersion).toBe('claude-sonnet-4-5-20250929')
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 12, candidatesTokenCount: 29, totalTokenCount: 41 })
  })
})

describe('generateContentStream', () => {
  it('the Anthropic events become Gemini events', async () => {
    const stream = await gw.genai.models.generateContentStream({ model: 'anthropic/claude-opus-4-20250514', contents: 'Hello, how are you?', config: { maxOutputTokens: 1024 } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    // The text of anthropic/messages-stream-text.sse, one chunk per delta.
    expect(chunks.map((chunk) => chunk.text ?? '')).toEqual(['Hello', ' there', '!', ''])
    expect(chunks.at(-1)!.candidates![0]!.finishReason).toBe('STOP')
    expect(chunks.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 11, candidatesTokenCount: 6, totalTokenCount: 17 })
    expect(gw.onlyAnthropicRequest().json).toEqual({ model: 'claude-opus-4-20250514', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, how are you?' }], stream: true })
  })
})

describe('function calling round trip', () => {
  it('parallel tool_use blocks become functionCalls with their ids; the functionResponses go back as tool_result blocks', async () => {
    const [turn1, turn2] = parallel
    const system = (turn1!.request.body as { system: string }).system
    const question: Content = { role: 'user', parts: [{ text: 'Alice, Bob, Charlie and Daisy are a family. Who is the youngest?' }] }
    const config = { systemInstruction: system, maxOutputTokens: 4096, tools: [{ functionDeclarations: [entityInfo] }] }
    const first = await gw.genai.models.generateContent({ model: 'anthropic/claude-haiku-4-5', contents: [question], config })
    const recordedBlocks = JSON.parse(turn1!.response.body).content
    const uses = recordedBlocks.filter((block: { type: string }) => block.type === 'tool_use')
    expect(first.functionCalls).toEqual(uses.map((use: { id: string; input: unknown }) => ({ id: use.id, name: 'retrieve_entity_info', args: use.input })))
    expect(first.candidates![0]!.content!.parts![0]).toEqual({ text: recordedBlocks[0].text })
    expect(gw.onlyAnthropicRequest().json.tools).toEqual([{ name: 'retrieve_entity_info', description: 'Get the knowledge about the given entity.', input_schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } }])
    gw.anthropicMock.reset()

    const results = (turn2!.request.body as { messages: any[] }).messages[2].content as Array<{ tool_use_id: string; content: string }>
    const answers = first.functionCalls!.map((call) => ({ functionResponse: { id: call.id, name: call.name, response: { result: results.find((result) => result.tool_use_id === call.id)!.content } } }))
    const second = await gw.genai.models.generateContent({ model: 'anthropic/claude-haiku-4-5', contents: [question, first.candidates![0]!.content!, { role: 'user', parts: answers }], config })
    expect(second.text).toBe(JSON.parse(turn2!.response.body).content[0].text)
    const sent = gw.onlyAnthropicRequest().json.messages
    expect(sent[1]).toEqual({ role: 'assistant', content: recordedBlocks })
    expect(sent[2].content.map((block: { type: string; tool_use_id: string }) => [block.type, block.tool_use_id])).toEqual(uses.map((use: { id: string }) => ['tool_result', use.id]))
  })
})

describe('countTokens', () => {
  it('asks Anthropic\'s /v1/messages/count_tokens', async () => {
    const result = await gw.genai.models.countTokens({ model: 'anthropic/claude-sonnet-4-5', contents: 'How many tokens is this?' })
    const upstream = gw.onlyAnthropicRequest()
    expect(upstream.path).toBe('/v1/messages/count_tokens')
    expect(upstream.json).toEqual({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'How many tokens is this?' }] })
    expect(result.totalTokens).toBe(mockTokenCount(upstream.json))
    expectAnthropicKey(upstream)
  })

  it('an Anthropic failure comes back in Gemini shape, status and retry-after kept', async () => {
    const response = await gw.post(`/genai/v1beta/models/anthropic/${ANTHROPIC_ERROR_MODELS.rateLimited}:countTokens`, JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe(ANTHROPIC_RETRY_AFTER)
    expect(response.headers.get('x-bf-provider')).toBe('anthropic')
    expectGeminiError(await response.json(), 429, 'RESOURCE_EXHAUSTED')
  })
})
