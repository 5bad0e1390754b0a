import { describe, expect, it } from 'vitest'
import { GatewayError, type StreamEvent } from '@switchyard/core'
import { collectEvents } from '@switchyard/core/testing'
import { bytes, cassetteBody, chunksSse, frame, recordingSse } from '../test/fixtures.js'
import { parseGenerateContentStream, renderGenerateContentStream } from './stream.js'

const body = (data: Uint8Array) => new ReadableStream<Uint8Array>({ start: (controller) => (controller.enqueue(data), controller.close()) })
const events = (data: Uint8Array) => collectEvents(parseGenerateContentStream(body(data))) as Promise<StreamEvent[]>
const fromList = (list: StreamEvent[]) => new ReadableStream<StreamEvent>({ start: (controller) => (list.forEach((event) => controller.enqueue(event)), controller.close()) })
const text = async (stream: ReadableStream<Uint8Array>) => new TextDecoder().decode(new Uint8Array(await new Response(stream).arrayBuffer()))
const types = (list: StreamEvent[]) => list.map((event) => event.type)

describe('parseGenerateContentStream', () => {
  it('reads text deltas, a trailing signature and the last usage (recorded chunks)', async () => {
    const list = await events(chunksSse('generate-content-stream-text.chunks.txt'))
    expect(types(list)).toEqual(['response-start', 'text-start', 'text-delta', 'text-delta', 'text-end', 'reasoning-start', 'reasoning-signature', 'reasoning-end', 'choice-end', 'usage', 'finish'])
    expect(list[0]).toEqual({ type: 'response-start', id: 'bH6LaZW8Fp_3nsEPqtaSwQ4', model: 'gemini-3-pro-preview', dialect: 'gemini' })
    expect(list.at(-1)).toMatchObject({ finishReason: { unified: 'stop', raw: 'STOP' }, usage: { inputTokens: 9, outputTokens: 208, totalTokens: 217, reasoningTokens: 185 } })
  })

  it('reads a whole function call as one tool-call block, finishing with tool-calls (recorded chunks)', async () => {
    const list = await events(chunksSse('generate-content-stream-tool-call.chunks.txt'))
    expect(list.filter((event) => event.type.startsWith('tool-call'))).toEqual([
      { type: 'tool-call-start', id: '0:tool:1', toolCallId: 'call_0_weather', name: 'weather' },
      { type: 'tool-call-delta', id: '0:tool:1', argumentsDelta: '{"location":"San Francisco"}' },
      { type: 'tool-call-end', id: '0:tool:1' },
    ])
    expect(list.find((event) => event.type === 'reasoning-signature')).toMatchObject({ id: '0:reasoning:0', signature: expect.stringMatching(/^EqUCCqIC/) })
    expect(list.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'tool-calls', raw: 'STOP' } })
  })

  it('streams thought summaries as one reasoning block, then the signed answer (raw SSE cassette)', async () => {
    const list = await events(bytes(cassetteBody('generate-content-stream-thinking.cassette.yaml')))
    const blocks = list.filter((event) => event.type.endsWith('-start') && event.type !== 'response-start').map((event) => (event as { id: string }).id)
    expect(blocks).toEqual(['0:reasoning:0', '0:reasoning:1', '0:text:2'])
    expect(list.filter((event) => event.type === 'reasoning-delta' && event.id === '0:reasoning:0')).toHaveLength(4)
    expect(list.find((event) => event.type === 'reasoning-signature')).toMatchObject({ id: '0:reasoning:1' })
    // 469 candidate tokens + 787 thinking tokens.
    expect(list.at(-1)).toMatchObject({ usage: { inputTokens: 34, outputTokens: 1256, reasoningTokens: 787, totalTokens: 1290 } })
  })

  it('reads several candidates, ending each, and finishes with the first one\'s reason', async () => {
    const list = await events(frame([
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'A' }] }, index: 0 }, { content: { parts: [{ text: 'B' }] }, index: 1 }] }),
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'B2' }] }, finishReason: 'MAX_TOKENS', index: 1 }] }),
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'A2' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 } }),
    ]))
    expect(list.filter((event) => event.type === 'text-delta')).toEqual([
      { type: 'text-delta', id: '0:text:0', delta: 'A' }, { type: 'text-delta', id: '1:text:0', delta: 'B', choice: 1 },
      { type: 'text-delta', id: '1:text:0', delta: 'B2', choice: 1 }, { type: 'text-delta', id: '0:text:0', delta: 'A2' },
    ])
    expect(list.filter((event) => event.type === 'choice-end')).toEqual([
      { type: 'choice-end', choice: 1, finishReason: { unified: 'length', raw: 'MAX_TOKENS' } },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'stop', raw: 'STOP' } },
    ])
    expect(list.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'stop' } })
  })

  it('ends a blocked prompt with content-filter', async () => {
    const list = await events(frame([JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5 } })]))
    expect(list.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'content-filter', raw: 'SAFETY' }, usage: { inputTokens: 5, outputTokens: undefined } })
  })

  it('turns an error event, bad JSON or an empty body into one error event', async () => {
    const failed = await events(frame([JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Hi' }] } }] }), '{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}']))
    expect(failed.at(-1)).toEqual({ type: 'error', status: 429, message: '[gemini] Resource has been exhausted' })
    expect((await events(frame(['{not json']))).map((event) => event.type)).toEqual(['error'])
    expect(await events(new Uint8Array())).toEqual([{ type: 'error', status: 502, message: '[gemini] malformed stream event from upstream: the stream ended before any event' }])
  })
})

describe('renderGenerateContentStream', () => {
  const fixtures = {
    'text (chunks)': () => chunksSse('generate-content-stream-text.chunks.txt'),
    'function call (chunks)': () => chunksSse('generate-content-stream-tool-call.chunks.txt'),
    'thinking (cassette)': () => bytes(cassetteBody('generate-content-stream-thinking.cassette.yaml')),
    'MAX_TOKENS (recording)': () => recordingSse('generate-content-stream.recording.json'),
  }
  for (const [name, load] of Object.entries(fixtures)) {
    it(`renders what it parsed so that it parses the same again: ${name}`, async () => {
      const parsed = await events(load())
      const model = (parsed[0] as { model: string }).model
      const rendered = await text(renderGenerateContentStream(fromList(parsed), { model }))
      expect(rendered.endsWith('\r\n\r\n')).toBe(true)
      expect(await events(bytes(rendered))).toEqual(parsed)
    })
  }

  it('renders IR events of another dialect (Anthropic-style thinking, streamed tool arguments)', async () => {
    const rendered = await text(renderGenerateContentStream(fromList([
      { type: 'response-start', id: 'msg_1', model: 'claude', dialect: 'anthropic' },
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 1, extra: { service_tier: 'standard' } } },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'Let me think.' },
      { type: 'reasoning-signature', id: 'r', signature: 'sig' },
      { type: 'reasoning-end', id: 'r' },
      { type: 'tool-call-start', id: 't', toolCallId: 'toolu_1', name: 'f' },
      { type: 'tool-call-delta', id: 't', argumentsDelta: '{"a":' },
      { type: 'tool-call-delta', id: 't', argumentsDelta: '1}' },
      { type: 'tool-call-end', id: 't' },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'tool-calls', raw: 'tool_use' } },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: { inputTokens: 12, outputTokens: 30, extra: { service_tier: 'standard' } } },
    ]), { model: 'anthropic/claude' }))
    const chunks = rendered.split('\r\n\r\n').filter(Boolean).map((line) => JSON.parse(line.slice('data: '.length)))
    expect(chunks.map((chunk) => chunk.candidates[0])).toEqual([
      { content: { parts: [{ text: 'Let me think.', thought: true }], role: 'model' }, index: 0 },
      { content: { parts: [{ text: '', thought: true, thoughtSignature: 'sig' }], role: 'model' }, index: 0 },
      { content: { parts: [{ functionCall: { name: 'f', args: { a: 1 }, id: 'toolu_1' } }], role: 'model' }, index: 0 },
      { content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 },
    ])
    // Anthropic's usage extras stay off the Gemini wire.
    expect(chunks.at(-1)).toMatchObject({ usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 30, totalTokenCount: 42 }, modelVersion: 'anthropic/claude', responseId: 'msg_1' })
    expect(JSON.stringify(chunks)).not.toContain('service_tier')
  })

  it('renders an error event in Gemini\'s shape and stops; a stream without finish ends in an error', async () => {
    const error = new GatewayError({ status: 429, code: 'rate_limit', message: 'slow down' })
    const rendered = await text(renderGenerateContentStream(fromList([{ type: 'response-start', id: 'x', model: 'm' }, { type: 'text-delta', id: 't', delta: 'Hi' }, { type: 'error', error }]), { model: 'm' }))
    expect(rendered.split('\r\n\r\n').filter(Boolean).at(-1)).toBe('data: {"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}')
    const cut = await text(renderGenerateContentStream(fromList([{ type: 'text-delta', id: 't', delta: 'Hi' }]), { model: 'm' }))
    expect(cut).toContain('"status":"INTERNAL"')
  })
})
