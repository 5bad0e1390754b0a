import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { defaultMaxTokens } from '@switchyard/provider-anthropic'
import { expectAnthropicKey, sseEvents, useAnthropicGateway } from './anthropic-e2e.js'
import { blocksOf, expectWarning, frameEvents, messageVariant, streamVariant, systemBlocks, turnsOf, warningsOf } from '../support/anthropic-wire.js'
import { cassette, fixtureText, splitSseEvents } from '../support/fixtures.js'

/**
 * OpenAI SDK -> /openai with `model: "anthropic/claude-..."` -> Anthropic (translation through the IR).
 * Each case checks what reached the Anthropic upstream and what the OpenAI client got.
 */

const gw = useAnthropicGateway()
const MODEL = 'anthropic/claude-sonnet-4-5'
const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello, how are you?' }]
const recorded = JSON.parse(fixtureText('anthropic/messages-text.json'))
const streamedText = 'Hello there!'

/** Collects an OpenAI SDK stream. */
async function collect(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>): Promise<OpenAI.Chat.ChatCompletionChunk[]> {
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}
const contentOf = (chunks: OpenAI.Chat.ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')
const finishesOf = (chunks: OpenAI.Chat.ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter((reason) => reason != null)

describe('plain text', () => {
  it('non-stream: the upstream gets a Messages body, the client a chat.completion', async () => {
    const { data: completion, response } = await gw.openai.chat.completions.create({ model: MODEL, messages: hello }).withResponse()
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/messages')
    expect(upstream.json.model).toBe('claude-sonnet-4-5')
    expect(turnsOf(upstream.json.messages)).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello, how are you?' }] }])
    expect(upstream.json.stream ?? false).toBe(false)
    expect(upstream.headers['anthropic-version']).toBe('2023-06-01')
    expectAnthropicKey(upstream)

    expect(response.headers.get('x-bf-provider')).toBe('anthropic')
    expect(completion.object).toBe('chat.completion')
    expect(completion.id).toBe(recorded.id)
    expect(completion.model).toBe(recorded.model)
    expect(completion.choices).toHaveLength(1)
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: recorded.content[0].text })
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 29, total_tokens: 41, prompt_tokens_details: { cached_tokens: 0 } })
  })

  it('stream: role first, the deltas, one finish, the usage chunk when include_usage, then [DONE]', async () => {
    const response = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stream: true, stream_options: { include_usage: true } }).asResponse()
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = sseEvents(await response.text())
    expect(events.at(-1)!.data).toBe('[DONE]')
    const chunks = events.slice(0, -1).map((event) => event.data as OpenAI.Chat.ChatCompletionChunk)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.slice(1).every((chunk) => chunk.choices[0]?.delta?.role === undefined)).toBe(true)
    expect(contentOf(chunks)).toBe(streamedText)
    expect(chunks.filter((chunk) => chunk.choices.some((choice) => choice.delta.content)).map((chunk) => chunk.choices[0]!.delta.content)).toEqual(['Hello', ' there', '!'])
    expect(finishesOf(chunks)).toEqual(['stop'])
    const usage = chunks.at(-1)!
    expect(usage.choices).toEqual([])
    expect(usage.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 })
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]!.id)).toBe(true)

    const upstream = gw.onlyRequest()
    expect(upstream.json.stream).toBe(true)
    expect(upstream.json.stream_options).toBeUndefined()
  })

  it('stream without include_usage: no usage chunk', async () => {
    const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stream: true }))
    expect(contentOf(chunks)).toBe(streamedText)
    expect(chunks.some((chunk) => chunk.usage)).toBe(false)
    expect(finishesOf(chunks)).toEqual(['stop'])
  })
})

describe('request fields', () => {
  it('system prompts: a string, system content parts and developer messages all land in `system`', async () => {
    await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'You are terse.' }, ...hello] })
    expect(systemBlocks(gw.mock.requests[0]!.json.system)).toEqual([{ type: 'text', text: 'You are terse.' }])
    expect(turnsOf(gw.mock.requests[0]!.json.messages).map((turn) => turn.role)).toEqual(['user'])

    await gw.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.' }] }, { role: 'developer', content: 'Rule three.' }, ...hello] })
    const system = systemBlocks(gw.mock.requests[1]!.json.system)
    expect(system.map((block) => block.text).join('\n')).toMatch(/Rule one\.[\s\S]*Rule two\.[\s\S]*Rule three\./)
    expect(system.every((block) => block.type === 'text')).toBe(true)
  })

  it('multi-turn history keeps its order and roles', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]
    await gw.openai.chat.completions.create({ model: MODEL, messages })
    expect(turnsOf(gw.onlyRequest().json.messages)).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'My name is Ada.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] },
      { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
    ])
  })

  it('max tokens: omitted -> the documented default; max_tokens and max_completion_tokens -> max_tokens', async () => {
    await gw.openai.chat.completions.create({ model: MODEL, messages: hello })
    await gw.openai.chat.completions.create({ model: MODEL, messages: hello, max_tokens: 100 })
    await gw.openai.chat.completions.create({ model: MODEL, messages: hello, max_completion_tokens: 200 })
    // Documented default: the model's max output (64000 for Claude Sonnet 4.5).
    expect(defaultMaxTokens('claude-sonnet-4-5')).toBe(64000)
    expect(gw.mock.requests.map((request) => request.json.max_tokens)).toEqual([64000, 100, 200])
  })

  it('stop sequences, temperature, top_p reach the upstream under their Anthropic names', async () => {
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stop: ['END', 'STOP'], temperature: 0.4, top_p: 0.9 }).withResponse()
    const upstream = gw.onlyRequest().json
    expect(upstream.stop_sequences).toEqual(['END', 'STOP'])
    expect(upstream.temperature).toBe(0.4)
    expect(upstream.top_p).toBe(0.9)
    expect(upstream.stop).toBeUndefined()
    expect(warningsOf(response.headers)).toEqual([])
  })

  it('a single stop string becomes a one-item stop_sequences', async () => {
    await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stop: 'END' })
    expect(gw.onlyRequest().json.stop_sequences).toEqual(['END'])
  })

  it('temperature above Anthropic\'s 0-1 range is a 400 naming temperature (never clamped), nothing is sent', async () => {
    const error = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, temperature: 1.7 }).then(() => undefined, (caught: { status: number; param?: string; message: string }) => caught)
    expect(error?.status).toBe(400)
    expect(error?.message).toContain('temperature')
    expect(gw.mock.requests).toHaveLength(0)
  })

  it('top_k sent as an extra body field (OpenAI has none) is not forwarded and is named in x-switchyard-warnings', async () => {
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, top_k: 40 } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming).withResponse()
    expect(gw.onlyRequest().json.top_k).toBeUndefined()
    expectWarning(response.headers, 'top_k')
  })

  it('user -> metadata.user_id; OpenAI metadata has no Anthropic equivalent -> warning', async () => {
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, user: 'user-42', metadata: { team: 'blue' } }).withResponse()
    const upstream = gw.onlyRequest().json
    expect(upstream.metadata).toEqual({ user_id: 'user-42' })
    expect(upstream.user).toBeUndefined()
    expectWarning(response.headers, 'metadata')
  })

  it('what Anthropic cannot express is named in x-switchyard-warnings (seed, penalties, logprobs) or rejected', async () => {
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, seed: 7, frequency_penalty: 0.5, presence_penalty: 0.1, logprobs: true }).withResponse()
    for (const name of ['seed', 'frequency', 'presence', 'logprobs']) expectWarning(response.headers, name)
    const upstream = gw.onlyRequest().json
    for (const name of ['seed', 'frequency_penalty', 'presence_penalty', 'logprobs']) expect(upstream[name]).toBeUndefined()
  })

  it('n > 1 is a 400 naming n (Anthropic answers one choice), and nothing is sent', async () => {
    const error = await gw.openai.chat.completions.create({ model: MODEL, messages: hello, n: 2 }).then(() => undefined, (caught: { status: number; message: string }) => caught)
    expect(error?.status).toBe(400)
    expect(error?.message).toMatch(/\bn\b/)
    expect(gw.mock.requests).toHaveLength(0)
  })
})

describe('request fields when streaming', () => {
  it('a streamed request sends the same Messages body as the plain one, plus stream: true', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Hi Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]
    const fields = { model: MODEL, messages, stop: ['END'], temperature: 0.4, top_p: 0.9, max_tokens: 300, user: 'user-42' }
    await gw.openai.chat.completions.create(fields)
    await collect(await gw.openai.chat.completions.create({ ...fields, stream: true, stream_options: { include_usage: true } }))
    const [plain, streamed] = gw.mock.requests.map((request) => request.json)
    expect(streamed).toEqual({ ...plain, stream: true })
    expect(plain).toMatchObject({ max_tokens: 300, stop_sequences: ['END'], temperature: 0.4, top_p: 0.9, metadata: { user_id: 'user-42' } })
    expect(systemBlocks(plain.system)).toEqual([{ type: 'text', text: 'You are terse.' }])
    expect(turnsOf(plain.messages).map((turn) => turn.role)).toEqual(['user', 'assistant', 'user'])
  })
})

describe('finish reasons', () => {
  const cases: Array<[string, string]> = [['end_turn', 'stop'], ['stop_sequence', 'stop'], ['max_tokens', 'length'], ['tool_use', 'tool_calls'], ['refusal', 'content_filter'], ['pause_turn', 'stop']]
  for (const [anthropic, openai] of cases) {
    it(`${anthropic} -> ${openai}, plain and streaming`, async () => {
      gw.mock.setNext({ status: 200, body: messageVariant({ stop_reason: anthropic, ...(anthropic === 'stop_sequence' && { stop_sequence: 'END' }) }) })
      const completion = await gw.openai.chat.completions.create({ model: MODEL, messages: hello })
      expect(completion.choices[0]!.finish_reason).toBe(openai)
      gw.mock.setNext({ status: 200, events: streamVariant(anthropic) })
      const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stream: true }))
      expect(finishesOf(chunks)).toEqual([openai])
    })
  }
})

describe('usage and prompt caching', () => {
  it('cache reads and writes map to prompt_tokens (whole prompt) and cached_tokens, without double counting', async () => {
    const reply = JSON.parse(cassette('anthropic/messages-prompt-cache.cassette.yaml')[1]!.response.body)
    gw.mock.setNext({ status: 200, body: JSON.stringify(reply) })
    const completion = await gw.openai.chat.completions.create({ model: MODEL, messages: hello })
    // input_tokens 3 + cache_read 1111 + cache_creation 418
    expect(completion.usage).toMatchObject({ prompt_tokens: 1532, completion_tokens: 33, total_tokens: 1565, prompt_tokens_details: { cached_tokens: 1111 } })
  })

  it('streamed usage: input from message_start and output from message_delta in one usage chunk', async () => {
    const start = { type: 'message_start', message: { id: 'msg_cache', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, cache_creation_input_tokens: 418, cache_read_input_tokens: 1111, output_tokens: 1 } } }
    const rest = splitSseEvents(fixtureText('anthropic/messages-stream-text.sse')).slice(1)
    gw.mock.setNext({ status: 200, events: [...frameEvents([start]), ...rest] })
    const chunks = await collect(await gw.openai.chat.completions.create({ model: MODEL, messages: hello, stream: true, stream_options: { include_usage: true } }))
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 1532, completion_tokens: 6, total_tokens: 1538, prompt_tokens_details: { cached_tokens: 1111 } })
  })

  it('cache_control on a content part (OpenRouter-style) reaches Anthropic as cache_control', async () => {
    const long = 'Python is a programming language. '.repeat(50)
    const messages = [{ role: 'system', content: [{ type: 'text', text: long, cache_control: { type: 'ephemeral' } }] }, ...hello] as OpenAI.Chat.ChatCompletionMessageParam[]
    const { response } = await gw.openai.chat.completions.create({ model: MODEL, messages }).withResponse()
    const system = systemBlocks(gw.onlyRequest().json.system)
    expect(system).toEqual([{ type: 'text', text: long, cache_control: { type: 'ephemeral' } }])
    expect(warningsOf(response.headers)).toEqual([])
  })
})

describe('errors from the Anthropic upstream reach the OpenAI client in its shape', () => {
  it('429 keeps its status and retry-after; 529 becomes a 5xx', async () => {
    const limited = await gw.openai.chat.completions.create({ model: 'anthropic/claude-rate-limited', messages: hello }).then(() => undefined, (caught: any) => caught)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('11')
    expect(limited.error).toMatchObject({ message: expect.stringContaining('rate limit'), type: expect.any(String) })
    const overloaded = await gw.openai.chat.completions.create({ model: 'anthropic/claude-overloaded', messages: hello }).then(() => undefined, (caught: any) => caught)
    expect(overloaded.status).toBeGreaterThanOrEqual(500)
  })
})
