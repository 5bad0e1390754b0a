import type Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { sseEvents, useAnthropicGateway } from './anthropic-e2e.js'
import { expectWarning, rechunk } from '../support/anthropic-wire.js'
import { cassette, fixtureText, splitSseEvents } from '../support/fixtures.js'

/**
 * Anthropic SDK -> /anthropic -> OpenAI: tools, images, documents and reasoning, checked on both
 * sides (what the OpenAI upstream got, what the Anthropic client got), plain and streaming.
 */

const gw = useAnthropicGateway()
const MODEL = 'openai/gpt-4o-mini'
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const PDF = 'JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCnN0cmVhbQplbmRzdHJlYW0KZW5kb2JqCg=='

const weather: Anthropic.Tool = {
  name: 'get_current_weather',
  description: 'Get the current weather in a given location',
  input_schema: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
}
const capital: Anthropic.Tool = { name: 'get_capital', description: '', input_schema: { type: 'object', properties: { country: { type: 'string' } }, required: ['country'], additionalProperties: false } }
const country: Anthropic.Tool = { name: 'get_country', description: '', input_schema: { type: 'object', properties: {} } }
const product: Anthropic.Tool = { name: 'get_product_name', description: '', input_schema: { type: 'object', properties: {} } }
const ask: Anthropic.MessageParam = { role: 'user', content: 'What is the weather like in Boston today?' }
const toolReply = JSON.parse(cassette('openai/chat-tool-call.cassette.yaml')[0]!.response.body)
const recordedCall = toolReply.choices[0].message.tool_calls[0]

/** The tool calls a recorded OpenAI SSE body streams, assembled by index. */
function recordedStreamCalls(body: string): Array<{ id: string; name: string; arguments: string }> {
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  for (const event of sseEvents(body)) {
    for (const call of event.data?.choices?.[0]?.delta?.tool_calls ?? []) {
      const entry = (calls[call.index] ??= { id: '', name: '', arguments: '' })
      if (call.id) entry.id = call.id
      if (call.function?.name) entry.name += call.function.name
      if (call.function?.arguments) entry.arguments += call.function.arguments
    }
  }
  return calls
}

describe('tools', () => {
  it('definitions and tool_choice auto reach OpenAI; the tool call comes back as tool_use with its id and parsed input', async () => {
    const message = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 1024, messages: [ask], tools: [weather], tool_choice: { type: 'auto' } })
    const upstream = gw.onlyOpenAIRequest().json
    expect(upstream.tools).toEqual([{ type: 'function', function: { name: weather.name, description: weather.description, parameters: weather.input_schema } }])
    expect(upstream.tool_choice).toBe('auto')
    expect(message.content).toEqual([{ type: 'tool_use', id: recordedCall.id, name: recordedCall.function.name, input: JSON.parse(recordedCall.function.arguments) }])
    expect(message.stop_reason).toBe('tool_use')
  })

  it('tool_choice any / none / a named tool, and disable_parallel_tool_use', async () => {
    const base = { model: MODEL, max_tokens: 64, messages: [ask], tools: [weather, capital] }
    await gw.anthropic.messages.create({ ...base, tool_choice: { type: 'any' } })
    await gw.anthropic.messages.create({ ...base, tool_choice: { type: 'none' } })
    await gw.anthropic.messages.create({ ...base, tool_choice: { type: 'tool', name: 'get_capital' } })
    await gw.anthropic.messages.create({ ...base, tool_choice: { type: 'auto', disable_parallel_tool_use: true } })
    const upstream = gw.openaiMock.requests.map((request) => ({ tool_choice: request.json.tool_choice, parallel_tool_calls: request.json.parallel_tool_calls }))
    expect(upstream).toEqual([
      { tool_choice: 'required', parallel_tool_calls: undefined },
      { tool_choice: 'none', parallel_tool_calls: undefined },
      { tool_choice: { type: 'function', function: { name: 'get_capital' } }, parallel_tool_calls: undefined },
      { tool_choice: 'auto', parallel_tool_calls: false },
    ])
  })

  it('tool results: tool_use -> assistant tool_calls, tool_result -> tool messages with the ids, trailing text -> a user message', async () => {
    const history: Anthropic.MessageParam[] = [
      ask,
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'call_a1', name: weather.name, input: { location: 'Boston, MA' } }, { type: 'tool_use', id: 'call_b2', name: weather.name, input: { location: 'Cambridge, MA', unit: 'celsius' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_a1', content: '72F and sunny' }, { type: 'tool_result', tool_use_id: 'call_b2', content: [{ type: 'text', text: '21C' }] }, { type: 'text', text: 'Compare them.' }] },
    ]
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 256, messages: history, tools: [weather] })
    const messages = gw.onlyOpenAIRequest().json.messages
    expect(messages[1]).toMatchObject({ role: 'assistant', tool_calls: [
      { id: 'call_a1', type: 'function', function: { name: weather.name, arguments: JSON.stringify({ location: 'Boston, MA' }) } },
      { id: 'call_b2', type: 'function', function: { name: weather.name, arguments: JSON.stringify({ location: 'Cambridge, MA', unit: 'celsius' }) } },
    ] })
    expect(messages[1].content === 'Checking.' || messages[1].content?.[0]?.text === 'Checking.').toBe(true)
    expect(messages.slice(2).map((item: any) => ({ role: item.role, tool_call_id: item.tool_call_id, text: typeof item.content === 'string' ? item.content : item.content.map((part: any) => part.text).join('') }))).toEqual([
      { role: 'tool', tool_call_id: 'call_a1', text: '72F and sunny' },
      { role: 'tool', tool_call_id: 'call_b2', text: '21C' },
      { role: 'user', tool_call_id: undefined, text: 'Compare them.' },
    ])
  })

  it('is_error and images in tool results have no chat completions equivalent: warnings name them', async () => {
    const history: Anthropic.MessageParam[] = [
      ask,
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_a1', name: weather.name, input: { location: 'Boston' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_a1', is_error: true, content: [{ type: 'text', text: 'station offline' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }] },
    ]
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: history, tools: [weather] }).withResponse()
    expectWarning(response.headers, /isError|is_error/)
    expectWarning(response.headers, /image/)
    const tool = gw.onlyOpenAIRequest().json.messages[2]
    expect(tool.role).toBe('tool')
    expect(JSON.stringify(tool.content)).toContain('station offline')
  })

  it('streamed tool call: tool_use block with its id and the complete input, stop_reason tool_use', async () => {
    const body = cassette('openai/chat-stream-tool-call.cassette.yaml')[0]!.response.body
    const [call] = recordedStreamCalls(body)
    const message = await gw.anthropic.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'What is the capital of the UK? Use the tool, then answer.' }], tools: [capital] }).finalMessage()
    expect(message.content).toEqual([{ type: 'tool_use', id: call!.id, name: 'get_capital', input: JSON.parse(call!.arguments) }])
    expect(message.stop_reason).toBe('tool_use')
  })

  it('streamed input is complete whatever the byte chunking of the upstream stream', async () => {
    const body = cassette('openai/chat-stream-tool-call.cassette.yaml')[0]!.response.body
    const [call] = recordedStreamCalls(body)
    for (const size of [1, 9, 100]) {
      gw.openaiMock.setNext({ status: 200, events: rechunk(splitSseEvents(body), size) })
      const message = await gw.anthropic.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Capital of the UK?' }], tools: [capital] }).finalMessage()
      expect(message.content).toEqual([{ type: 'tool_use', id: call!.id, name: 'get_capital', input: JSON.parse(call!.arguments) }])
    }
  })

  it('parallel streamed tool calls: one tool_use block per call, consecutive indices, each input complete', async () => {
    const body = cassette('openai/chat-stream-parallel-tool-calls.cassette.yaml')[1]!.response.body
    const calls = recordedStreamCalls(body)
    expect(calls.length).toBeGreaterThan(1)
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Tell me: the capital of the country; the weather there; the product name' }], tools: [country, product], stream: true }))
    const events = sseEvents(await response.text()).map((event) => event.data)
    const starts = events.filter((event) => event.type === 'content_block_start')
    expect(starts.map((event) => event.index)).toEqual(calls.map((_, index) => index))
    expect(starts.map((event) => event.content_block)).toEqual(calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: {} })))
    for (const [index, call] of calls.entries()) {
      const json = events.filter((event) => event.type === 'content_block_delta' && event.index === index).map((event) => event.delta.partial_json).join('')
      expect(JSON.parse(json || '{}')).toEqual(JSON.parse(call.arguments))
    }
    expect(events.find((event) => event.type === 'message_delta').delta.stop_reason).toBe('tool_use')
  })
})

describe('images and documents', () => {
  it('base64 and URL images become data URLs and URLs in image_url parts', async () => {
    const url = 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg'
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe.' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }, { type: 'image', source: { type: 'url', url } }] }] })
    expect(gw.onlyOpenAIRequest().json.messages[0].content).toEqual([
      { type: 'text', text: 'Describe.' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      { type: 'image_url', image_url: { url } },
    ])
  })

  it('a base64 PDF document becomes a file part with file_data', async () => {
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } }, { type: 'text', text: 'Summarize.' }] }] })
    const [file, text] = gw.onlyOpenAIRequest().json.messages[0].content
    expect(file).toMatchObject({ type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}` } })
    expect(text).toEqual({ type: 'text', text: 'Summarize.' })
  })

  it('a URL document has no chat completions form: a warning names it', async () => {
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/report.pdf' } }, { type: 'text', text: 'Summarize.' }] }] }).withResponse()
    expectWarning(response.headers, /file/i)
  })
})

describe('reasoning', () => {
  it('thinking budget has no chat completions form: a warning, no thinking field upstream', async () => {
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 4096, messages: [ask], thinking: { type: 'enabled', budget_tokens: 2048 } }).withResponse()
    const upstream = gw.onlyOpenAIRequest().json
    expect(upstream.thinking).toBeUndefined()
    expectWarning(response.headers, /reasoning|thinking|budget/i)
  })

  it('reasoning_content from an OpenAI-compatible upstream becomes a thinking block before the text', async () => {
    const reply = JSON.parse(fixtureText('deepseek/chat-reasoning.json'))
    gw.openaiMock.setNext({ status: 200, body: reply })
    const message = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: "How many 'r's are in the word 'strawberry'?" }] })
    expect(message.content[0]).toMatchObject({ type: 'thinking', thinking: reply.choices[0].message.reasoning_content })
    expect(message.content[1]).toEqual({ type: 'text', text: reply.choices[0].message.content })
  })

  it('an Anthropic thinking block sent to OpenAI: the text may go as reasoning_content, the signature is named in a warning', async () => {
    const thinking = JSON.parse(fixtureText('anthropic/messages-thinking.json')).content[0]
    const history: Anthropic.MessageParam[] = [ask, { role: 'assistant', content: [thinking, { type: 'text', text: 'Sunny.' }] }, { role: 'user', content: 'Thanks. Tomorrow?' }]
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: history }).withResponse()
    expectWarning(response.headers, /signature/i)
    expect(JSON.stringify(gw.onlyOpenAIRequest().json)).not.toContain(thinking.signature)
  })
})
