import { describe, expect, it } from 'vitest'
import { relayStream } from './relay.js'
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
})
