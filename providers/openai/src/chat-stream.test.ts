import { readFileSync } from 'node:fs'
import { GatewayError, type StreamEvent } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseChatStream, renderChatStream } from './chat-stream.js'

type Json = Record<string, any>

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
/** `.chunks.txt` -> the SSE body OpenAI-style providers send (README: `data: <line>\n\n`, then `[DONE]`). */
const sseOfChunks = (path: string) => fixture(path).split('\n').filter((line) => line.trim() !== '').map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n'
/** Raw SSE bodies of the streamed interactions of a cassette (go-vcr string body or VCR.py `body.string`). */
const sseOfCassette = (path: string): string[] =>
  (parseYaml(fixture(path)).interactions as Json[])
    .map((interaction) => (typeof interaction.response.body === 'string' ? interaction.response.body : interaction.response.body?.string))
    .filter((body): body is string => typeof body === 'string' && body.startsWith('data:'))

const STREAMS: Array<[string, string]> = [
  ...['openai/chat-stream-text.chunks.txt', 'mistral/chat-stream-text.chunks.txt', 'mistral/chat-stream-tool-call.chunks.txt',
    'mistral/chat-stream-tool-call-incremental.chunks.txt', 'groq/chat-stream-tool-call.chunks.txt', 'xai/chat-stream-tool-call.chunks.txt',
    'deepseek/chat-stream-tool-call.chunks.txt'].map((path): [string, string] => [path, sseOfChunks(path)]),
  ...['openai/chat-stream-tool-call.cassette.yaml', 'openai/chat-stream-parallel-tool-calls.cassette.yaml', 'openai/chat-stream-usage-reasoning-tokens.cassette.yaml',
    'mistral/chat-stream-thinking.cassette.yaml', 'groq/chat-stream-error-tool-use-failed.cassette.yaml']
    .flatMap((path) => sseOfCassette(path).map((body, index): [string, string] => [`${path}#${index}`, body])),
]
const OK_STREAMS = STREAMS.filter(([name]) => name !== 'groq/chat-stream-error-tool-use-failed.cassette.yaml#0')

const encoder = new TextEncoder()
const streamOf = <T>(items: T[]) => new ReadableStream<T>({ start(controller) { for (const item of items) controller.enqueue(item); controller.close() } })
async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.push(value)
  }
}
const decode = (text: string) => collect(parseChatStream(streamOf([encoder.encode(text)])))

/** Splits bytes at random points (seeded, so failures reproduce), also inside UTF-8 sequences and CRLFs. */
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

/** What a client would assemble from the events. */
function assemble(events: StreamEvent[]) {
  const text: Record<number, string> = {}
  const reasoning: Record<number, string> = {}
  const calls: Record<string, { choice: number; toolCallId: string; name: string; arguments: string }> = {}
  const choiceEnds: Record<number, unknown> = {}
  for (const event of events) {
    if (event.type === 'text-delta') text[event.choice ?? 0] = (text[event.choice ?? 0] ?? '') + event.delta
    if (event.type === 'reasoning-delta') reasoning[event.choice ?? 0] = (reasoning[event.choice ?? 0] ?? '') + event.delta
    if (event.type === 'tool-call-start') calls[event.id] = { choice: event.choice ?? 0, toolCallId: event.toolCallId, name: event.name, arguments: '' }
    if (event.type === 'tool-call-delta') calls[event.id]!.arguments += event.argumentsDelta
    if (event.type === 'choice-end') choiceEnds[event.choice] = event.finishReason
  }
  return { text, reasoning, calls: Object.values(calls), choiceEnds, finish: events.find((event) => event.type === 'finish') }
}

/** The same facts read straight from the wire chunks, as an independent check. */
function expectedFromWire(sse: string) {
  const chunks = sse.split('\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice(6)) as Json)
  let text = ''
  let reasoning = ''
  let args = ''
  let finishReason: string | undefined
  let usage: Json | undefined
  for (const chunk of chunks) {
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {}
      if (typeof delta.content === 'string') text += delta.content
      for (const item of Array.isArray(delta.content) ? delta.content : []) {
        if (item.type === 'text') text += item.text
        for (const inner of item.thinking ?? []) reasoning += inner.text
      }
      reasoning += delta.reasoning_content ?? delta.reasoning ?? ''
      for (const call of delta.tool_calls ?? []) args += call.function?.arguments ?? ''
      finishReason = choice.finish_reason ?? finishReason
    }
    usage = chunk.usage ?? usage
  }
  return { text, reasoning, args, finishReason, usage }
}

/** Structural rules every decoded stream obeys. */
function expectWellFormed(events: StreamEvent[]) {
  expect(events[0]!.type).toBe('response-start')
  const last = events.at(-1)!
  expect(['finish', 'error']).toContain(last.type)
  expect(events.filter((event) => event.type === 'finish' || event.type === 'error')).toHaveLength(1)
  const open = new Set<string>()
  const ended = new Set<number>()
  for (const event of events) {
    if (event.type.endsWith('-start') && event.type !== 'response-start') {
      expect(open.has((event as { id: string }).id)).toBe(false)
      open.add((event as { id: string }).id)
    } else if (event.type === 'text-delta' || event.type === 'reasoning-delta' || event.type === 'tool-call-delta') {
      expect(open.has(event.id)).toBe(true)
    } else if (event.type.endsWith('-end') && event.type !== 'choice-end') {
      expect(open.delete((event as { id: string }).id)).toBe(true)
    } else if (event.type === 'choice-end') {
      expect([...open].filter((id) => id.startsWith(`${event.choice}:`))).toEqual([])
      expect(ended.has(event.choice)).toBe(false)
      ended.add(event.choice)
    }
  }
}

describe('parseChatStream', () => {
  it.each(OK_STREAMS)('%s decodes: one finish, last, with the content on the wire', async (_name, sse) => {
    const events = await decode(sse)
    expectWellFormed(events)
    expect(events.at(-1)!.type).toBe('finish')
    const got = assemble(events)
    const wire = expectedFromWire(sse)
    expect(got.text[0] ?? '').toBe(wire.text)
    expect(got.reasoning[0] ?? '').toBe(wire.reasoning)
    expect(got.calls.map((call) => call.arguments).join('')).toBe(wire.args)
    const finish = got.finish as Extract<StreamEvent, { type: 'finish' }>
    expect(finish.finishReason.raw).toBe(wire.finishReason)
    expect(finish.usage?.inputTokens).toBe(wire.usage?.prompt_tokens)
    expect(finish.usage?.outputTokens).toBe(wire.usage?.completion_tokens)
    expect(finish.usage?.cachedInputTokens).toBe(wire.usage?.prompt_tokens_details?.cached_tokens)
    expect(finish.usage?.reasoningTokens).toBe(wire.usage?.completion_tokens_details?.reasoning_tokens)
  })

  it.each(STREAMS)('%s gives identical events however the bytes are split', async (_name, sse) => {
    const whole = await decode(sse)
    const bytes = encoder.encode(sse)
    for (const seed of [1, 7, 42, 1234, 99991]) {
      expect(await collect(parseChatStream(streamOf(rechunk(bytes, seed))))).toEqual(whole)
    }
    // CRLF framing is SSE too.
    expect(await decode(sse.replaceAll('\n', '\r\n'))).toEqual(whole)
  })

  it('reads parallel tool calls by index, and a whole Mistral call without index', async () => {
    // The first streamed interaction of this cassette is the parallel one.
    const parallel = assemble(await decode(sseOfCassette('openai/chat-stream-parallel-tool-calls.cassette.yaml')[0]!))
    expect(parallel.calls).toEqual([
      { choice: 0, toolCallId: 'call_fc0SDU3fpyNWhrPIoQKrxefP', name: 'get_country', arguments: '{}' },
      { choice: 0, toolCallId: 'call_QrIV88ppSKBV3sdKw9Dkr9L5', name: 'get_product_name', arguments: '{}' },
    ])
    const mistral = assemble(await decode(sseOfChunks('mistral/chat-stream-tool-call.chunks.txt')))
    expect(mistral.calls).toEqual([{ choice: 0, toolCallId: 'gSIMJiOkT', name: 'weather', arguments: '{"location": "San Francisco"}' }])
    // Incremental: id and name first, then arguments with an empty name.
    const incremental = assemble(await decode(sseOfChunks('mistral/chat-stream-tool-call-incremental.chunks.txt')))
    expect(incremental.calls).toEqual([{ choice: 0, toolCallId: 'chatcmpl-tool-9f149c74c42f265b', name: 'webSearchTool', arguments: '{"query": "current Berlin weather"}' }])
  })

  it('tells calls apart by id when indices are missing or reused', async () => {
    const chunk = (delta: Json, finish: string | null = null) => `data: ${JSON.stringify({ id: 'x', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
    const events = await decode(
      chunk({ tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{"x":1}' } }, { id: 'b', function: { name: 'g', arguments: '{}' } }] }) +
      chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'h', arguments: '' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '[' } }] }) +
      chunk({ tool_calls: [{ index: 0, id: 'd', function: { name: 'k', arguments: ']' } }] }, 'tool_calls'),
    )
    expectWellFormed(events)
    expect(assemble(events).calls.map((call) => [call.toolCallId, call.name, call.arguments])).toEqual([['a', 'f', '{"x":1}'], ['b', 'g', '{}'], ['c', 'h', '['], ['d', 'k', ']']])
  })

  it('closes reasoning before text and blocks before choice-end, per choice', async () => {
    const chunk = (index: number, delta: Json, finish: string | null = null) => `data: ${JSON.stringify({ id: 'x', model: 'm', created: 1, choices: [{ index, delta, finish_reason: finish }] })}\n\n`
    const events = await decode(chunk(0, { reasoning_content: 'r' }) + chunk(1, { content: 'b' }) + chunk(0, { content: 'a' }) + chunk(1, { refusal: 'no' }) + chunk(1, {}, 'content_filter') + chunk(0, {}, 'stop') + 'data: [DONE]\n\n')
    expectWellFormed(events)
    expect(events.map((event) => `${event.type}${'id' in event ? `(${event.id})` : ''}`)).toEqual([
      'response-start(x)', 'reasoning-start(0:reasoning:0)', 'reasoning-delta(0:reasoning:0)', 'text-start(1:text:0)', 'text-delta(1:text:0)',
      'reasoning-end(0:reasoning:0)', 'text-start(0:text:1)', 'text-delta(0:text:1)', 'refusal-delta(1:refusal)', 'text-end(1:text:0)', 'choice-end',
      'text-end(0:text:1)', 'choice-end', 'finish',
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: undefined })
  })

  it('maps an unknown finish reason to other and keeps raw', async () => {
    const events = await decode(`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"eos"}]}\n\ndata: [DONE]\n\n`)
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'other', raw: 'eos' } })
  })

  it('ends a stream without [DONE] or finish_reason with one finish (other)', async () => {
    const events = await decode(`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n`)
    expect(events.map((event) => event.type)).toEqual(['response-start', 'text-start', 'text-delta', 'text-end', 'choice-end', 'finish'])
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'other', raw: undefined }, usage: undefined })
  })

  it('turns the Groq mid-stream error event into one error with the upstream status, and no finish', async () => {
    const events = await decode(sseOfCassette('groq/chat-stream-error-tool-use-failed.cassette.yaml')[0]!)
    expectWellFormed(events)
    const last = events.at(-1) as Extract<StreamEvent, { type: 'error' }>
    expect(last.type).toBe('error')
    expect(GatewayError.is(last.error)).toBe(true)
    expect(last.error).toMatchObject({ status: 400, type: 'tool_use_failed', retryable: false })
    expect(last.error.message).toContain('Tool call validation failed')
  })

  const first = 'data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
  const after = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"never"}}]}\n\ndata: [DONE]\n\n'
  it.each([
    ['unparseable JSON', `${first}data: {"id":"x","choices":[\n\n${after}`, 502],
    ['a JSON array', `${first}data: [1]\n\n${after}`, 502],
    ['an error payload without status', `${first}data: {"error":{"message":"overloaded","type":"server_error"}}\n\n${after}`, 502],
    ['an error payload with status', `${first}data: {"error":{"message":"slow down","code":429}}\n\n${after}`, 429],
    ['an error event', `${first}event: error\ndata: {"message":"gone"}\n\n${after}`, 502],
    ['an empty body', '', 502],
    ['a body with only [DONE]', 'data: [DONE]\n\n', 502],
  ])('turns %s into an error event and stops', async (_name, body, status) => {
    const events = await decode(body)
    const last = events.at(-1) as Extract<StreamEvent, { type: 'error' }>
    expect(last.type).toBe('error')
    expect(last.error.status).toBe(status)
    expect(events.some((event) => event.type === 'finish' || (event.type === 'text-delta' && event.delta === 'never'))).toBe(false)
  })
})

describe('renderChatStream', () => {
  const render = async (events: StreamEvent[], includeUsage = true) =>
    new TextDecoder().decode(Buffer.concat(await collect(renderChatStream(streamOf(events), { model: 'alias', includeUsage }))))
  const payloads = (sse: string) => sse.split('\n\n').filter(Boolean).map((frame) => {
    expect(frame.startsWith('data: ')).toBe(true)
    return frame.slice(6) === '[DONE]' ? '[DONE]' : JSON.parse(frame.slice(6))
  })

  it.each(OK_STREAMS)('%s: rendered and parsed again gives the same events', async (_name, sse) => {
    const events = await decode(sse)
    const start = events[0] as Extract<StreamEvent, { type: 'response-start' }>
    const rendered = renderChatStream(streamOf(events), { model: start.model, includeUsage: true })
    expect(await collect(parseChatStream(rendered))).toEqual(events)
  })

  it('writes chunks as OpenAI does: role first, tool indices per choice, finish, usage, [DONE]', async () => {
    const sse = await render([
      { type: 'response-start', id: 'msg_1', model: 'claude', created: 7 },
      { type: 'reasoning-start', id: 'r' }, { type: 'reasoning-delta', id: 'r', delta: 'hm' }, { type: 'reasoning-signature', id: 'r', signature: 's' }, { type: 'reasoning-end', id: 'r' },
      { type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'Hi' }, { type: 'text-delta', id: 't', delta: ' there' }, { type: 'text-end', id: 't' },
      { type: 'tool-call-start', id: 'a', toolCallId: 'toolu_1', name: 'f' }, { type: 'tool-call-delta', id: 'a', argumentsDelta: '{"x"' }, { type: 'tool-call-delta', id: 'a', argumentsDelta: ':1}' }, { type: 'tool-call-end', id: 'a' },
      { type: 'tool-call-start', id: 'b', toolCallId: 'toolu_2', name: 'g', choice: 1 }, { type: 'tool-call-end', id: 'b', choice: 1 },
      { type: 'choice-end', choice: 1, finishReason: { unified: 'tool-calls', raw: 'tool_use' } },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'tool-calls', raw: 'tool_use' } },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 2 } },
    ])
    const head = { id: 'msg_1', object: 'chat.completion.chunk', created: 7, model: 'alias' }
    const chunk = (index: number, delta: Json, finish: string | null = null) => ({ ...head, choices: [{ index, delta, logprobs: null, finish_reason: finish }], usage: null })
    expect(payloads(sse)).toEqual([
      chunk(0, { role: 'assistant', content: '', refusal: null }),
      chunk(0, { reasoning_content: 'hm' }),
      chunk(0, { content: 'Hi' }),
      chunk(0, { content: ' there' }),
      chunk(0, { tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk(0, { tool_calls: [{ index: 0, function: { arguments: '{"x"' } }] }),
      chunk(0, { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
      chunk(1, { role: 'assistant', content: '', refusal: null }),
      chunk(1, { tool_calls: [{ index: 0, id: 'toolu_2', type: 'function', function: { name: 'g', arguments: '' } }] }),
      chunk(1, {}, 'tool_calls'),
      // Signed reasoning goes out once, whole, before its choice's finish chunk.
      chunk(0, { reasoning_details: [{ type: 'reasoning.text', text: 'hm', signature: 's', index: 0 }] }),
      chunk(0, {}, 'tool_calls'),
      { ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } } },
      '[DONE]',
    ])
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('leaves usage out unless asked, and still finishes a stream without choice-end', async () => {
    const sse = await render([{ type: 'response-start', id: 'x', model: 'm' }, { type: 'finish', finishReason: { unified: 'other', raw: 'weird' }, usage: { inputTokens: 1, outputTokens: 1 } }], false)
    expect(payloads(sse)).toEqual([
      { id: 'x', object: 'chat.completion.chunk', created: 0, model: 'alias', choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] },
      { id: 'x', object: 'chat.completion.chunk', created: 0, model: 'alias', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
      '[DONE]',
    ])
  })

  it('renders an error event as an OpenAI error payload and ends without [DONE]', async () => {
    const error = new GatewayError({ status: 429, code: 'rate_limit', message: '[anthropic] overloaded', type: 'rate_limit_error' })
    const sse = await render([
      { type: 'response-start', id: 'x', model: 'm' }, { type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'a' },
      { type: 'error', error }, { type: 'text-delta', id: 't', delta: 'late' },
    ])
    const frames = payloads(sse)
    expect(frames.at(-1)).toEqual({ error: { message: '[anthropic] overloaded', type: 'rate_limit_error', param: null, code: null } })
    expect(frames).toHaveLength(3)
    expect(sse).not.toContain('[DONE]')
  })

  it('reports an event stream that ends without finish as an error', async () => {
    const frames = payloads(await render([{ type: 'response-start', id: 'x', model: 'm' }]))
    expect(frames.at(-1)).toMatchObject({ error: { type: 'api_error' } })
  })
})
