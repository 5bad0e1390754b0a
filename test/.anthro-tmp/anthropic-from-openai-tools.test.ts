import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { budgetForEffort } from '@switchyard/provider-anthropic'
import { sseEvents, useAnthropicGateway } from './anthropic-e2e.js'
import { expectWarning, frameEvents, messageVariant, rechunk, turnsOf, warningsOf } from '../support/anthropic-wire.js'
import { cassette, fixtureText, splitSseEvents } from '../support/fixtures.js'

/**
 * OpenAI SDK -> /openai -> Anthropic: tools, images, documents and reasoning, checked on both
 * sides (what the Anthropic upstream got, what the OpenAI client got), plain and streaming.
 */

const gw = useAnthropicGateway()
const MODEL = 'anthropic/claude-haiku-4-5'
const parallel = cassette('anthropic/messages-parallel-tool-use.cassette.yaml')
const firstReply = JSON.parse(parallel[0]!.response.body)
const question: OpenAI.Chat.ChatCompletionMessageParam = { role: 'user', content: 'Alice, Bob, Charlie and Daisy are a family. Who is the youngest?' }
const entityTool: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'retrieve_entity_info', description: 'Get the knowledge about the given entity.', parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } } }
const weatherTool: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', description: 'Weather for a location', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } } }
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const PDF = 'JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCnN0cmVhbQplbmRzdHJlYW0KZW5kb2JqCg=='

async function collect(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>): Promise<OpenAI.Chat.ChatCompletionChunk[]> {
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

/** Tool calls assembled from stream chunks the way an OpenAI client does (by `index`). */
function assembleCalls(chunks: OpenAI.Chat.ChatCompletionChunk[]): Array<{ id: string; name: string; arguments: string }> {
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  for (const chunk of chunks) {
    for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
      const entry = (calls[call.index] ??= { id: '', name: '', arguments: '' })
      if (call.id) entry.id = call.id
      if (call.function?.name) entry.name += call.function.name
      if (call.function?.arguments) entry.arguments += call.function.arguments
    }
  }
  return calls
}

/** The recorded parallel tool-use reply as an Anthropic stream (synthesized framing of a real message; input split in two fragments). */
function parallelStream(): string[] {
  const events: Array<Record<string, unknown>> = [{ type: 'message_start', message: { ...firstReply, content: [], stop_reason: null, usage: { input_tokens: 423, output_tokens: 1 } } }]
  firstReply.content.forEach((block: any, index: number) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } })
    } else {
      const json = JSON.stringify(block.input)
      events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } })
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, 5) } }, { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(5) } })
    }
    events.push({ type: 'content_block_stop', index })
  })
  events.push({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 202 } }, { type: 'message_stop' })
  return frameEvents(events)
}

describe('tools', () => {
  it('definitions and tool_choice auto reach Anthropic; parallel tool_use blocks come back as tool_calls with their ids', async () => {
    const completion = await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool], tool_choice: 'auto' })
    const upstream = gw.onlyRequest().json
    expect(upstream.tools).toEqual([{ name: 'retrieve_entity_info', description: 'Get the knowledge about the given entity.', input_schema: entityTool.function.parameters }])
    expect(upstream.tool_choice).toEqual({ type: 'auto' })

    const message = completion.choices[0]!.message
    expect(message.content).toBe(firstReply.content[0].text)
    expect(message.tool_calls).toEqual(firstReply.content.slice(1).map((block: any) => ({ id: block.id, type: 'function', function: { name: 'retrieve_entity_info', arguments: JSON.stringify(block.input) } })))
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('tool_choice none / required / a named function, and parallel_tool_calls: false', async () => {
    await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool], tool_choice: 'none' })
    await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool], tool_choice: 'required' })
    await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool, weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } } })
    await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool], parallel_tool_calls: false })
    expect(gw.mock.requests.map((request) => request.json.tool_choice)).toEqual([
      { type: 'none' },
      { type: 'any' },
      { type: 'tool', name: 'get_weather' },
      { type: 'auto', disable_parallel_tool_use: true },
    ])
  })

  it('tool results: the tool messages become one user turn of tool_result blocks with the call ids', async () => {
    const calls = firstReply.content.slice(1).map((block: any) => ({ id: block.id, type: 'function' as const, function: { name: block.name, arguments: JSON.stringify(block.input) } }))
    const facts = ["alice is bob's wife", "bob is alice's husband", "charlie is alice's son", "daisy is bob's daughter and charlie's younger sister"]
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      question,
      { role: 'assistant', content: firstReply.content[0].text, tool_calls: calls },
      ...calls.map((call: { id: string }, index: number) => ({ role: 'tool' as const, tool_call_id: call.id, content: facts[index]! })),
    ]
    const completion = await gw.openai.chat.completions.create({ model: MODEL, messages, tools: [entityTool] })
    expect(completion.choices[0]!.message.content).toContain('Daisy is the youngest')
    expect(completion.choices[0]!.finish_reason).toBe('stop')

    const turns = turnsOf(gw.onlyRequest().json.messages)
    expect(turns.map((turn) => turn.role)).toEqual(['user', 'assistant', 'user'])
    expect(turns[1]!.content).toEqual(firstReply.content)
    expect(turns[2]!.content.map((block) => ({ type: block.type, tool_use_id: block.tool_use_id, text: typeof block.content === 'string' ? block.content : block.content.map((item: any) => item.text).join('') }))).toEqual(
      calls.map((call: { id: string }, index: number) => ({ type: 'tool_result', tool_use_id: call.id, text: facts[index] })),
    )
  })

  it('streamed tool call: role, text deltas, the call with its id and complete arguments, one tool_calls finish', async () => {
    const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], stream: true }))
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe("I'll check the current weather in Paris for you.")
    expect(assembleCalls(chunks)).toEqual([{ id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', arguments: '{"location": "Paris"}' }])
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
    expect(gw.onlyRequest().json.tools[0].name).toBe('get_weather')
  })

  it('streamed arguments are complete whatever the byte chunking of the upstream stream', async () => {
    const events = splitSseEvents(fixtureText('anthropic/messages-stream-tool-use.sse'))
    for (const size of [1, 7, 64]) {
      gw.mock.setNext({ status: 200, events: rechunk(events, size) })
      const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], stream: true }))
      expect(assembleCalls(chunks)).toEqual([{ id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', arguments: '{"location": "Paris"}' }])
    }
  })

  it('parallel streamed tool calls get indices 0..3, each with its id and arguments', async () => {
    gw.mock.setNext({ status: 200, events: parallelStream() })
    const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: [question], tools: [entityTool], stream: true }))
    expect(assembleCalls(chunks)).toEqual(firstReply.content.slice(1).map((block: any) => ({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) })))
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
  })
})

describe('images and documents', () => {
  it('image URLs and data URLs become Anthropic url and base64 image blocks', async () => {
    const url = 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg'
    const { response } = await gw.openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe both.' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }, { type: 'image_url', image_url: { url } }] }],
    }).withResponse()
    expect(turnsOf(gw.onlyRequest().json.messages)[0]!.content).toEqual([
      { type: 'text', text: 'Describe both.' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
      { type: 'image', source: { type: 'url', url } },
    ])
    expect(warningsOf(response.headers)).toEqual([])
  })

  it('image detail has no Anthropic equivalent: a warning', async () => {
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } }] }] }).withResponse()
    expectWarning(response.headers, 'detail')
  })

  it('a PDF file part becomes a base64 document block', async () => {
    await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'report.pdf' } }, { type: 'text', text: 'Summarize.' }] }] })
    const [document, text] = turnsOf(gw.onlyRequest().json.messages)[0]!.content
    expect(document).toMatchObject({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } })
    expect(text).toEqual({ type: 'text', text: 'Summarize.' })
  })
})

describe('reasoning', () => {
  const thinkingReply = JSON.parse(fixtureText('anthropic/messages-thinking.json'))
  const thinking = thinkingReply.content[0]

  it('reasoning_effort -> a thinking budget; the thinking block comes back as reasoning_content and signed reasoning_details', async () => {
    const completion = await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Find the roots of x^3 - 6x^2 + 11x - 6.' }], reasoning_effort: 'low' })
    const upstream = gw.onlyRequest().json
    expect(upstream.thinking).toEqual({ type: 'enabled', budget_tokens: budgetForEffort('low') })
    expect(upstream.max_tokens).toBeGreaterThan(budgetForEffort('low'))
    const message = completion.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string; reasoning_details?: unknown }
    expect(message.content).toBe(thinkingReply.content[1].text)
    expect(message.reasoning_content).toBe(thinking.thinking)
    expect(message.reasoning_details).toEqual([{ type: 'reasoning.text', text: thinking.thinking, signature: thinking.signature, index: 0 }])
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(139)
  })

  it('the assistant turn sent back with reasoning_details gives Anthropic the original signed thinking block', async () => {
    const assistant = { role: 'assistant', content: thinkingReply.content[1].text, reasoning_details: [{ type: 'reasoning.text', text: thinking.thinking, signature: thinking.signature, index: 0 }] }
    const messages = [{ role: 'user', content: 'Find the roots.' }, assistant, { role: 'user', content: 'And their sum?' }] as OpenAI.Chat.ChatCompletionMessageParam[]
    await gw.openai.chat.completions.create({ model: MODEL, messages, reasoning_effort: 'low' })
    const turns = turnsOf(gw.onlyRequest().json.messages)
    expect(turns[1]).toEqual({ role: 'assistant', content: [{ type: 'thinking', thinking: thinking.thinking, signature: thinking.signature }, { type: 'text', text: thinkingReply.content[1].text }] })
  })

  it('thinking + tool use round trip: the final assistant turn starts with its signed thinking block', async () => {
    gw.mock.setNext({ status: 200, body: messageVariant({ content: [thinking, { type: 'tool_use', id: 'toolu_think_1', name: 'get_weather', input: { location: 'Paris' } }], stop_reason: 'tool_use' }) })
    const first = await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], reasoning_effort: 'low' })
    const message = first.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_details?: unknown }
    expect(message.tool_calls?.[0]?.id).toBe('toolu_think_1')
    const history = [{ role: 'user', content: 'Weather in Paris?' }, { role: 'assistant', content: message.content, tool_calls: message.tool_calls, reasoning_details: message.reasoning_details }, { role: 'tool', tool_call_id: 'toolu_think_1', content: 'Sunny, 24C' }] as OpenAI.Chat.ChatCompletionMessageParam[]
    await gw.openai.chat.completions.create({ model: MODEL, messages: history, tools: [weatherTool], reasoning_effort: 'low' })
    const turns = turnsOf(gw.mock.requests[1]!.json.messages)
    expect(turns[1]!.content).toEqual([{ type: 'thinking', thinking: thinking.thinking, signature: thinking.signature }, { type: 'tool_use', id: 'toolu_think_1', name: 'get_weather', input: { location: 'Paris' } }])
    expect(turns[2]!.content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_think_1' })
  })

  it('redacted thinking reaches the client as reasoning.encrypted and goes back as the same redacted_thinking block', async () => {
    const redacted = { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj' }
    gw.mock.setNext({ status: 200, body: messageVariant({ content: [redacted, { type: 'text', text: 'Done.' }] }) })
    const completion = await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Think.' }], reasoning_effort: 'low' })
    const message = completion.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_details?: unknown }
    expect(message.reasoning_details).toEqual([{ type: 'reasoning.encrypted', data: redacted.data, index: 0 }])
    const history = [{ role: 'user', content: 'Think.' }, { role: 'assistant', content: 'Done.', reasoning_details: message.reasoning_details }, { role: 'user', content: 'Go on.' }] as OpenAI.Chat.ChatCompletionMessageParam[]
    await gw.openai.chat.completions.create({ model: MODEL, messages: history, reasoning_effort: 'low' })
    expect(turnsOf(gw.mock.requests[1]!.json.messages)[1]!.content).toEqual([redacted, { type: 'text', text: 'Done.' }])
  })

  it('streamed thinking: reasoning_content deltas, the signature in reasoning_details before the finish, then the text', async () => {
    const response = await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'How do I cross the street?' }], reasoning_effort: 'low', stream: true }).asResponse()
    const chunks = sseEvents(await response.text()).slice(0, -1).map((event) => event.data)
    const recorded = sseEvents(cassette('anthropic/messages-stream-thinking.cassette.yaml')[0]!.response.body).map((event) => event.data)
    const deltas = recorded.filter((event) => event.type === 'content_block_delta').map((event) => event.delta)
    const thinkingText = deltas.filter((delta) => delta.type === 'thinking_delta').map((delta) => delta.thinking).join('')
    const signature = deltas.filter((delta) => delta.type === 'signature_delta').map((delta) => delta.signature).join('')
    const text = deltas.filter((delta) => delta.type === 'text_delta').map((delta) => delta.text).join('')

    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.reasoning_content ?? '').join('')).toBe(thinkingText)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(text)
    const details = chunks.filter((chunk) => chunk.choices[0]?.delta?.reasoning_details)
    expect(details).toHaveLength(1)
    expect(details[0].choices[0].delta.reasoning_details).toEqual([{ type: 'reasoning.text', text: thinkingText, signature, index: 0 }])
    const finishAt = chunks.findIndex((chunk) => chunk.choices[0]?.finish_reason)
    expect(chunks.indexOf(details[0])).toBeLessThan(finishAt)
    expect(chunks[finishAt].choices[0].finish_reason).toBe('stop')
    expect(gw.onlyRequest().json).toMatchObject({ stream: true, thinking: { type: 'enabled', budget_tokens: budgetForEffort('low') } })
  })
})
