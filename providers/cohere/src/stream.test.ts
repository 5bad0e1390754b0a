import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { collectEvents } from '@switchyard/core/testing'
import { parseCohereStream } from './stream.js'

const lines = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8').split('\n').filter(Boolean)
const sse = (payloads: string[]) => new Response(payloads.map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join('')).body!
const decode = async (payloads: string[]) => (await collectEvents(parseCohereStream(sse(payloads)))) as Array<Record<string, any>>

describe('parseCohereStream', () => {
  it('text: one text block, then choice-end, usage and finish from message-end', async () => {
    const events = await decode(lines('cohere/chat-stream-text.chunks.txt'))
    expect(events[0]).toEqual({ type: 'response-start', id: '321d178c-2c12-44d3-ae42-2f5510f6b1cc', model: '', dialect: 'cohere' })
    expect(events[1]).toEqual({ type: 'text-start', id: '0:text:0' })
    expect(events.filter((event) => event.type === 'text-delta').map((event) => event.delta).join('')).toBe('The capital of France is Paris.')
    expect(events.slice(-4)).toEqual([
      { type: 'text-end', id: '0:text:0' },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'stop', raw: 'COMPLETE' } },
      { type: 'usage', usage: { inputTokens: 507, outputTokens: 10, totalTokens: 517, cachedInputTokens: 448, extra: { billed_units: { input_tokens: 12, output_tokens: 7 } } } },
      { type: 'finish', finishReason: { unified: 'stop', raw: 'COMPLETE' }, usage: { inputTokens: 507, outputTokens: 10, totalTokens: 517, cachedInputTokens: 448, extra: { billed_units: { input_tokens: 12, output_tokens: 7 } } } },
    ])
  })

  it('tool plan as text, then two tool calls with their argument pieces', async () => {
    const events = await decode(lines('cohere/chat-stream-tool-calls.chunks.txt'))
    const types = events.map((event) => event.type).filter((type) => !type.endsWith('-delta'))
    expect(types).toEqual(['response-start', 'text-start', 'text-end', 'tool-call-start', 'tool-call-end', 'tool-call-start', 'tool-call-end', 'choice-end', 'usage', 'finish'])
    expect(events.filter((event) => event.type === 'text-delta').map((event) => event.delta).join('')).toBe('I will use the weather tool to find the weather in San Francisco and the cityAttractions tool to find attractions in San Francisco.')
    const starts = events.filter((event) => event.type === 'tool-call-start')
    expect(starts).toEqual([
      { type: 'tool-call-start', id: '0:tool:1', toolCallId: 'weather_e8p4pn45zt0t', name: 'weather' },
      { type: 'tool-call-start', id: '0:tool:2', toolCallId: 'cityAttractions_pyxssbwnq9fq', name: 'cityAttractions' },
    ])
    const args = (id: string) => events.filter((event) => event.type === 'tool-call-delta' && event.id === id).map((event) => event.argumentsDelta).join('')
    expect(JSON.parse(args('0:tool:1'))).toEqual({ location: 'San Francisco' })
    expect(JSON.parse(args('0:tool:2'))).toEqual({ city: 'San Francisco' })
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'tool-calls', raw: 'TOOL_CALL' }, usage: { cachedInputTokens: 1504 } })
  })

  it('thinking as a reasoning block before the text', async () => {
    const events = await decode(lines('cohere/chat-stream-reasoning.chunks.txt'))
    expect(events.map((event) => event.type).filter((type) => type.endsWith('-start') || type.endsWith('-end'))).toEqual(['response-start', 'reasoning-start', 'reasoning-end', 'text-start', 'text-end', 'choice-end'])
    expect(events.filter((event) => event.type === 'reasoning-delta').length).toBeGreaterThan(3)
  })

  it('skips citation and unknown events; a stream cut before message-end still finishes once', async () => {
    const payloads = lines('cohere/chat-stream-text.chunks.txt')
    const cut = [payloads[0]!, JSON.stringify({ type: 'citation-start', index: 0, delta: { message: { citations: { start: 0, end: 3 } } } }), JSON.stringify({ type: 'debug' }), ...payloads.slice(1, 4)]
    const events = await decode(cut)
    expect(events.filter((event) => event.type === 'finish')).toEqual([{ type: 'finish', finishReason: { unified: 'other', raw: undefined }, usage: undefined }])
    expect(events.at(-1)!.type).toBe('finish')
  })

  it('a payload that is not JSON is one error event', async () => {
    const events = await collectEvents(parseCohereStream(new Response('event: message-start\ndata: {"type":"message-start","id":"x"}\n\nevent: content-delta\ndata: {oops\n\n').body!))
    expect(events.at(-1)).toMatchObject({ type: 'error', status: 502 })
    expect(events.some((event) => (event as { type: string }).type === 'finish')).toBe(false)
  })
})
