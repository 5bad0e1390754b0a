import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { relayStream } from '@switchyard/core'
import { mergeAnthropicUsage, usageFromMessagesData } from './passthrough.js'

const fixture = (name: string) => readFileSync(new URL(`../../../../shared/fixtures/anthropic/${name}`, import.meta.url), 'utf8')
const dataLines = (sse: string) => sse.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6))

/** Folds every data payload the way the relay does. */
function observe(payloads: readonly string[]) {
  let usage: ReturnType<typeof usageFromMessagesData>
  for (const data of payloads) {
    const found = usageFromMessagesData(data)
    if (found) usage = usage ? mergeAnthropicUsage(usage, found) : found
  }
  return usage
}

describe('usageFromMessagesData', () => {
  it('reads a whole Messages body', () => {
    expect(usageFromMessagesData(fixture('messages-text.json'))).toMatchObject({ inputTokens: 12, outputTokens: 29, totalTokens: 41, cachedInputTokens: 0, cacheWriteInputTokens: 0 })
  })

  it('reads message_start (nested under message) and message_delta; other events cost no parse', () => {
    expect(usageFromMessagesData('{"type":"message_start","message":{"id":"m","usage":{"input_tokens":11,"output_tokens":1}}}')).toMatchObject({ inputTokens: 11, outputTokens: 1 })
    expect(usageFromMessagesData('{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}')).toMatchObject({ inputTokens: undefined, outputTokens: 6 })
    expect(usageFromMessagesData('{"type": "ping"}')).toBeUndefined()
    expect(usageFromMessagesData('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"usage"}}')).toBeUndefined()
    expect(usageFromMessagesData('not json "usage"')).toBeUndefined()
  })
})

describe('mergeAnthropicUsage over recorded streams', () => {
  it('input from message_start, output from message_delta (.sse recording)', () => {
    expect(observe(dataLines(fixture('messages-stream-text.sse')))).toEqual({ inputTokens: 11, outputTokens: 6, totalTokens: 17 })
  })

  it('a message_delta that repeats the input side (newer API) gives the same input, never double', () => {
    const usage = observe(fixture('messages-stream-thinking.chunks.txt').split('\n').filter(Boolean))
    expect(usage).toMatchObject({ inputTokens: 69, outputTokens: 53, totalTokens: 122, cachedInputTokens: 0, cacheWriteInputTokens: 0 })
  })

  it('cache reads and writes stay split and are counted once in inputTokens', () => {
    const start = '{"type":"message_start","message":{"usage":{"input_tokens":3,"cache_creation_input_tokens":418,"cache_read_input_tokens":1111,"output_tokens":1}}}'
    expect(observe([start, '{"type":"message_delta","usage":{"output_tokens":33}}'])).toMatchObject({ inputTokens: 1532, cachedInputTokens: 1111, cacheWriteInputTokens: 418, outputTokens: 33, totalTokens: 1565 })
    // A later report with input_tokens but without the cache counts keeps the earlier cache counts.
    expect(observe([start, '{"type":"message_delta","usage":{"input_tokens":3,"output_tokens":33}}'])).toMatchObject({ inputTokens: 1532, cachedInputTokens: 1111, cacheWriteInputTokens: 418, outputTokens: 33 })
  })

  it('works through the relay on the raw bytes, whatever the chunking', async () => {
    const raw = fixture('messages-stream-thinking.chunks.txt').split('\n').filter(Boolean).map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join('')
    const bytes = new TextEncoder().encode(raw)
    for (const size of [1, 17, 4096]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size))
          controller.close()
        },
      })
      const relay = relayStream(body, { strip: undefined, usageFrom: usageFromMessagesData, onEvent: undefined, mergeUsage: mergeAnthropicUsage })
      const reader = relay.stream.getReader()
      while (!(await reader.read()).done) {
        // drain
      }
      expect(relay.usage()).toMatchObject({ inputTokens: 69, outputTokens: 53 })
    }
  })
})
