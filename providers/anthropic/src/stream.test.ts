import { readFileSync } from 'node:fs'
import { Stream } from '@anthropic-ai/sdk/core/streaming'
import { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream'
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages'
import { GatewayError, type StreamEvent } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseMessagesStream, renderMessagesStream } from './stream.js'

type Json = Record<string, any>

const fixture = (name: string) => readFileSync(new URL(`../../../../shared/fixtures/anthropic/${name}`, import.meta.url), 'utf8')
/** `.chunks.txt` -> the SSE body Anthropic sends (fixtures README: `event: <type>\ndata: <line>\n\n`, nothing after). */
const sseOfChunks = (name: string) =>
  fixture(name).split('\n').filter((line) => line.trim() !== '').map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join('')
/** The raw SSE body of the (single) interaction of a VCR.py cassette. */
const sseOfCassette = (name: string) => parseYaml(fixture(name)).interactions[0].response.body.string as string

const STREAMS: Array<[string, string]> = [
  ['messages-stream-text.sse', fixture('messages-stream-text.sse')],
  ['messages-stream-tool-use.sse', fixture('messages-stream-tool-use.sse')],
  ['messages-stream-text.chunks.txt', sseOfChunks('messages-stream-text.chunks.txt')],
  ['messages-stream-thinking.chunks.txt', sseOfChunks('messages-stream-thinking.chunks.txt')],
  ['messages-stream-web-search.chunks.txt', sseOfChunks('messages-stream-web-search.chunks.txt')],
  ['messages-stream-thinking.cassette.yaml', sseOfCassette('messages-stream-thinking.cassette.yaml')],
]
const streamNamed = (name: string) => STREAMS.find(([candidate]) => candidate === name)![1]

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const streamOf = <T>(items: T[]) => new ReadableStream<T>({ start(controller) { for (const item of items) controller.enqueue(item); controller.close() } })
async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.push(value)
  }
}
const decode = (sse: string) => collect(parseMessagesStream(streamOf([encoder.encode(sse)])))
/** SSE text of Anthropic events given as objects (`event:` = the payload's type). */
const sseOf = (...events: Json[]) => events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('')
const render = async (events: StreamEvent[], model = 'claude-test') => {
  const chunks = await collect(renderMessagesStream(streamOf(events), { model }))
  return { chunks, text: chunks.map((chunk) => decoder.decode(chunk)).join('') }
}

/** Splits bytes at random points (seeded, so failures reproduce), also inside UTF-8 sequences. */
function rechunk(bytes: Uint8Array, seed: number): Uint8Array[] {
  let state = seed
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648)
  const pieces: Uint8Array[] = []
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 300))
    pieces.push(bytes.slice(at, at + size))
    at += size
  }
  return pieces
}

/** The Anthropic events of an SSE body, read independently of the code under test (event/data line pairs). */
function wireEvents(sse: string): Array<{ event: string; data: Json }> {
  return sse.split(/\r?\n\r?\n/).filter((frame) => frame.trim() !== '').map((frame) => {
    const lines = frame.split(/\r?\n/)
    return { event: lines.find((line) => line.startsWith('event: '))!.slice(7), data: JSON.parse(lines.find((line) => line.startsWith('data: '))!.slice(6)) }
  })
}

/** What the wire says, gathered by hand: the independent expectation for the decoded events. */
function expectedFromWire(sse: string) {
  const events = wireEvents(sse).map(({ data }) => data)
  const types: Record<number, string> = {}
  let text = ''
  let thinking = ''
  let signature = ''
  const tools: Array<{ id: string; name: string; json: string }> = []
  let startUsage: Json = {}
  let deltaUsage: Json = {}
  let stopReason: string | undefined
  for (const event of events) {
    if (event.type === 'message_start') startUsage = event.message.usage
    if (event.type === 'content_block_start') {
      types[event.index] = event.content_block.type
      if (event.content_block.type === 'tool_use') tools.push({ id: event.content_block.id, name: event.content_block.name, json: '' })
    }
    if (event.type === 'content_block_delta') {
      if (event.delta.type === 'text_delta') text += event.delta.text
      if (event.delta.type === 'thinking_delta') thinking += event.delta.thinking
      if (event.delta.type === 'signature_delta') signature += event.delta.signature
      if (event.delta.type === 'input_json_delta' && types[event.index] === 'tool_use') tools.at(-1)!.json += event.delta.partial_json
    }
    if (event.type === 'message_delta') {
      stopReason = event.delta.stop_reason
      deltaUsage = event.usage
    }
  }
  const input = deltaUsage.input_tokens ?? startUsage.input_tokens
  const cacheRead = deltaUsage.cache_read_input_tokens ?? startUsage.cache_read_input_tokens
  const cacheWrite = deltaUsage.cache_creation_input_tokens ?? startUsage.cache_creation_input_tokens
  return { text, thinking, signature, tools, stopReason, input: input + (cacheRead ?? 0) + (cacheWrite ?? 0), cacheRead, cacheWrite, output: deltaUsage.output_tokens }
}

/** What a client would assemble from IR events. */
function assemble(events: StreamEvent[]) {
  let text = ''
  let reasoning = ''
  const signatures: string[] = []
  const calls: Record<string, { toolCallId: string; name: string; arguments: string }> = {}
  for (const event of events) {
    if (event.type === 'text-delta') text += event.delta
    if (event.type === 'reasoning-delta') reasoning += event.delta
    if (event.type === 'reasoning-signature') signatures.push(event.signature)
    if (event.type === 'tool-call-start') calls[event.id] = { toolCallId: event.toolCallId, name: event.name, arguments: '' }
    if (event.type === 'tool-call-delta') calls[event.id]!.arguments += event.argumentsDelta
  }
  const finish = events.find((event): event is Extract<StreamEvent, { type: 'finish' }> => event.type === 'finish')
  return { text, reasoning, signatures, calls: Object.values(calls), finish }
}

/** Structural rules of every decoded stream: response-start first, blocks open/close properly, one choice-end, one finish, last. */
function expectWellFormed(events: StreamEvent[]) {
  expect(events[0]!.type).toBe('response-start')
  expect(events.at(-1)!.type).toBe('finish')
  expect(events.filter((event) => event.type === 'finish' || event.type === 'error')).toHaveLength(1)
  expect(events.filter((event) => event.type === 'choice-end')).toHaveLength(1)
  const open = new Set<string>()
  for (const event of events) {
    if (event.type === 'text-start' || event.type === 'reasoning-start' || event.type === 'tool-call-start') {
      expect(open.has(event.id)).toBe(false)
      open.add(event.id)
    } else if (event.type === 'text-delta' || event.type === 'reasoning-delta' || event.type === 'reasoning-signature' || event.type === 'tool-call-delta') {
      expect(open.has(event.id)).toBe(true)
    } else if (event.type === 'text-end' || event.type === 'reasoning-end' || event.type === 'tool-call-end') {
      expect(open.delete(event.id)).toBe(true)
    } else if (event.type === 'choice-end') {
      expect([...open]).toEqual([])
    }
  }
}

/** Anthropic's stream grammar: message_start, ping?, (content_block_start, content_block_delta*, content_block_stop)*, message_delta, message_stop. */
function expectAnthropicGrammar(sse: string) {
  const events = wireEvents(sse)
  for (const { event, data } of events) expect(data.type).toBe(event)
  const word = events.map(({ data }) => {
    switch (data.type) {
      case 'message_start': return 'M'
      case 'ping': return 'P'
      case 'content_block_start': return 'S'
      case 'content_block_delta': return 'D'
      case 'content_block_stop': return 'E'
      case 'message_delta': return 'Z'
      case 'message_stop': return '.'
      default: return '?'
    }
  }).join('')
  expect(word).toMatch(/^MP?(SD*E)*Z\.$/)
  // Each block's deltas and stop carry its own index; indices count up from 0.
  let index = -1
  for (const { data } of events) {
    if (data.type === 'content_block_start') expect(data.index).toBe(++index)
    if (data.type === 'content_block_delta' || data.type === 'content_block_stop') expect(data.index).toBe(index)
  }
}

/** Accumulates a final message the way the Anthropic SDK does for `messages.stream()`. */
async function sdkFinalMessage(body: ReadableStream<Uint8Array> | string): Promise<Message> {
  const response = new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  const events = Stream.fromSSEResponse<RawMessageStreamEvent>(response, new AbortController())
  return MessageStream.fromReadableStream(events.toReadableStream()).finalMessage()
}

describe('parseMessagesStream', () => {
  it.each(STREAMS)('%s decodes: one finish, last, with the content and usage on the wire', async (_name, sse) => {
    const events = await decode(sse)
    expectWellFormed(events)
    const got = assemble(events)
    const wire = expectedFromWire(sse)
    expect(got.text).toBe(wire.text)
    expect(got.reasoning).toBe(wire.thinking)
    expect(got.signatures.join('')).toBe(wire.signature)
    expect(got.calls.map(({ toolCallId, name, arguments: args }) => ({ id: toolCallId, name, json: args }))).toEqual(wire.tools)
    expect(got.finish!.finishReason).toEqual(mapReason(wire.stopReason))
    const usage = got.finish!.usage!
    expect([usage.inputTokens, usage.outputTokens, usage.totalTokens]).toEqual([wire.input, wire.output, wire.input + wire.output])
    expect([usage.cachedInputTokens, usage.cacheWriteInputTokens]).toEqual([wire.cacheRead, wire.cacheWrite])
    const start = events[0] as Extract<StreamEvent, { type: 'response-start' }>
    const message = wireEvents(sse)[0]!.data.message
    expect(start).toEqual({ type: 'response-start', id: message.id, model: message.model, dialect: 'anthropic' })
  })

  it.each(STREAMS)('%s gives identical events however the bytes are split', async (_name, sse) => {
    const whole = await decode(sse)
    const bytes = encoder.encode(sse)
    for (const seed of [1, 7, 42, 1234, 99991, 31337]) {
      expect(await collect(parseMessagesStream(streamOf(rechunk(bytes, seed))))).toEqual(whole)
    }
    expect(await decode(sse.replaceAll('\n', '\r\n'))).toEqual(whole)
  })

  it('streams tool input JSON that parses to the recorded input', async () => {
    const got = assemble(await decode(streamNamed('messages-stream-tool-use.sse')))
    expect(got.text).toBe("I'll check the current weather in Paris for you.")
    expect(got.calls).toHaveLength(1)
    expect(got.calls[0]).toMatchObject({ toolCallId: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather' })
    expect(JSON.parse(got.calls[0]!.arguments)).toEqual({ location: 'Paris' })
    expect(got.finish!.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_use' })
  })

  it('brings thinking text and its signature through, before the text block', async () => {
    const events = await decode(streamNamed('messages-stream-thinking.chunks.txt'))
    const got = assemble(events)
    expect(got.reasoning).toBe('The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185')
    expect(got.signatures).toEqual([expect.stringMatching(/^EvQBCkYICxgCKkAxhD4N.*BgB$/)])
    expect(got.text).toBe('925 ÷ 5 = 185')
    const kinds = events.filter((event) => event.type.endsWith('-start') && event.type !== 'response-start').map((event) => event.type)
    expect(kinds).toEqual(['reasoning-start', 'text-start'])
    // The signature belongs to the reasoning block and arrives before it ends.
    const signatureAt = events.findIndex((event) => event.type === 'reasoning-signature')
    expect(signatureAt).toBeLessThan(events.findIndex((event) => event.type === 'reasoning-end'))
  })

  it('leaves server-tool blocks and citations out of the IR, keeping the text written from them', async () => {
    const events = await decode(streamNamed('messages-stream-web-search.chunks.txt'))
    expect(events.some((event) => event.type.startsWith('tool-call'))).toBe(false)
    // 21 wire blocks: server_tool_use and web_search_tool_result are skipped, the 19 text blocks stay.
    expect(events.filter((event) => event.type === 'text-start')).toHaveLength(19)
    expect(events.filter((event) => event.type === 'text-start').map((event) => (event as { id: string }).id)[0]).toBe('0:text:0')
    const finish = assemble(events).finish!
    expect(finish.usage).toEqual({
      inputTokens: 15665, outputTokens: 795, totalTokens: 16460, cachedInputTokens: 0, cacheWriteInputTokens: 0,
      extra: { cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, service_tier: 'standard', server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } },
    })
  })

  it('merges usage: input and cache counts from message_start, final output from message_delta', async () => {
    const start = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-x', stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 1 } } }
    const end = (usage: Json) => [{ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage }, { type: 'message_stop' }]
    const expected = { inputTokens: 130, outputTokens: 50, totalTokens: 180, cachedInputTokens: 100, cacheWriteInputTokens: 20 }

    // Older API: message_delta carries only output_tokens.
    let events = await decode(sseOf(start, ...end({ output_tokens: 50 })))
    expect(events.filter((event) => event.type === 'usage').map((event) => (event as { usage: unknown }).usage)).toEqual([
      { inputTokens: 130, outputTokens: 1, totalTokens: 131, cachedInputTokens: 100, cacheWriteInputTokens: 20 },
      expected,
    ])
    expect(assemble(events).finish!.usage).toEqual(expected)
    // Current API: message_delta repeats the cumulative input counts; nothing is counted twice.
    events = await decode(sseOf(start, ...end({ input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 50 })))
    expect(assemble(events).finish!.usage).toEqual(expected)
    // `null` in message_delta means "not reported here", not 0.
    events = await decode(sseOf(start, ...end({ input_tokens: null, cache_read_input_tokens: null, cache_creation_input_tokens: null, output_tokens: 50, output_tokens_details: null })))
    expect(assemble(events).finish!.usage).toEqual(expected)
  })

  it('turns an error event mid-stream into one error event with the status of its type, and nothing after', async () => {
    const sse = streamNamed('messages-stream-text.sse')
    const cut = sse.indexOf('event: content_block_stop')
    for (const [type, status] of [['overloaded_error', 529], ['api_error', 500], ['rate_limit_error', 429], ['invalid_request_error', 400], ['something_new', 502]] as const) {
      const error = `event: error\ndata: {"type":"error","error":{"type":"${type}","message":"Overloaded"}}\n\n`
      const events = await decode(sse.slice(0, cut) + error + sse.slice(cut))
      const last = events.at(-1)!
      expect(last.type).toBe('error')
      expect(events.filter((event) => event.type === 'finish' || event.type === 'error')).toHaveLength(1)
      const gatewayError = (last as Extract<StreamEvent, { type: 'error' }>).error
      expect(GatewayError.is(gatewayError)).toBe(true)
      expect(gatewayError).toMatchObject({ status, provider: 'anthropic', message: '[anthropic] Overloaded', retryable: status !== 400 })
      if (type !== 'something_new') expect(gatewayError.type).toBe(type)
      expect(assemble(events).text).toBe('Hello there!')
    }
  })

  it('turns a payload that is not JSON into a 502 error event', async () => {
    const sse = streamNamed('messages-stream-text.sse').replace('{"type":"content_block_stop","index":0}', '{"type":"content_block_stop",')
    const events = await decode(sse)
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { status: 502, code: 'upstream' } })
    expect(events.some((event) => event.type === 'finish')).toBe(false)
  })

  it('maps an unknown stop_reason to other, keeping raw', async () => {
    const sse = streamNamed('messages-stream-text.sse').replace('"stop_reason":"end_turn"', '"stop_reason":"brand_new_reason"')
    const events = await decode(sse)
    expect(events.find((event) => event.type === 'choice-end')).toEqual({ type: 'choice-end', choice: 0, finishReason: { unified: 'other', raw: 'brand_new_reason' } })
    expect(assemble(events).finish!.finishReason).toEqual({ unified: 'other', raw: 'brand_new_reason' })
  })

  it('ends with one finish when the body stops early', async () => {
    const sse = streamNamed('messages-stream-tool-use.sse')
    // No message_delta: open blocks end, finish is `other`, usage is what message_start said.
    let events = await decode(sse.slice(0, sse.indexOf('event: content_block_stop\ndata: {"type":"content_block_stop","index":1}')))
    expectWellFormed(events)
    expect(events.slice(-3).map((event) => event.type)).toEqual(['tool-call-end', 'choice-end', 'finish'])
    expect(assemble(events).finish).toMatchObject({ finishReason: { unified: 'other', raw: undefined }, usage: { inputTokens: 377, outputTokens: 1 } })
    // message_delta but no message_stop: its stop reason and usage stand.
    events = await decode(sse.slice(0, sse.indexOf('event: message_stop')))
    expectWellFormed(events)
    expect(assemble(events).finish).toMatchObject({ finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: { inputTokens: 377, outputTokens: 65 } })
    // Nothing at all: an error, not a finish.
    expect(await decode('')).toMatchObject([{ type: 'error', error: { status: 502 } }])
  })

  it('reads redacted_thinking as a reasoning block carrying its data', async () => {
    const events = await decode(sseOf(
      { type: 'message_start', message: { id: 'msg_r', model: 'claude-x', usage: { input_tokens: 5, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'ok' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } },
      { type: 'message_stop' },
    ))
    expect(events.slice(2, 4)).toEqual([
      { type: 'reasoning-start', id: '0:reasoning:0', redacted: 'EmwKAhgBEgy3va3pzix' },
      { type: 'reasoning-end', id: '0:reasoning:0' },
    ])
    expectWellFormed(events)
  })
})

const mapReason = (raw: string | undefined) => ({ end_turn: { unified: 'stop', raw }, tool_use: { unified: 'tool-calls', raw } } as Json)[raw ?? '']

describe('renderMessagesStream', () => {
  it.each(STREAMS)('%s: rendered and parsed again gives the same IR events, in Anthropic grammar', async (_name, sse) => {
    const events = await decode(sse)
    const model = wireEvents(sse)[0]!.data.message.model
    const rendered = await render(events, model)
    expectAnthropicGrammar(rendered.text)
    expect(await decode(rendered.text)).toEqual(events)
    // One SSE event per output chunk, and one content_block_delta per IR delta.
    for (const chunk of rendered.chunks) expect(decoder.decode(chunk)).toMatch(/^event: \w+\ndata: [^\n]+\n\n$/)
    const deltas = events.filter((event) => event.type.endsWith('-delta') || event.type === 'reasoning-signature').length
    expect(wireEvents(rendered.text).filter(({ event }) => event === 'content_block_delta')).toHaveLength(deltas)
  })

  it.each(STREAMS.filter(([name]) => !name.includes('web-search')))('%s: the Anthropic SDK accumulates the same message from the render as from the original', async (_name, sse) => {
    const model = wireEvents(sse)[0]!.data.message.model
    const original = await sdkFinalMessage(sse)
    const rendered = await sdkFinalMessage(renderMessagesStream(parseMessagesStream(streamOf([encoder.encode(sse)])), { model }))
    expect(rendered).toEqual(original)
  })

  it('renders an OpenAI-shaped stream (text, then a tool call in pieces, usage at the end) that the Anthropic SDK consumes', async () => {
    const events: StreamEvent[] = [
      { type: 'response-start', id: 'chatcmpl-abc123', model: 'gpt-4o-mini', created: 1700000000 },
      { type: 'text-start', id: '0:text:0', choice: 0 },
      { type: 'text-delta', id: '0:text:0', delta: 'Let me ', choice: 0 },
      { type: 'text-delta', id: '0:text:0', delta: 'check.', choice: 0 },
      { type: 'text-end', id: '0:text:0', choice: 0 },
      { type: 'tool-call-start', id: '0:tool:1', toolCallId: 'call_XyZ', name: 'get_weather', choice: 0 },
      { type: 'tool-call-delta', id: '0:tool:1', argumentsDelta: '{"loc', choice: 0 },
      { type: 'tool-call-delta', id: '0:tool:1', argumentsDelta: 'ation": "Par', choice: 0 },
      { type: 'tool-call-delta', id: '0:tool:1', argumentsDelta: 'is"}', choice: 0 },
      { type: 'tool-call-end', id: '0:tool:1', choice: 0 },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'tool-calls', raw: 'tool_calls' } },
      { type: 'usage', usage: { inputTokens: 120, outputTokens: 30, totalTokens: 150, cachedInputTokens: 100, extra: { prompt_tokens_details: { cached_tokens: 100 } } } },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: { inputTokens: 120, outputTokens: 30, totalTokens: 150, cachedInputTokens: 100, extra: { prompt_tokens_details: { cached_tokens: 100 } } } },
    ]
    const rendered = await render(events, 'gpt-4o-mini')
    expectAnthropicGrammar(rendered.text)
    const start = wireEvents(rendered.text)[0]!.data
    expect(start.message).toEqual({ id: 'msg_chatcmpl-abc123', type: 'message', role: 'assistant', content: [], model: 'gpt-4o-mini', stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } })
    const message = await sdkFinalMessage(rendered.text)
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'call_XyZ', name: 'get_weather', input: { location: 'Paris' } },
    ])
    expect(message.stop_reason).toBe('tool_use')
    expect(message.usage).toEqual({ input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 30 })
  })

  it('keeps indices sequential when the IR interleaves a tool call with open text', async () => {
    const events: StreamEvent[] = [
      { type: 'response-start', id: 'resp_1', model: 'm' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'hmm' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'A' },
      { type: 'tool-call-start', id: 'c1', toolCallId: 'call_1', name: 'one' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: '{"a":' },
      // Text and a second call while the first call is open: they wait for it.
      { type: 'text-delta', id: 't', delta: 'B' },
      { type: 'tool-call-start', id: 'c2', toolCallId: 'call_2', name: 'two' },
      { type: 'tool-call-delta', id: 'c2', argumentsDelta: '{}' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: '1}' },
      { type: 'reasoning-signature', id: 'r', signature: 'sig' },
      { type: 'tool-call-end', id: 'c1' },
      { type: 'text-delta', id: 't', delta: 'C' },
      { type: 'text-end', id: 't' },
      { type: 'reasoning-end', id: 'r' },
      // c2 never ends: finish closes it.
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: { inputTokens: 3, outputTokens: 4 } },
    ]
    const rendered = await render(events)
    expectAnthropicGrammar(rendered.text)
    const message = await sdkFinalMessage(rendered.text)
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: '' },
      { type: 'text', text: 'A' },
      { type: 'tool_use', id: 'call_1', name: 'one', input: { a: 1 } },
      { type: 'text', text: 'B' },
      { type: 'tool_use', id: 'call_2', name: 'two', input: {} },
      { type: 'thinking', thinking: '', signature: 'sig' },
      { type: 'text', text: 'C' },
    ])
    expect(message.usage).toEqual({ input_tokens: 3, output_tokens: 4 })
  })

  it('ends with an error instead of broken JSON when arguments arrive after their call ended', async () => {
    const rendered = await render([
      { type: 'response-start', id: 'x', model: 'm' },
      { type: 'tool-call-start', id: 'c1', toolCallId: 'call_1', name: 'one' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: '{"a":' },
      { type: 'tool-call-end', id: 'c1' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: '1}' },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: undefined }, usage: undefined },
    ])
    const last = wireEvents(rendered.text).at(-1)!
    expect(last).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'api_error' } } })
  })

  it('renders redacted thinking, drops choices > 0, renders refusal as text', async () => {
    const rendered = await render([
      { type: 'response-start', id: 'msg_keep', model: 'm' },
      { type: 'reasoning-start', id: 'r', redacted: 'opaque' },
      { type: 'reasoning-delta', id: 'r', delta: '' },
      { type: 'reasoning-end', id: 'r' },
      { type: 'text-start', id: '1:text:0', choice: 1 },
      { type: 'text-delta', id: '1:text:0', delta: 'other choice', choice: 1 },
      { type: 'text-end', id: '1:text:0', choice: 1 },
      { type: 'choice-end', choice: 1, finishReason: { unified: 'stop', raw: 'stop' } },
      { type: 'refusal-delta', id: '0:refusal', delta: "I can't help with that." },
      { type: 'finish', finishReason: { unified: 'content-filter', raw: 'content_filter' }, usage: undefined },
    ])
    expectAnthropicGrammar(rendered.text)
    const message = await sdkFinalMessage(rendered.text)
    expect(message.id).toBe('msg_keep')
    expect(message.content).toEqual([{ type: 'redacted_thinking', data: 'opaque' }, { type: 'text', text: "I can't help with that." }])
    expect(message.stop_reason).toBe('refusal')
  })

  it('renders an IR error as an Anthropic error event that the SDK raises, and stops', async () => {
    const error = new GatewayError({ status: 529, code: 'overloaded', message: '[anthropic] Overloaded', type: 'overloaded_error' })
    const rendered = await render([
      { type: 'response-start', id: 'msg_e', model: 'm' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hi' },
      { type: 'error', error },
      { type: 'text-delta', id: 't', delta: 'ignored' },
    ])
    const events = wireEvents(rendered.text)
    expect(events.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: '[anthropic] Overloaded' } } })
    expect(events.map(({ event }) => event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'error'])
    await expect(sdkFinalMessage(rendered.text)).rejects.toMatchObject({ type: 'overloaded_error' })
    // And back through the parser: an error event with the status of its type.
    expect((await decode(rendered.text)).at(-1)).toMatchObject({ type: 'error', error: { status: 529, type: 'overloaded_error' } })
  })

  it('ends an IR stream that stops without finish with an error event', async () => {
    const rendered = await render([{ type: 'response-start', id: 'msg_e', model: 'm' }, { type: 'text-start', id: 't' }])
    expect(wireEvents(rendered.text).at(-1)).toMatchObject({ event: 'error', data: { error: { type: 'api_error' } } })
  })
})
