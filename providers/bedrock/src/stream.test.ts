import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '@switchyard/core'
import { cassette, collect, concat, framedChunks, streamOf } from '../test/fixtures.js'
import { encodeBedrockEvent, encodeBedrockException, encodeEventStreamMessage } from './event-stream.js'
import { parseConverseStream } from './stream.js'

const parse = (bytes: Uint8Array, size?: number) => collect(parseConverseStream(streamOf(bytes, size)))
const textOf = (events: StreamEvent[]) => events.map((event) => (event.type === 'text-delta' ? event.delta : '')).join('')

describe('parseConverseStream on recorded ConverseStream bytes', () => {
  it('text (Nova Micro): one text block, the stop reason, then usage and one finish', async () => {
    const events = await parse(cassette('converse-stream-text.cassette.yaml')[0]!.response.bytes!)
    expect(events[0]).toEqual({ type: 'response-start', id: '', model: '', dialect: 'bedrock-converse' })
    expect(events[1]).toEqual({ type: 'text-start', id: '0:text:0' })
    expect(textOf(events)).toMatch(/^The capital of France is Paris\. Paris is not only/)
    const usage = { inputTokens: 13, outputTokens: 82, totalTokens: 95, extra: { serverToolUsage: {} } }
    expect(events.slice(-4)).toEqual([
      { type: 'text-end', id: '0:text:0' },
      { type: 'choice-end', choice: 0, finishReason: { unified: 'stop', raw: 'end_turn' } },
      { type: 'usage', usage },
      { type: 'finish', finishReason: { unified: 'stop', raw: 'end_turn' }, usage },
    ])
  })

  it('tool use (Nova Micro): text, then a tool call started by contentBlockStart with its input delta', async () => {
    const events = await parse(cassette('converse-stream-tool-use.cassette.yaml')[0]!.response.bytes!)
    const tool = events.filter((event) => event.type.startsWith('tool-call'))
    expect(tool).toEqual([
      { type: 'tool-call-start', id: '0:tool:1', toolCallId: 'tooluse_lAG_zP8QRHmSYOwZzzaCqA', name: 'get_temperature' },
      { type: 'tool-call-delta', id: '0:tool:1', argumentsDelta: '{"city":"Paris"}' },
      { type: 'tool-call-end', id: '0:tool:1' },
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: { inputTokens: 471, outputTokens: 91, totalTokens: 562 } })
  })

  it('thinking (Claude Sonnet 4): reasoning deltas, the signature, then text in the next block', async () => {
    const events = await parse(cassette('converse-stream-thinking.cassette.yaml')[0]!.response.bytes!)
    const kinds = events.map((event) => event.type)
    expect(kinds.slice(0, 2)).toEqual(['response-start', 'reasoning-start'])
    const signature = events.find((event) => event.type === 'reasoning-signature')
    expect(signature).toMatchObject({ id: '0:reasoning:0', signature: expect.stringMatching(/^Eu0CCkgIBxAB/) })
    expect(kinds.indexOf('reasoning-end')).toBeLessThan(kinds.indexOf('text-start'))
    expect(textOf(events)).toBe("Hello! It's nice to meet you. How can I help you today?")
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { inputTokens: 36, outputTokens: 73, totalTokens: 109 } })
  })

  it('reasoning (vercel/ai chunks, framed here): an empty reasoning delta is skipped', async () => {
    const events = await parse(framedChunks('converse-stream-reasoning.chunks.txt'))
    expect(events.filter((event) => event.type === 'reasoning-delta').every((event) => (event as { delta: string }).delta !== '')).toBe(true)
    expect(events.filter((event) => event.type === 'reasoning-signature')).toHaveLength(1)
  })

  it('decodes the same events however the bytes are split', async () => {
    const bytes = cassette('converse-stream-thinking.cassette.yaml')[0]!.response.bytes!
    const whole = await parse(bytes)
    for (const size of [1, 3, 11, 97]) expect(await parse(bytes, size)).toEqual(whole)
  })
})

describe('parseConverseStream failures', () => {
  const start = encodeBedrockEvent('messageStart', { role: 'assistant' })
  const delta = encodeBedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } })

  it('an exception frame (throttlingException) ends the stream with one 429 error event', async () => {
    const events = await parse(concat([start, delta, encodeBedrockException('throttlingException', 'Too many requests, please wait before trying again.')]))
    expect(events.map((event) => event.type)).toEqual(['response-start', 'text-start', 'text-delta', 'error'])
    const error = (events.at(-1) as Extract<StreamEvent, { type: 'error' }>).error
    expect(error).toMatchObject({ status: 429, retryable: true, type: 'throttlingException', provider: 'bedrock' })
    expect(error.message).toBe('[bedrock] throttlingException: Too many requests, please wait before trying again.')
  })

  it('maps the other stream exceptions to their documented statuses', async () => {
    const cases: Array<[string, number]> = [['validationException', 400], ['modelStreamErrorException', 424], ['internalServerException', 500], ['serviceUnavailableException', 503], ['modelTimeoutException', 408], ['somethingNewException', 502]]
    for (const [type, status] of cases) {
      const events = await parse(concat([start, encodeBedrockException(type, 'no')]))
      expect((events.at(-1) as Extract<StreamEvent, { type: 'error' }>).error.status, type).toBe(status)
    }
  })

  it('an error frame (:message-type error) carries its code and message in headers', async () => {
    const frame = encodeEventStreamMessage({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'boom' }, '')
    const events = await parse(concat([start, frame]))
    expect((events.at(-1) as Extract<StreamEvent, { type: 'error' }>).error.message).toBe('[bedrock] InternalFailure: boom')
  })

  it('a corrupted frame becomes an error event, not a thrown stream', async () => {
    const bytes = cassette('converse-stream-text.cassette.yaml')[0]!.response.bytes!.slice()
    bytes[200] ^= 0x20
    const events = await parse(bytes)
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { status: 502, message: expect.stringContaining('CRC mismatch') } })
    expect(events.some((event) => event.type === 'finish')).toBe(false)
  })

  it('a body that ends before messageStop is an error, never a finish', async () => {
    const events = await parse(concat([start, delta]))
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringContaining('before messageStop') } })
  })

  it('a body cut inside a frame is an error', async () => {
    const events = await parse(concat([start, delta.subarray(0, 20)]))
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringContaining('ended inside a message') } })
  })

  it('finishes at the end of the body when metadata never came', async () => {
    const events = await parse(concat([start, delta, encodeBedrockEvent('messageStop', { stopReason: 'max_tokens' })]))
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'length', raw: 'max_tokens' }, usage: undefined })
  })

  it('guardrail and content-filter stops are content-filter; redacted reasoning carries its data', async () => {
    const events = await parse(concat([
      start,
      encodeBedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { redactedContent: 'cmVkYWN0ZWQ=' } } }),
      encodeBedrockEvent('contentBlockStop', { contentBlockIndex: 0 }),
      encodeBedrockEvent('messageStop', { stopReason: 'guardrail_intervened' }),
      encodeBedrockEvent('metadata', { usage: { inputTokens: 5, outputTokens: 0, totalTokens: 5 } }),
    ]))
    expect(events.slice(1, 3)).toEqual([{ type: 'reasoning-start', id: '0:reasoning:0', redacted: 'cmVkYWN0ZWQ=' }, { type: 'reasoning-end', id: '0:reasoning:0' }])
    expect(events.at(-1)).toMatchObject({ finishReason: { unified: 'content-filter', raw: 'guardrail_intervened' } })
  })
})
