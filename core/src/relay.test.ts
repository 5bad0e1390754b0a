import { describe, expect, it } from 'vitest'
import { createRelayStep, relayStream } from './relay.js'
import type { Usage } from './ir/usage.js'

const encoder = new TextEncoder()
const streamOf = (chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      controller.close()
    },
  })
const readAll = async (stream: ReadableStream<Uint8Array>) => {
  const decoder = new TextDecoder()
  const chunks: string[] = []
  for await (const chunk of stream) chunks.push(decoder.decode(chunk))
  return chunks
}
const usageFrom = (data: string): Usage | undefined => {
  if (!data.includes('"usage":{')) return undefined
  const json = JSON.parse(data)
  return { inputTokens: json.usage.prompt_tokens, outputTokens: json.usage.completion_tokens }
}
const frames = [
  'data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\n',
  'data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
  'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n',
  'data: [DONE]\n\n',
]

describe('relayStream', () => {
  it('returns the body itself when nothing is observed', () => {
    const body = streamOf(frames)
    expect(relayStream(body, { strip: undefined, usageFrom: undefined, onEvent: undefined }).stream).toBe(body)
  })

  it('relays chunks unchanged and reads usage from the tail', async () => {
    const relay = relayStream(streamOf(frames), { strip: undefined, usageFrom, onEvent: undefined })
    expect(await readAll(relay.stream)).toEqual(frames)
    expect(relay.usage()).toEqual({ inputTokens: 3, outputTokens: 1 })
  })

  it('strips the usage-only frame, keeps every other byte, whatever the chunking', async () => {
    const text = frames.join('')
    const expected = frames[0]! + frames[1]! + frames[3]!
    for (let size = 1; size < 40; size += 3) {
      const chunks: string[] = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
      const relay = relayStream(streamOf(chunks), { strip: (data) => data.includes('"choices":[]'), usageFrom, onEvent: undefined })
      expect((await readAll(relay.stream)).join('')).toBe(expected)
      expect(relay.usage()).toEqual({ inputTokens: 3, outputTokens: 1 })
    }
  })

  it('forwards a frame as soon as it is complete (no coalescing across frames)', async () => {
    const relay = relayStream(streamOf(frames), { strip: () => false, usageFrom: undefined, onEvent: undefined })
    expect(await readAll(relay.stream)).toEqual(frames)
  })

  it('sends a chunk whose frames are all kept as the same bytes (no decode-encode round trip)', () => {
    const step = createRelayStep({ strip: (data) => data.includes('"choices":[]'), usageFrom, onEvent: undefined })!
    const chunk = encoder.encode(frames[0]! + frames[1]!)
    expect(step.transform(chunk)).toBe(chunk)
    expect(step.transform(encoder.encode(frames[2]!))).toBeUndefined()
    const last = encoder.encode(frames[3]!)
    expect(step.transform(last)).toBe(last)
    expect(step.flush()).toBeUndefined()
    expect(step.usage()).toEqual({ inputTokens: 3, outputTokens: 1 })
  })

  it('strips with CRLF and CR line ends and multi-byte text, whatever the chunking', async () => {
    const crlf = frames.map((frame) => frame.replace(/\n/g, '\r\n').replace('Hi', 'Hé ✓'))
    const cr = frames.map((frame) => frame.replace(/\n/g, '\r').replace('Hi', 'Grüße'))
    for (const variant of [crlf, cr]) {
      const bytes = encoder.encode(variant.join(''))
      const expected = variant[0]! + variant[1]! + variant[3]!
      for (let size = 1; size < 40; size += 5) {
        const chunks: Uint8Array[] = []
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk)
            controller.close()
          },
        })
        const relay = relayStream(body, { strip: (data) => data.includes('"choices":[]'), usageFrom, onEvent: undefined })
        expect((await readAll(relay.stream)).join('')).toBe(expected)
        expect(relay.usage()).toEqual({ inputTokens: 3, outputTokens: 1 })
      }
    }
  })
})

describe('relayStream with usage merged across events', () => {
  // Anthropic-style: input tokens in the first event, output tokens in a late one.
  const usageOf = (data: string): Usage | undefined => {
    if (!data.includes('"usage"')) return undefined
    const json = JSON.parse(data)
    const usage = json.message?.usage ?? json.usage
    return { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }
  }
  const mergeUsage = (earlier: Usage, later: Usage): Usage => ({ inputTokens: later.inputTokens ?? earlier.inputTokens, outputTokens: later.outputTokens ?? earlier.outputTokens })
  const start = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":11,"output_tokens":1}}}\n\n'
  const delta = (text: string) => `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}\n\n`
  const end = 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'

  it('combines the first and the last report of a short stream', async () => {
    const chunks = [start, delta('Hi'), end]
    const relay = relayStream(streamOf(chunks), { strip: undefined, usageFrom: usageOf, onEvent: undefined, mergeUsage })
    expect(await readAll(relay.stream)).toEqual(chunks)
    expect(relay.usage()).toEqual({ inputTokens: 11, outputTokens: 6 })
  })

  it('keeps the head of a stream longer than the tail window, whatever the chunking', async () => {
    const text = start + Array.from({ length: 800 }, (_, index) => delta(`word ${index} `.repeat(4))).join('') + end
    expect(text.length).toBeGreaterThan(64 * 1024)
    for (const size of [7, 100, 4096, 70_000]) {
      const chunks: string[] = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
      const relay = relayStream(streamOf(chunks), { strip: undefined, usageFrom: usageOf, onEvent: undefined, mergeUsage })
      expect((await readAll(relay.stream)).join('')).toBe(text)
      expect(relay.usage()).toEqual({ inputTokens: 11, outputTokens: 6 })
    }
  })

  it('without mergeUsage the last report wins (and the head is not kept)', async () => {
    const relay = relayStream(streamOf([start, delta('Hi'), end]), { strip: undefined, usageFrom: usageOf, onEvent: undefined })
    await readAll(relay.stream)
    expect(relay.usage()).toEqual({ inputTokens: undefined, outputTokens: 6 })
  })

  it('merges in the frame-by-frame mode too', async () => {
    const relay = relayStream(streamOf([start, delta('Hi'), end]), { strip: () => false, usageFrom: usageOf, onEvent: undefined, mergeUsage })
    await readAll(relay.stream)
    expect(relay.usage()).toEqual({ inputTokens: 11, outputTokens: 6 })
  })
})
