import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GatewayError, type ChatRequest, type Warning } from '@switchyard/core'
import { testUpstreamContext } from '@switchyard/core/testing'
import cohere from './index.js'
import { parseCohereChatResponse, toCohereChatBody } from './chat.js'
import { usageFromCohere } from './usage.js'

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')) as Record<string, any>
const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)))
const features = (warnings: readonly Warning[]) => warnings.map((warning) => (warning.type === 'unsupported' ? warning.feature : warning.message))

/** An OpenAI caller's tool loop in the IR, with a document attached. */
const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'command-a-03-2025',
  dialect: 'openai',
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'Answer from the documents.' }] },
    { role: 'user', content: [{ type: 'text', text: 'What does the memo say about Paris?' }, { type: 'file', source: { type: 'base64', mediaType: 'text/plain', data: base64('Paris: 18°C, sunny.') }, mediaType: 'text/plain', filename: 'memo.txt' }] },
    { role: 'assistant', content: [{ type: 'reasoning', text: 'The user wants the weather.' }, { type: 'text', text: 'I will check the weather.' }, { type: 'tool-call', id: 'weather_1', name: 'weather', arguments: '{"city":"Paris"}' }] },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'weather_1', content: [{ type: 'text', text: '18°C' }] }] },
  ],
  tools: [{ type: 'function', name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
  maxTokens: 300,
  temperature: 0.3,
  topP: 0.9,
  topK: 20,
  stop: ['END'],
  seed: 4,
  stream: true,
  extra: {},
  ...overrides,
})

describe('toCohereChatBody', () => {
  it('maps messages, documents, tools and sampling to Cohere v2 names', () => {
    const warnings: Warning[] = []
    expect(toCohereChatBody(request(), warnings)).toEqual({
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Answer from the documents.' }] },
        { role: 'user', content: [{ type: 'text', text: 'What does the memo say about Paris?' }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'The user wants the weather.' }], tool_plan: 'I will check the weather.', tool_calls: [{ id: 'weather_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'weather_1', content: [{ type: 'text', text: '18°C' }] },
      ],
      documents: [{ data: { text: 'Paris: 18°C, sunny.', title: 'memo.txt' } }],
      tools: [{ type: 'function', function: { name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      strict_tools: true,
      max_tokens: 300,
      temperature: 0.3,
      p: 0.9,
      k: 20,
      stop_sequences: ['END'],
      seed: 4,
      stream: true,
    })
    expect(warnings).toEqual([])
  })

  it('tool choice: none/required upper-cased; a named tool is the only one offered, required', () => {
    expect(toCohereChatBody(request({ toolChoice: 'none' }), []).tool_choice).toBe('NONE')
    expect(toCohereChatBody(request({ toolChoice: 'required' }), []).tool_choice).toBe('REQUIRED')
    expect(toCohereChatBody(request({ toolChoice: 'auto' }), [])).not.toHaveProperty('tool_choice')
    const warnings: Warning[] = []
    const named = toCohereChatBody(request({ tools: [...request().tools!, { type: 'function', name: 'other' }], toolChoice: { type: 'tool', name: 'weather' } }), warnings)
    expect(named.tool_choice).toBe('REQUIRED')
    expect((named.tools as unknown[]).length).toBe(1)
    expect(features(warnings)).toEqual(['tool_choice "weather" sent as tool_choice REQUIRED with only that tool'])
  })

  it('response formats and thinking', () => {
    expect(toCohereChatBody(request({ responseFormat: { type: 'json' } }), []).response_format).toEqual({ type: 'json_object' })
    expect(toCohereChatBody(request({ responseFormat: { type: 'json-schema', name: 'x', schema: { type: 'object' } } }), []).response_format).toEqual({ type: 'json_object', json_schema: { type: 'object' } })
    expect(toCohereChatBody(request({ reasoning: { budgetTokens: 2048 } }), []).thinking).toEqual({ type: 'enabled', token_budget: 2048 })
    const warnings: Warning[] = []
    expect(toCohereChatBody(request({ reasoning: { effort: 'low' } }), warnings).thinking).toEqual({ type: 'enabled' })
    expect(warnings).toHaveLength(1)
  })

  it('reports what Cohere cannot take and rejects n > 1', () => {
    const warnings: Warning[] = []
    toCohereChatBody(request({
      user: 'u', metadata: { a: 'b' }, parallelToolCalls: false, extra: { logprobs: true },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache: { type: 'ephemeral' } }, { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBERi0=' } }, { type: 'audio', data: 'AAAA', format: 'wav' }] }],
    }), warnings)
    expect(features(warnings)).toEqual(expect.arrayContaining(['cache_control', 'file (application/pdf)', 'audio in a user message', 'parallel_tool_calls', 'user', 'metadata']))
    // `logprobs` is an OpenAI field: Cohere's encoder does not copy another dialect's extras.
    expect(warnings.some((warning) => warning.type === 'unsupported' && warning.feature === 'logprobs')).toBe(true)
    expect(() => toCohereChatBody(request({ n: 2 }), [])).toThrow(GatewayError)
  })

  it('images go as image_url items (data URLs for inline images); tool results inside user messages become tool messages', () => {
    const body = toCohereChatBody(request({
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBO' } }, { type: 'image', source: { type: 'url', url: 'https://x.example/a.png' }, detail: 'low' }] },
        { role: 'user', content: [{ type: 'tool-result', toolCallId: 't1', content: [{ type: 'text', text: 'done' }] }, { type: 'text', text: 'next?' }] },
      ],
    }), [])
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } }, { type: 'image_url', image_url: { url: 'https://x.example/a.png', detail: 'low' } }] },
      { role: 'tool', tool_call_id: 't1', content: [{ type: 'text', text: 'done' }] },
      { role: 'user', content: [{ type: 'text', text: 'next?' }] },
    ])
  })

  it('the provider posts to <base>/chat with a bearer key and SSE accept when streaming', () => {
    const built = cohere.upstream!.chat!.request(request(), { ...testUpstreamContext('cohere'), baseURL: 'https://api.cohere.com/v2' })
    expect(built.url).toBe('https://api.cohere.com/v2/chat')
    expect(built.headers).toMatchObject({ authorization: 'Bearer sk-contract-test-key-0000', accept: 'text/event-stream', 'content-type': 'application/json' })
  })
})

describe('parseCohereChatResponse', () => {
  it('text, usage from tokens with cached tokens, billed units kept', () => {
    const response = parseCohereChatResponse(fixture('cohere/chat-text.json'))
    expect(response).toEqual({
      id: 'e7592632-1e3d-424f-b129-bd5f9f980f7b',
      model: '',
      created: 0,
      choices: [{ index: 0, message: { role: 'assistant', content: [{ type: 'text', text: 'The capital of France is Paris.' }] }, finishReason: { unified: 'stop', raw: 'COMPLETE' } }],
      usage: { inputTokens: 507, outputTokens: 10, totalTokens: 517, cachedInputTokens: 448, extra: { billed_units: { input_tokens: 12, output_tokens: 7 } } },
      dialect: 'cohere',
    })
  })

  it('tool plan as text before the tool calls', () => {
    const response = parseCohereChatResponse(fixture('cohere/chat-tool-calls.json'))
    const choice = response.choices[0]!
    expect(choice.finishReason).toEqual({ unified: 'tool-calls', raw: 'TOOL_CALL' })
    expect(choice.message.content.map((part) => part.type)).toEqual(['text', 'tool-call', 'tool-call'])
    expect(choice.message.content[1]).toEqual({ type: 'tool-call', id: 'weather_dqgshstja6p9', name: 'weather', arguments: '{"location":"San Francisco"}' })
  })

  it('thinking as reasoning; citations kept in the message extra', () => {
    expect(parseCohereChatResponse(fixture('cohere/chat-reasoning.json')).choices[0]!.message.content.map((part) => part.type)).toEqual(['reasoning', 'text'])
    const cited = parseCohereChatResponse(fixture('cohere/chat-citations.json')).choices[0]!.message
    expect((cited.extra?.citations as unknown[]).length).toBe(3)
    expect(cited.extra?.citations).toContainEqual(expect.objectContaining({ text: 'Automation of tasks', start: 52, end: 71 }))
  })

  it('maps every documented finish reason', () => {
    const reasons = ['COMPLETE', 'STOP_SEQUENCE', 'MAX_TOKENS', 'TOOL_CALL', 'ERROR', 'TIMEOUT'].map((raw) => parseCohereChatResponse({ ...fixture('cohere/chat-text.json'), finish_reason: raw }).choices[0]!.finishReason.unified)
    expect(reasons).toEqual(['stop', 'stop', 'length', 'tool-calls', 'error', 'error'])
  })

  it('a body that is not a chat response is a 502', () => {
    expect(() => parseCohereChatResponse({ text: 'v1 shape' })).toThrow(/malformed chat response from cohere at 'message'/)
  })
})

describe('usageFromCohere', () => {
  it('falls back to billed units when tokens are absent; unknown counts stay unknown', () => {
    expect(usageFromCohere({ billed_units: { input_tokens: 4 } })).toEqual({ inputTokens: 4, outputTokens: undefined, totalTokens: undefined, extra: { billed_units: { input_tokens: 4 } } })
    expect(usageFromCohere(undefined)).toBeUndefined()
  })
})
