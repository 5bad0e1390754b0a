import { describe, expect, it, vi } from 'vitest'
import type OpenAI from 'openai'
import { expectConfiguredKey, useOpenAIGateway } from './support/e2e.js'
import { chunkLines, fixtureText, frameDataEvents } from './support/fixtures.js'

/** Chat Completions through the gateway with the official SDK; OpenAI -> OpenAI is the passthrough path. */

const gw = useOpenAIGateway()
const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Invent a new holiday and describe its traditions.' }]
const recordedText = JSON.parse(fixtureText('openai/chat-text.json'))
const streamedText = chunkLines('openai/chat-stream-text.chunks.txt')
  .map((line) => JSON.parse(line).choices[0]?.delta?.content ?? '')
  .join('')

const capitalTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_capital', description: '', parameters: { type: 'object', properties: { country: { type: 'string' } }, required: ['country'], additionalProperties: false }, strict: true },
}
const countryTool: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'get_country', description: '', parameters: { type: 'object', properties: {}, additionalProperties: false } } }
const productTool: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'get_product_name', description: '', parameters: { type: 'object', properties: {}, additionalProperties: false } } }

describe('chat completions', () => {
  it('plain: the client gets the upstream answer, the upstream gets the caller body with the configured key', async () => {
    const completion = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, temperature: 0.2 })
    expect(completion).toEqual(recordedText)
    expect(completion.choices[0]!.message.content).toContain('Galaxy Day')

    const upstream = gw.onlyRequest()
    expect(upstream.method).toBe('POST')
    expect(upstream.path).toBe('/v1/chat/completions')
    expect(upstream.json).toEqual({ model: 'gpt-4.1-nano', messages: hello, temperature: 0.2 })
    expect(upstream.headers['content-type']).toMatch(/^application\/json/)
    expectConfiguredKey(upstream)
  })

  it('plain: the response bytes are relayed unchanged', async () => {
    const response = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello }).asResponse()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(await response.text()).toBe(fixtureText('openai/chat-text.json'))
  })

  it('stream with include_usage: every chunk arrives and the usage chunk is last', async () => {
    const stream = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks).toHaveLength(chunkLines('openai/chat-stream-text.chunks.txt').length)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(streamedText)
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop')
    const usage = chunks.at(-1)!
    expect(usage.choices).toEqual([])
    expect(usage.usage).toMatchObject({ prompt_tokens: 16, completion_tokens: 300, total_tokens: 316 })

    const upstream = gw.onlyRequest()
    expect(upstream.json.stream).toBe(true)
    expect(upstream.json.stream_options).toEqual({ include_usage: true })
  })

  it('stream with include_usage: the SSE bytes are relayed byte for byte', async () => {
    const response = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true, stream_options: { include_usage: true } }).asResponse()
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await response.text()).toBe(frameDataEvents(chunkLines('openai/chat-stream-text.chunks.txt')).join(''))
  })

  it('stream without include_usage: the gateway asks the upstream for usage and keeps that chunk from the client', async () => {
    const response = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true }).asResponse()
    const text = await response.text()
    const lines = chunkLines('openai/chat-stream-text.chunks.txt')
    // Everything but the usage-only chunk, byte for byte.
    expect(text).toBe(frameDataEvents(lines.slice(0, -1)).join(''))
    expect(text).not.toContain('"choices":[]')

    const upstream = gw.onlyRequest()
    expect(upstream.json.stream_options).toEqual({ include_usage: true })
    const { stream_options: _injected, ...rest } = upstream.json
    expect(rest).toEqual({ model: 'gpt-4.1-nano', messages: hello, stream: true })
  })

  it('stream without include_usage through the SDK iterator: no usage-only chunk', async () => {
    const stream = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThan(100)
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !chunk.usage)).toBe(true)
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('')).toBe(streamedText)
  })

  it('stream with include_usage: false: the upstream is asked for usage, the client still gets none', async () => {
    const stream = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true, stream_options: { include_usage: false } })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !chunk.usage)).toBe(true)
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('')).toBe(streamedText)
    expect(gw.onlyRequest().json).toEqual({ model: 'gpt-4.1-nano', messages: hello, stream: true, stream_options: { include_usage: true } })
  })

  it('a client that stops reading mid-stream cancels the upstream request', async () => {
    const events = frameDataEvents(chunkLines('openai/chat-stream-text.chunks.txt').slice(0, 20))
    gw.mock.setNext({ status: 200, events, eventDelayMs: 100 })
    const stream = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, stream: true })
    for await (const chunk of stream) {
      expect(chunk.choices[0]!.delta.role).toBe('assistant')
      break
    }
    await vi.waitFor(() => expect(gw.mock.requests[0]!.outcome).toBe('aborted'), { timeout: 1_500 })
  })

  it('tools: the tool call comes back and the tool definitions reach the upstream unchanged', async () => {
    const weather: OpenAI.Chat.ChatCompletionTool = {
      type: 'function',
      function: {
        name: 'get_current_weather',
        description: 'Get the current weather in a given location',
        parameters: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
      },
    }
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather like in Boston today?' }]
    const completion = await gw.openai.chat.completions.create({ model: 'gpt-5-nano', messages, tools: [weather], tool_choice: 'auto' })
    const choice = completion.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls).toEqual([{ id: 'call_8fxy20OEu9ulvvaa5b5CzVA4', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA","unit":"fahrenheit"}' } }])
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(256)

    const upstream = gw.onlyRequest()
    expect(upstream.json).toEqual({ model: 'gpt-5-nano', messages, tools: [weather], tool_choice: 'auto' })
  })

  it('streamed tool call: the SDK stream helper assembles the complete call', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the capital of the UK? Use the tool, then answer.' }]
    const stream = gw.openai.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools: [capitalTool], tool_choice: 'auto', stream_options: { include_usage: true } })
    const argumentDeltas: string[] = []
    stream.on('tool_calls.function.arguments.delta', (event) => argumentDeltas.push(event.arguments_delta))
    const final = await stream.finalChatCompletion()
    const choice = final.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.tool_calls).toEqual([expect.objectContaining({ id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', type: 'function', function: expect.objectContaining({ name: 'get_capital', arguments: '{"country":"UK"}' }) })])
    expect(argumentDeltas.length).toBeGreaterThan(1)
    expect(final.usage).toMatchObject({ prompt_tokens: 53, completion_tokens: 15 })

    const upstream = gw.onlyRequest()
    expect(upstream.json).toMatchObject({ model: 'gpt-4o-mini', stream: true, tools: [capitalTool], stream_options: { include_usage: true } })
  })

  it('streamed tool call round trip: the tool result turn streams the answer', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'What is the capital of the UK? Use the tool, then answer.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', type: 'function', function: { name: 'get_capital', arguments: '{"country":"UK"}' } }] },
      { role: 'tool', tool_call_id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', content: 'London' },
    ]
    const final = await gw.openai.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools: [capitalTool] }).finalChatCompletion()
    expect(final.choices[0]!.message.content).toBe('The capital of the UK is London.')
    expect(final.choices[0]!.finish_reason).toBe('stop')
    const upstream = gw.onlyRequest()
    expect(upstream.json.messages).toEqual(messages)
  })

  it('streamed parallel tool calls arrive complete, each with its own id', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Tell me: the capital of the country; the weather there; the product name' }]
    const final = await gw.openai.chat.completions
      .stream({ model: 'gpt-4o', messages, tools: [countryTool, productTool], tool_choice: 'required', parallel_tool_calls: true })
      .finalChatCompletion()
    const calls = final.choices[0]!.message.tool_calls!
    expect(calls.map((call) => call.type === 'function' && [call.id, call.function.name, call.function.arguments])).toEqual([
      ['call_fc0SDU3fpyNWhrPIoQKrxefP', 'get_country', '{}'],
      ['call_QrIV88ppSKBV3sdKw9Dkr9L5', 'get_product_name', '{}'],
    ])
    expect(final.choices[0]!.finish_reason).toBe('tool_calls')
    const upstream = gw.onlyRequest()
    expect(upstream.json).toMatchObject({ tool_choice: 'required', parallel_tool_calls: true, tools: [countryTool, productTool] })
  })

  it('vision: the image_url part reaches the upstream as sent', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' } },
        ],
      },
    ]
    const completion = await gw.openai.chat.completions.create({ model: 'gpt-4o', messages })
    expect(completion.choices[0]!.message.role).toBe('assistant')
    expect(gw.onlyRequest().json.messages).toEqual(messages)
  })

  it('response_format json_schema reaches the upstream unchanged', async () => {
    const responseFormat: OpenAI.ResponseFormatJSONSchema = {
      type: 'json_schema',
      json_schema: { name: 'holiday', strict: true, schema: { type: 'object', properties: { name: { type: 'string' }, date: { type: 'string' } }, required: ['name', 'date'], additionalProperties: false } },
    }
    const completion = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, response_format: responseFormat })
    expect(completion.id).toBe(recordedText.id)
    expect(gw.onlyRequest().json.response_format).toEqual(responseFormat)
  })

  it('n > 1: every choice comes back', async () => {
    const completion = await gw.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: hello, n: 2 })
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1])
    expect(completion.choices[1]!.message.content).toBe(recordedText.choices[0].message.content)
    expect(gw.onlyRequest().json.n).toBe(2)
  })

  it('n > 1 streamed: the SDK assembles both choices', async () => {
    const final = await gw.openai.chat.completions.stream({ model: 'gpt-4.1-nano', messages: hello, n: 2 }).finalChatCompletion()
    expect(final.choices.map((choice) => choice.message.content)).toEqual([streamedText, streamedText])
    expect(gw.onlyRequest().json).toMatchObject({ n: 2, stream: true, stream_options: { include_usage: true } })
  })
})

describe('model routing', () => {
  it('strips the openai/ prefix before the upstream', async () => {
    const response = await gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hello }).withResponse()
    expect(response.data.id).toBe(recordedText.id)
    expect(response.response.headers.get('x-bf-provider')).toBe('openai')
    expect(gw.onlyRequest().json.model).toBe('gpt-4o-mini')
  })

  it('sends a bare model to the openai provider unchanged', async () => {
    await gw.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: hello })
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/chat/completions')
    expect(upstream.json.model).toBe('gpt-4o-mini')
  })

  it('forwards an unknown top-level field, and the rest of the SDK body byte for byte', async () => {
    const params = { model: 'openai/gpt-4o-mini', messages: hello, x_future_param: { a: 1 }, temperature: 0.5 }
    await gw.openai.chat.completions.create(params as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
    const upstream = gw.onlyRequest()
    expect(upstream.json.x_future_param).toEqual({ a: 1 })
    expect(upstream.rawBody).toBe(JSON.stringify({ ...params, model: 'gpt-4o-mini' }))
  })

  it('forwards a hand-written body byte for byte apart from the model', async () => {
    const raw = '{\n  "messages": [ {"role": "user", "content": "Hi \\u00e9 \\ud83d\\ude00"} ],\n  "x_future_param": {"a": 1, "nested": [1.0, 2e3, -0]},\n  "model" :  "openai/gpt-4o-mini",\n  "top_p": 1.00\n}'
    const response = await gw.post('/v1/chat/completions', raw)
    expect(response.status).toBe(200)
    await response.text()
    expect(gw.onlyRequest().rawBody).toBe(raw.replace('"openai/gpt-4o-mini"', '"gpt-4o-mini"'))
  })
})
