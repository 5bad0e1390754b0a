import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { collectEvents, runProviderContract, testUpstreamContext } from '@switchyard/core/testing'
import type { StreamEvent } from '@switchyard/core'
import { presets } from '../src/index.js'

/**
 * The presets with recorded traffic in the shared fixtures (mistral, groq, deepseek, xai) pass the
 * provider contract on it. `.chunks.txt` files are framed as their README says
 * (`data: <line>\n\n`, then `data: [DONE]\n\n`); the VCR cassettes give raw SSE bodies byte for byte.
 */

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const json = (path: string) => JSON.parse(fixture(path)) as Record<string, any>
const chatSse = (path: string) =>
  new TextEncoder().encode(fixture(path).split('\n').filter(Boolean).map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n')
interface VcrInteraction { response: { status: { code: number }; body?: { string?: string }; parsed_body?: unknown } }
const cassette = (path: string) => (parse(fixture(path)) as { interactions: VcrInteraction[] }).interactions
/** The raw body of a VCR.py interaction (SSE verbatim; JSON bodies re-serialized from `parsed_body`). */
const rawBody = (interaction: VcrInteraction) => interaction.response.body?.string ?? JSON.stringify(interaction.response.parsed_body)
const bytes = (text: string) => new TextEncoder().encode(text)
const withFinishReason = (body: Record<string, any>, reason: string) => ({ ...body, choices: [{ ...body.choices[0], finish_reason: reason }] })

const groqStreams = cassette('groq/chat-stream-error-tool-use-failed.cassette.yaml')
const groqNotFound = cassette('groq/chat-error-model-not-found.cassette.yaml')[0]!
const mistralThinking = cassette('mistral/chat-stream-thinking.cassette.yaml')[0]!

/** Mistral's 422 for a field it does not know (its shape as reported publicly; the message is an object). */
const mistral422 = JSON.stringify({ object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted', input: { include_usage: true } }] }, type: 'invalid_request_error', param: null, code: null })

runProviderContract({
  provider: presets.mistral!,
  fixtures: {
    responses: [
      { name: 'text', operation: 'chat', body: json('mistral/chat-text.json') },
      { name: 'tool call', operation: 'chat', body: json('mistral/chat-tool-call.json') },
      { name: 'reasoning (content array)', operation: 'chat', body: json('mistral/chat-reasoning.json') },
      ...cassette('mistral/chat-prompt-cache.cassette.yaml').map((interaction, index) => ({ name: `prompt cache ${index + 1}`, operation: 'chat' as const, body: interaction.response.parsed_body })),
    ],
    streams: [
      { name: 'text (usage on the last content chunk)', operation: 'chat', bytes: chatSse('mistral/chat-stream-text.chunks.txt') },
      { name: 'tool call in one chunk', operation: 'chat', bytes: chatSse('mistral/chat-stream-tool-call.chunks.txt') },
      { name: 'incremental tool call', operation: 'chat', bytes: chatSse('mistral/chat-stream-tool-call-incremental.chunks.txt') },
      { name: 'thinking (raw SSE)', operation: 'chat', bytes: bytes(rawBody(mistralThinking)) },
    ],
    errors: [
      { name: 'unknown field (422, message object)', status: 422, body: mistral422, expect: { status: 422, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"object":"error","message":"Requests rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}', expect: { status: 429, retryable: true } },
      { name: 'unauthorized echoing the key', status: 401, body: '{"message":"Unauthorized: sk-contract-test-key-0000"}', expect: { status: 401, retryable: false } },
      { name: 'server error', status: 503, body: 'upstream connect error', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'new finish reason', operation: 'chat', body: withFinishReason(json('mistral/chat-text.json'), 'model_length_new') },
  },
})

runProviderContract({
  provider: presets.groq!,
  fixtures: {
    responses: [
      { name: 'tool call', operation: 'chat', body: json('groq/chat-tool-call.json') },
      { name: 'reasoning field', operation: 'chat', body: json('groq/chat-reasoning.json') },
    ],
    streams: [
      { name: 'tool call (usage in x_groq and usage)', operation: 'chat', bytes: chatSse('groq/chat-stream-tool-call.chunks.txt') },
      { name: 'tool_use_failed inside a 200 stream (raw SSE)', operation: 'chat', bytes: bytes(rawBody(groqStreams[0]!)), expectError: true },
      { name: 'tool call after reasoning (raw SSE)', operation: 'chat', bytes: bytes(rawBody(groqStreams[1]!)) },
      { name: 'answer after the tool result (raw SSE)', operation: 'chat', bytes: bytes(rawBody(groqStreams[2]!)) },
    ],
    errors: [
      { name: 'model not found (recorded)', status: groqNotFound.response.status.code, body: rawBody(groqNotFound), expect: { status: 404, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}', headers: { 'retry-after': '7' }, expect: { status: 429, retryable: true } },
    ],
    unknownFinishReason: { name: 'new finish reason', operation: 'chat', body: withFinishReason(json('groq/chat-tool-call.json'), 'something_new') },
  },
})

runProviderContract({
  provider: presets.deepseek!,
  fixtures: {
    responses: [
      { name: 'reasoning', operation: 'chat', body: json('deepseek/chat-reasoning.json') },
      { name: 'tool call with reasoning', operation: 'chat', body: json('deepseek/chat-tool-call.json') },
    ],
    streams: [{ name: 'tool call with reasoning', operation: 'chat', bytes: chatSse('deepseek/chat-stream-tool-call.chunks.txt') }],
    errors: [
      { name: 'insufficient balance', status: 402, body: '{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}', expect: { status: 402, retryable: false } },
      { name: 'server busy', status: 503, body: '{"error":{"message":"Server overloaded"}}', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'new finish reason', operation: 'chat', body: withFinishReason(json('deepseek/chat-reasoning.json'), 'insufficient_system_resource') },
  },
})

runProviderContract({
  provider: presets.xai!,
  fixtures: {
    responses: [{ name: 'tool call with reasoning', operation: 'chat', body: json('xai/chat-tool-call.json') }],
    streams: [{ name: 'tool call (separate usage chunk)', operation: 'chat', bytes: chatSse('xai/chat-stream-tool-call.chunks.txt') }],
    errors: [{ name: 'bad request', status: 400, body: '{"code":"Client specified an invalid argument","error":"Model grok-9 does not exist"}', expect: { status: 400, retryable: false } }],
    unknownFinishReason: { name: 'new finish reason', operation: 'chat', body: withFinishReason(json('xai/chat-tool-call.json'), 'end_turn_new') },
  },
})

/** What the recordings decode to, beyond well-formedness. */
describe('presets on recorded traffic: decoded content', () => {
  const body = (sse: Uint8Array) => new Response(sse as Uint8Array<ArrayBuffer>).body!
  const decode = async (provider: keyof typeof presets, sse: Uint8Array) =>
    (await collectEvents(presets[provider]!.upstream!.chat!.stream!(body(sse), testUpstreamContext(provider)))) as StreamEvent[]

  it('mistral: the last content chunk carries both the finish and the usage', async () => {
    const events = await decode('mistral', chatSse('mistral/chat-stream-text.chunks.txt'))
    expect(events.filter((event) => event.type === 'text-delta').map((event) => (event as { delta: string }).delta).join('')).toBe('Hello, world! This is a test response.')
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 13, outputTokens: 8, totalTokens: 21 } })
  })

  it('mistral: a 422 with a structured message keeps the details readable', () => {
    const error = presets.mistral!.upstream!.error(422, mistral422, new Headers(), testUpstreamContext('mistral'))
    expect(error.message).toContain('Extra inputs are not permitted')
    expect(error.message).toMatch(/^\[mistral\] /)
  })

  it('groq: x_groq survives as response extra; usage comes from the finish chunk', async () => {
    const response = presets.groq!.upstream!.chat!.response(json('groq/chat-tool-call.json'), testUpstreamContext('groq'))
    expect(response.extra).toMatchObject({ x_groq: { id: 'req_01kh52madzem68scv0bcz3vm00' }, service_tier: 'on_demand' })
    expect(response.usage).toMatchObject({ inputTokens: 218, outputTokens: 15, extra: { queue_time: 0.179481775 } })
    const events = await decode('groq', chatSse('groq/chat-stream-tool-call.chunks.txt'))
    expect(events.find((event) => event.type === 'response-start')).toMatchObject({ extra: { x_groq: { id: 'req_01kh52nj5yfcat8hrmvrk2j2hj', seed: 689520654 } } })
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'tool-calls' }, usage: { inputTokens: 210, outputTokens: 15 } })
  })

  it('groq: a tool_use_failed error event keeps its 400', async () => {
    const events: StreamEvent[] = []
    for await (const event of presets.groq!.upstream!.chat!.stream!(body(bytes(rawBody(groqStreams[0]!))), testUpstreamContext('groq'))) events.push(event)
    const last = events.at(-1) as Extract<StreamEvent, { type: 'error' }>
    expect(last.type).toBe('error')
    expect(last.error.status).toBe(400)
    expect(last.error.type).toBe('tool_use_failed')
  })

  it('deepseek: reasoning_content and cache counts', () => {
    const response = presets.deepseek!.upstream!.chat!.response(json('deepseek/chat-tool-call.json'), testUpstreamContext('deepseek'))
    expect(response.choices[0]!.message.content[0]).toMatchObject({ type: 'reasoning' })
    expect(response.usage?.cachedInputTokens).toBe(320)
  })
})
