import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '@switchyard/core'
import { parseMessagesStream } from '@switchyard/provider-anthropic'
import { EventStreamDecoder, encodeBedrockEvent } from '../src/event-stream.js'
import { parseConverseStream } from '../src/stream.js'
import { cassette, collect, concat, streamOf } from './fixtures.js'

/**
 * Acceptance: a ConverseStream capture decodes into the same IR events as the Anthropic capture of
 * the same answer would.
 *
 * No recording exists of one prompt answered by both APIs, so each pair has one real capture and
 * one rendition of the same answer in the other API's wire format, written by a mechanical
 * wire-to-wire translation below (JSON events in, JSON events out; it never touches the IR):
 *
 * 1. the recorded ConverseStream bytes of Claude Sonnet 4 thinking on Bedrock
 *    (`bedrock/converse-stream-thinking.cassette.yaml`) -> the Anthropic Messages SSE of that
 *    answer: `message_start`, per block `content_block_start` + the same deltas + `content_block_stop`,
 *    `message_delta` (stop reason, output tokens), `message_stop`;
 * 2. the recorded Anthropic SSE of a tool call (`anthropic/messages-stream-tool-use.sse`) -> the
 *    ConverseStream frames of that answer: `messageStart`, text deltas, `contentBlockStart.toolUse` +
 *    `toolUse.input` deltas, `contentBlockStop`, `messageStop`, `metadata` (usage), CRCs computed.
 *
 * Each side is then decoded by its own provider's parser (`parseConverseStream`,
 * `parseMessagesStream`) and the IR sequences are compared. Two differences are inherent to the
 * wires and normalized away, nothing else: `response-start` carries the message id and model only
 * on Anthropic's wire (compared by type), and the interim `usage` events sit where each API reports
 * usage (Anthropic at `message_start` and `message_delta`, Bedrock in `metadata` after
 * `messageStop`); the final usage on `finish` is compared by its counts. Block ids, deltas,
 * signatures, block ends, the choice end and the finish reason must be identical.
 */

type Json = Record<string, any>

function normalize(events: StreamEvent[]): unknown[] {
  return events
    .filter((event) => event.type !== 'usage')
    .map((event) => {
      if (event.type === 'response-start') return { type: 'response-start' }
      if (event.type === 'finish') {
        const { extra: _, ...counts } = event.usage ?? { inputTokens: undefined, outputTokens: undefined }
        return { ...event, usage: counts }
      }
      return event
    })
}

const sse = (events: Json[]) => new TextEncoder().encode(events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(''))

/** ConverseStream events (decoded from the capture) -> the Anthropic Messages SSE events of the same answer. */
function anthropicFromBedrock(bytes: Uint8Array, model: string): Json[] {
  const out: Json[] = []
  const open = new Map<number, string>()
  let stopReason: string | undefined
  for (const message of new EventStreamDecoder().feed(bytes)) {
    const type = message.headers[':event-type'] as string
    const payload = JSON.parse(new TextDecoder().decode(message.payload)) as Json
    const index = payload.contentBlockIndex as number
    const start = (block: Json) => {
      open.set(index, block.type)
      out.push({ type: 'content_block_start', index, content_block: block })
    }
    switch (type) {
      case 'messageStart':
        out.push({ type: 'message_start', message: { id: 'msg_synthesized', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 1 } } })
        break
      case 'contentBlockStart':
        start({ type: 'tool_use', id: payload.start.toolUse.toolUseId, name: payload.start.toolUse.name, input: {} })
        break
      case 'contentBlockDelta': {
        const delta = payload.delta as Json
        if (typeof delta.text === 'string') {
          if (!open.has(index)) start({ type: 'text', text: '' })
          out.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: delta.text } })
        } else if (delta.reasoningContent) {
          if (!open.has(index)) start({ type: 'thinking', thinking: '', signature: '' })
          const reasoning = delta.reasoningContent as Json
          if (reasoning.text !== undefined) out.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: reasoning.text } })
          if (reasoning.signature !== undefined) out.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: reasoning.signature } })
        } else if (delta.toolUse) {
          out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: delta.toolUse.input } })
        }
        break
      }
      case 'contentBlockStop':
        out.push({ type: 'content_block_stop', index })
        open.delete(index)
        break
      case 'messageStop':
        stopReason = payload.stopReason
        break
      case 'metadata': {
        const usage = payload.usage as Json
        // Anthropic reports the input in message_start and the cumulative output in message_delta.
        out[0]!.message.usage = { input_tokens: usage.inputTokens, output_tokens: 1 }
        out.push({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.outputTokens } })
        out.push({ type: 'message_stop' })
        break
      }
    }
  }
  return out
}

/** Anthropic Messages SSE events (the capture) -> the ConverseStream frames of the same answer. */
function bedrockFromAnthropic(text: string): Uint8Array {
  const frames: Uint8Array[] = []
  const kinds = new Map<number, string>()
  let usage: Json = {}
  let stopReason: string | undefined
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').find((line) => line.startsWith('data: '))
    if (!data) continue
    const event = JSON.parse(data.slice(6)) as Json
    switch (event.type) {
      case 'message_start':
        usage = { ...event.message.usage }
        frames.push(encodeBedrockEvent('messageStart', { role: 'assistant' }))
        break
      case 'content_block_start': {
        const content = event.content_block as Json
        kinds.set(event.index, content.type)
        if (content.type === 'tool_use') frames.push(encodeBedrockEvent('contentBlockStart', { contentBlockIndex: event.index, start: { toolUse: { toolUseId: content.id, name: content.name } } }))
        break
      }
      case 'content_block_delta': {
        const delta = event.delta as Json
        const wire = delta.type === 'text_delta' ? { text: delta.text }
          : delta.type === 'input_json_delta' ? { toolUse: { input: delta.partial_json } }
          : delta.type === 'thinking_delta' ? { reasoningContent: { text: delta.thinking } }
          : { reasoningContent: { signature: delta.signature } }
        frames.push(encodeBedrockEvent('contentBlockDelta', { contentBlockIndex: event.index, delta: wire }))
        break
      }
      case 'content_block_stop':
        frames.push(encodeBedrockEvent('contentBlockStop', { contentBlockIndex: event.index }))
        break
      case 'message_delta':
        stopReason = event.delta.stop_reason
        usage = { ...usage, ...event.usage }
        break
      case 'message_stop': {
        frames.push(encodeBedrockEvent('messageStop', { stopReason }))
        const input = usage.input_tokens as number
        const read = usage.cache_read_input_tokens as number
        const write = usage.cache_creation_input_tokens as number
        frames.push(encodeBedrockEvent('metadata', {
          usage: { inputTokens: input, outputTokens: usage.output_tokens, totalTokens: input + read + write + usage.output_tokens, cacheReadInputTokens: read, cacheWriteInputTokens: write },
          metrics: { latencyMs: 0 },
        }))
        break
      }
    }
  }
  return concat(frames)
}

describe('a ConverseStream capture and the Anthropic stream of the same answer give the same IR events', () => {
  it('recorded Bedrock thinking stream (Claude Sonnet 4) vs its Anthropic rendition', async () => {
    const recorded = cassette('converse-stream-thinking.cassette.yaml')[0]!.response.bytes!
    const fromBedrock = await collect(parseConverseStream(streamOf(recorded, 17)))
    const fromAnthropic = await collect(parseMessagesStream(streamOf(sse(anthropicFromBedrock(recorded, 'claude-sonnet-4-20250514')))))
    expect(normalize(fromBedrock)).toEqual(normalize(fromAnthropic))
    // The comparison is not vacuous: thinking with its signature, text, and the usage on finish.
    const kinds = fromBedrock.map((event) => event.type)
    expect(kinds.filter((kind) => kind === 'reasoning-delta').length).toBeGreaterThan(10)
    expect(kinds).toContain('reasoning-signature')
    expect(kinds).toContain('text-delta')
    expect(fromBedrock.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'stop', raw: 'end_turn' }, usage: { inputTokens: 36, outputTokens: 73, totalTokens: 109 } })
  })

  it('recorded Anthropic tool-use stream vs its ConverseStream rendition', async () => {
    const recorded = readFileSync(new URL('../../../../shared/fixtures/anthropic/messages-stream-tool-use.sse', import.meta.url), 'utf8')
    const fromAnthropic = await collect(parseMessagesStream(streamOf(new TextEncoder().encode(recorded))))
    const fromBedrock = await collect(parseConverseStream(streamOf(bedrockFromAnthropic(recorded), 5)))
    expect(normalize(fromBedrock)).toEqual(normalize(fromAnthropic))
    expect(fromBedrock.filter((event) => event.type === 'tool-call-start')).toEqual([{ type: 'tool-call-start', id: '0:tool:1', toolCallId: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather' }])
    expect(fromBedrock.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' } })
  })
})
