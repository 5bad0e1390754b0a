import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { GatewayError, type StreamEvent } from '@switchyard/core'
import { parseResponsesRequest } from './responses.js'
import { parseResponsesStream, renderResponsesStream } from './responses-stream.js'

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const encoder = new TextEncoder()

/** A `.chunks.txt` file framed as the Responses API sends it; split into streams at each `response.created`. */
function chunkStreams(path: string): string[] {
  const streams: string[] = []
  for (const line of fixture(path).split('\n')) {
    if (line.trim() === '') continue
    const type = (JSON.parse(line) as { type: string }).type
    if (type === 'response.created' || streams.length === 0) streams.push('')
    streams[streams.length - 1] += `event: ${type}\ndata: ${line}\n\n`
  }
  return streams
}

const cassette = parseYaml(fixture('openai/responses-stream-function-call.cassette.yaml')) as { interactions: Array<{ response: { body: { string: string } } }> }
const reasoningStreams = chunkStreams('openai/responses-stream-reasoning-encrypted.chunks.txt')
const STREAMS: Record<string, string> = {
  'function call (raw SSE)': cassette.interactions[0]!.response.body.string,
  ...Object.fromEntries(reasoningStreams.map((text, index) => [`reasoning encrypted #${index + 1}`, text])),
  'azure text': chunkStreams('azure/responses-stream-text.chunks.txt')[0]!,
  error: chunkStreams('openai/responses-stream-error.chunks.txt')[0]!,
}

/** Seeded PRNG (mulberry32) so a failing split can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The bytes as a stream, cut at random points (or not at all without a seed). */
function bytes(text: string, seed?: number): ReadableStream<Uint8Array> {
  const all = encoder.encode(text)
  const chunks: Uint8Array[] = []
  if (seed === undefined) chunks.push(all)
  else {
    const next = random(seed)
    for (let at = 0; at < all.length;) {
      const size = 1 + Math.floor(next() * 40)
      chunks.push(all.slice(at, at + size))
      at += size
    }
  }
  return new ReadableStream({ pull(controller) { chunks.length ? controller.enqueue(chunks.shift()!) : controller.close() } })
}

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream as unknown as AsyncIterable<T>) out.push(item)
  return out
}

const decode = (text: string, seed?: number) => collect(parseResponsesStream(bytes(text, seed)))
const fromEvents = (events: StreamEvent[]) => new ReadableStream<StreamEvent>({ start(controller) { for (const event of events) controller.enqueue(event); controller.close() } })
async function render(events: StreamEvent[], request?: Parameters<typeof renderResponsesStream>[1]['request'], model = 'gw-model'): Promise<string> {
  const chunks = await collect(renderResponsesStream(fromEvents(events), { model, request }))
  return chunks.map((chunk) => new TextDecoder().decode(chunk)).join('')
}

/** The SSE frames of a rendered stream as `[event name, payload]`. */
function frames(text: string): Array<[string, Record<string, any>]> {
  return text.split('\n\n').filter(Boolean).map((frame) => {
    const [event, data, ...more] = frame.split('\n')
    expect(more).toEqual([])
    return [event!.replace(/^event: /, ''), JSON.parse(data!.replace(/^data: /, ''))]
  })
}

/** Text, reasoning and calls per block, in order, as one reads them from IR events. */
function summarize(events: StreamEvent[]) {
  const blocks = new Map<string, { kind: string; text: string; toolCallId?: string; name?: string; signature?: string }>()
  for (const event of events) {
    if (event.type === 'text-start') blocks.set(event.id, { kind: 'text', text: '' })
    if (event.type === 'reasoning-start') blocks.set(event.id, { kind: 'reasoning', text: '' })
    if (event.type === 'tool-call-start') blocks.set(event.id, { kind: 'tool', text: '', toolCallId: event.toolCallId, name: event.name })
    if (event.type === 'text-delta' || event.type === 'reasoning-delta') blocks.get(event.id)!.text += event.delta
    if (event.type === 'tool-call-delta') blocks.get(event.id)!.text += event.argumentsDelta
    if (event.type === 'reasoning-signature') blocks.get(event.id)!.signature = event.signature
  }
  const finish = events.find((event) => event.type === 'finish')
  return { blocks: [...blocks.entries()], finish }
}

/** Every block starts before its deltas and ends once; one terminal event, last. */
function expectWellFormed(events: StreamEvent[]) {
  expect(events[0]!.type).toBe('response-start')
  const terminal = events.filter((event) => event.type === 'finish' || event.type === 'error')
  expect(terminal).toHaveLength(1)
  expect(events.at(-1)).toBe(terminal[0])
  const open = new Set<string>()
  for (const event of events) {
    if (event.type.endsWith('-start') && event.type !== 'response-start') {
      expect(open.has((event as { id: string }).id)).toBe(false)
      open.add((event as { id: string }).id)
    } else if (event.type.endsWith('-delta') && event.type !== 'refusal-delta' || event.type === 'reasoning-signature') expect(open.has((event as { id: string }).id)).toBe(true)
    else if (event.type.endsWith('-end')) expect(open.delete((event as { id: string }).id)).toBe(true)
  }
  if (terminal[0]!.type === 'finish') expect(open.size).toBe(0)
}

describe('parseResponsesStream', () => {
  it.each(Object.keys(STREAMS))('decodes %s into well-formed IR events, identical under random re-chunking', async (name) => {
    const events = await decode(STREAMS[name]!)
    expectWellFormed(events)
    for (const seed of [1, 2, 3, 42, 1234]) expect(await decode(STREAMS[name]!, seed)).toEqual(events)
  })

  it('decodes a recorded function call with complete arguments, reasoning and usage', async () => {
    const events = await decode(STREAMS['function call (raw SSE)']!)
    const { blocks, finish } = summarize(events)
    expect(events[0]).toMatchObject({ type: 'response-start', id: 'resp_0050471a34b36ae60068c97b94a480819587a9d70cf2979b33', model: 'gpt-5-2025-08-07', created: 1758034836, extra: { service_tier: 'flex' } })
    const [[reasoningId, reasoning], [callId, call]] = blocks as [[string, any], [string, any]]
    expect(reasoningId).toMatch(/^rs_/)
    expect(reasoning.text).toBe('')
    expect(reasoning.signature).toMatch(/^gAAAAABoyXvx/) // from output_item.done, the complete one
    expect(callId).toBe('fc_0050471a34b36ae60068c97bf19d9c819590eaf42c0edc1042')
    expect(call).toMatchObject({ toolCallId: 'call_CWXgs68YprAjp6t0371hiPOI', name: 'final_result', text: '{"result":6666}' })
    expect(JSON.parse(call.text)).toEqual({ result: 6666 })
    expect(finish).toMatchObject({ finishReason: { unified: 'tool-calls', raw: 'completed' }, usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number), reasoningTokens: expect.any(Number) } })
  })

  it('decodes each step of a recorded tool loop', async () => {
    const steps = await Promise.all(reasoningStreams.map((text) => decode(text)))
    expect(steps).toHaveLength(4)
    const first = summarize(steps[0]!)
    expect(first.blocks.map(([, block]) => block.kind)).toEqual(['reasoning', 'tool'])
    expect(first.blocks[0]![1].text).toBe('**Calculating step-by-step using calculator**\n\nI\'ll compute 12 plus 7, then multiply the result by 3, and finally multiply that by 10, reporting the final product.')
    expect(first.blocks[0]![1].signature).toMatch(/^gAAAA/)
    expect(JSON.parse(first.blocks[1]![1].text)).toEqual({ a: 12, b: 7, op: 'add' })
    expect(summarize(steps[1]!).blocks.map(([, block]) => JSON.parse(block.text))).toEqual([{ a: 19, b: 3, op: 'multiply' }])
    const last = summarize(steps[3]!)
    expect(last.blocks).toEqual([['msg_01830d662ab3856501693c32183a488190a612c410a0a39823', { kind: 'text', text: 'The final result is **570**.' }]])
    expect(last.finish).toMatchObject({ finishReason: { unified: 'stop', raw: 'completed' } })
  })

  it('decodes an Azure text stream', async () => {
    const { blocks, finish } = summarize(await decode(STREAMS['azure text']!))
    expect(blocks.map(([, block]) => block.text)).toEqual(['Hello'])
    expect(finish).toMatchObject({ finishReason: { unified: 'stop' }, usage: { inputTokens: expect.any(Number) } })
  })

  it('turns an error event into one IR error with the upstream code', async () => {
    const events = await decode(STREAMS.error!)
    expect(events.map((event) => event.type)).toEqual(['response-start', 'error'])
    const { error } = events[1] as Extract<StreamEvent, { type: 'error' }>
    expect(GatewayError.is(error)).toBe(true)
    expect(error).toMatchObject({ status: 429, type: 'insufficient_quota', provider: 'openai' })
    expect(error.message).toContain('You exceeded your current quota')
  })

  it('reports response.failed without an error event, a bad chunk and a cut-off stream as errors', async () => {
    const created = STREAMS['azure text']!.split('\n\n')[0]! + '\n\n'
    const failed = `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', response: { id: 'resp_x', status: 'failed', output: [], error: { code: 'server_error', message: 'boom' } } })}\n\n`
    for (const [text, status] of [[created + failed, 500], [created + 'event: response.output_text.delta\ndata: {not json\n\n', 502], [created, 502]] as const) {
      const events = await decode(text)
      expect(events.map((event) => event.type)).toEqual(['response-start', 'error'])
      expect((events[1] as Extract<StreamEvent, { type: 'error' }>).error.status).toBe(status)
    }
  })

  it('ignores event types it does not know', async () => {
    const text = STREAMS['azure text']!.replace('event: response.output_item.added', 'event: response.web_search_call.searching\ndata: {"type":"response.web_search_call.searching","sequence_number":99}\n\nevent: response.output_item.added')
    expect(await decode(text)).toEqual(await decode(STREAMS['azure text']!))
  })
})

describe('renderResponsesStream', () => {
  it.each(Object.keys(STREAMS))('renders %s so that parsing it back gives the same events', async (name) => {
    const events = await decode(STREAMS[name]!)
    const rendered = await render(events, undefined, (events[0] as { model: string }).model)
    expect(rendered).not.toContain('[DONE]')
    const again = await decode(rendered)
    if (name === 'error') {
      expect(again.map((event) => event.type)).toEqual(['response-start', 'error'])
      expect((again[1] as Extract<StreamEvent, { type: 'error' }>).error).toMatchObject({ status: 429, type: 'insufficient_quota' })
    } else expect(again).toEqual(events)
  })

  const foreign: StreamEvent[] = [
    { type: 'response-start', id: 'msg_01abc', model: 'claude-x', created: 1700000000 },
    { type: 'reasoning-start', id: '0' },
    { type: 'reasoning-delta', id: '0', delta: 'Let me ' },
    { type: 'reasoning-delta', id: '0', delta: 'think.' },
    { type: 'reasoning-signature', id: '0', signature: 'sig-9' },
    { type: 'reasoning-end', id: '0' },
    { type: 'text-start', id: '1' },
    { type: 'text-delta', id: '1', delta: 'Hel' },
    { type: 'text-delta', id: '1', delta: 'lo' },
    { type: 'text-end', id: '1' },
    { type: 'tool-call-start', id: '2', toolCallId: 'toolu_1', name: 'get_weather' },
    { type: 'tool-call-delta', id: '2', argumentsDelta: '{"city":' },
    { type: 'tool-call-delta', id: '2', argumentsDelta: '"Paris"}' },
    { type: 'tool-call-end', id: '2' },
    { type: 'choice-end', choice: 0, finishReason: { unified: 'tool-calls', raw: 'tool_use' } },
    { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19 } },
  ]

  it('emits the exact OpenAI event sequence with growing sequence numbers', async () => {
    const request = parseResponsesRequest({ model: 'x', instructions: 'Be kind.', input: 'weather?', temperature: 0.3, tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }] }, 'claude-x')
    const rendered = await render(foreign, request)
    const parsed = frames(rendered)
    expect(parsed.map(([event]) => event)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
      'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ])
    parsed.forEach(([event, data], index) => expect(data).toMatchObject({ type: event, sequence_number: index }))
    const created = parsed[0]![1].response
    expect(created).toMatchObject({ id: 'resp_msg_01abc', object: 'response', status: 'in_progress', output: [], usage: null, instructions: 'Be kind.', temperature: 0.3, model: 'gw-model' })
    const final = parsed.at(-1)![1].response
    expect(final).toMatchObject({ id: 'resp_msg_01abc', status: 'completed', created_at: 1700000000, usage: { input_tokens: 12, output_tokens: 7, total_tokens: 19 }, instructions: 'Be kind.' })
    expect(final.output).toEqual([
      { id: 'rs_msg_01abc_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }], encrypted_content: 'sig-9' },
      { id: 'msg_msg_01abc_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Hello' }] },
      { id: 'fc_msg_01abc_2', type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}', call_id: 'toolu_1', name: 'get_weather' },
    ])
    // Each output_item.done carries the item exactly as the final response does.
    for (const [event, data] of parsed) if (event === 'response.output_item.done') expect(data.item).toEqual(final.output[data.output_index])
    const again = summarize(await decode(rendered))
    expect(again.blocks.map(([, block]) => block)).toEqual([
      { kind: 'reasoning', text: 'Let me think.', signature: 'sig-9' },
      { kind: 'text', text: 'Hello' },
      { kind: 'tool', text: '{"city":"Paris"}', toolCallId: 'toolu_1', name: 'get_weather' },
    ])
    expect(again.finish).toMatchObject({ finishReason: { unified: 'tool-calls' }, usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19 } })
  })

  it('renders a refusal as a refusal content part and a cut-off answer as response.incomplete', async () => {
    const parsed = frames(await render([
      { type: 'response-start', id: 'x', model: 'm' },
      { type: 'refusal-delta', id: 'r', delta: 'I can' },
      { type: 'refusal-delta', id: 'r', delta: 'not.' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Partial' },
      { type: 'finish', finishReason: { unified: 'length', raw: 'length' }, usage: undefined },
    ]))
    expect(parsed.map(([event]) => event)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.refusal.delta', 'response.refusal.delta',
      'response.refusal.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.incomplete',
    ])
    expect(parsed[6]![1]).toMatchObject({ refusal: 'I cannot.' })
    expect(parsed.at(-1)![1].response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: null })
    expect(parsed.at(-1)![1].response.output[0].content).toEqual([{ type: 'refusal', refusal: 'I cannot.' }])
  })

  it('renders an IR error as an error event and response.failed', async () => {
    const error = new GatewayError({ status: 429, code: 'rate_limit', type: 'rate_limit_exceeded', message: '[anthropic] slow down' })
    const parsed = frames(await render([
      { type: 'response-start', id: 'x', model: 'm' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hi' },
      { type: 'error', error },
    ]))
    expect(parsed.slice(-2).map(([event]) => event)).toEqual(['error', 'response.failed'])
    expect(parsed.at(-2)![1]).toMatchObject({ type: 'error', code: 'rate_limit_exceeded', message: '[anthropic] slow down', error: { code: 'rate_limit_exceeded' } })
    expect(parsed.at(-1)![1].response).toMatchObject({ status: 'failed', error: { code: 'rate_limit_exceeded', message: '[anthropic] slow down' } })
  })

  it('fails the response when the IR stream ends without finish', async () => {
    const parsed = frames(await render([{ type: 'response-start', id: 'x', model: 'm' }, { type: 'text-start', id: 't' }]))
    expect(parsed.slice(-2).map(([event]) => event)).toEqual(['error', 'response.failed'])
  })
})
