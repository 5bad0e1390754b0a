import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { expectAnthropicError, sseEvents, useAnthropicGateway } from './support/anthropic-e2e.js'
import { expectWarning, warningsOf } from './support/anthropic-wire.js'
import { expectConfiguredKey } from './support/e2e.js'
import { cassette, chunkLines, fixtureText, frameDataEvents } from './support/fixtures.js'
import { ERROR_MODELS, RATE_LIMIT_RETRY_AFTER } from './support/mock-openai.js'

/**
 * Anthropic SDK -> /anthropic with `model: "openai/gpt-4o-mini"` -> OpenAI (translation through the IR).
 * Each case checks what reached the OpenAI upstream and what the Anthropic client got.
 */

const gw = useAnthropicGateway()
const MODEL = 'openai/gpt-4o-mini'
const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Invent a new holiday and describe its traditions.' }]
const recorded = JSON.parse(fixtureText('openai/chat-text.json'))
const streamLines = chunkLines('openai/chat-stream-text.chunks.txt').map((line) => JSON.parse(line))
const streamedText = streamLines.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')
const streamedUsage = streamLines.at(-1).usage

/** Untyped extras: this SDK's types no longer list the sampling fields, the API still takes them. */
const params = (extra: Record<string, unknown>) => extra as unknown as Partial<Anthropic.MessageCreateParamsNonStreaming>
const textOf = (content: unknown) => (typeof content === 'string' ? content : (content as Array<{ text?: string }>).map((part) => part.text ?? '').join('\n'))

describe('plain text', () => {
  it('non-stream: the upstream gets a chat completions body, the client an Anthropic message', async () => {
    const { data: message, response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 1024, messages: hello }).withResponse()
    const upstream = gw.onlyOpenAIRequest()
    expect(upstream.path).toBe('/v1/chat/completions')
    expect(upstream.json).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: hello[0]!.content }], max_completion_tokens: 1024 })
    expectConfiguredKey(upstream)
    expect(upstream.headers['anthropic-version']).toBeUndefined()

    expect(response.headers.get('x-bf-provider')).toBe('openai')
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: recorded.model,
      content: [{ type: 'text', text: recorded.choices[0].message.content }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    })
    expect(message.id).toMatch(/^msg_/)
    expect(message.usage).toMatchObject({ input_tokens: 16, output_tokens: 363, cache_read_input_tokens: 0 })
    expect(warningsOf(response.headers)).toEqual([])
  })

  it('messages.stream(...).finalMessage() assembles the translated stream; upstream asked for stream usage', async () => {
    const stream = gw.anthropic.messages.stream({ model: MODEL, max_tokens: 1024, messages: hello })
    const texts: string[] = []
    stream.on('text', (text) => texts.push(text))
    const message = await stream.finalMessage()
    expect(texts.join('')).toBe(streamedText)
    expect(texts.length).toBeGreaterThan(100)
    expect(message.content).toEqual([{ type: 'text', text: streamedText }])
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage).toMatchObject({ input_tokens: streamedUsage.prompt_tokens, output_tokens: streamedUsage.completion_tokens })
    expect(gw.onlyOpenAIRequest().json).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_completion_tokens: 1024 })
  })

  it('stream: the exact Anthropic event sequence with consistent indices', async () => {
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify({ model: MODEL, max_tokens: 1024, messages: hello, stream: true }))
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = sseEvents(await response.text())
    for (const event of events) expect(event.event).toBe(event.data.type)
    const types = events.map((event) => event.data.type).filter((type) => type !== 'ping')
    const deltas = types.filter((type) => type === 'content_block_delta').length
    expect(types).toEqual(['message_start', 'content_block_start', ...Array(deltas).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop'])
    expect(events.filter((event) => event.data.index !== undefined).every((event) => event.data.index === 0)).toBe(true)
    const start = events[0]!.data.message
    expect(start).toMatchObject({ type: 'message', role: 'assistant', content: [], stop_reason: null })
    expect(events.find((event) => event.data.type === 'message_delta')!.data).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: streamedUsage.completion_tokens } })
  })
})

describe('request fields', () => {
  it('system as a string and as text blocks becomes the first system message', async () => {
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, system: 'You are terse.', messages: hello })
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, system: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.' }], messages: hello })
    const [first, second] = gw.openaiMock.requests
    expect(first!.json.messages).toEqual([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: hello[0]!.content }])
    expect(second!.json.messages[0].role).toBe('system')
    expect(textOf(second!.json.messages[0].content)).toMatch(/Rule one\.\s*Rule two\./)
    expect(second!.json.messages.slice(1)).toEqual([{ role: 'user', content: hello[0]!.content }])
  })

  it('multi-turn history keeps order and roles; content blocks become text', async () => {
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Nice to meet you, Ada.' }] },
      { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
    ]
    await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages })
    expect(gw.onlyOpenAIRequest().json.messages.map((message: any) => ({ role: message.role, text: textOf(message.content) }))).toEqual([
      { role: 'user', text: 'My name is Ada.' },
      { role: 'assistant', text: 'Nice to meet you, Ada.' },
      { role: 'user', text: 'What is my name?' },
    ])
  })

  it('max_tokens, stop_sequences, temperature, top_p and metadata.user_id map to their OpenAI names', async () => {
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 300, messages: hello, stop_sequences: ['END'], metadata: { user_id: 'user-42' }, ...params({ temperature: 0.4, top_p: 0.9 }) }).withResponse()
    const upstream = gw.onlyOpenAIRequest().json
    expect(upstream).toMatchObject({ max_completion_tokens: 300, stop: ['END'], temperature: 0.4, top_p: 0.9, user: 'user-42' })
    expect(upstream.max_tokens).toBeUndefined()
    expect(upstream.metadata).toBeUndefined()
    expect(upstream.stop_sequences).toBeUndefined()
    expect(warningsOf(response.headers)).toEqual([])
  })

  it('top_k has no OpenAI equivalent: not sent, named in x-switchyard-warnings', async () => {
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: hello, ...params({ top_k: 40 }) }).withResponse()
    expect(gw.onlyOpenAIRequest().json.top_k).toBeUndefined()
    expectWarning(response.headers, /top_?k/i)
  })

  // KNOWN BUG (reported): the OpenAI encoders (providers/openai/src/chat-messages.ts toWirePart, chat.ts tools,
  // responses.ts) ignore IR cache hints, so cache_control is dropped without a warning. Flip to \`it\` when fixed.
  it('cache_control has no OpenAI equivalent: the text is sent, the hint is named in x-switchyard-warnings', async () => {
    const { response } = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, system: [{ type: 'text', text: 'Long stable prefix.', cache_control: { type: 'ephemeral' } }], messages: hello }).withResponse()
    const upstream = gw.onlyOpenAIRequest().json
    expect(textOf(upstream.messages[0].content)).toBe('Long stable prefix.')
    expect(JSON.stringify(upstream)).not.toContain('cache_control')
    expectWarning(response.headers, /cache/i)
  })
})

describe('request fields when streaming', () => {
  it('a streamed request sends the same chat body as the plain one, plus stream and stream usage', async () => {
    const fields = {
      model: MODEL,
      max_tokens: 300,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'My name is Ada.' }, { role: 'assistant', content: 'Hi Ada.' }, { role: 'user', content: 'What is my name?' }] as Anthropic.MessageParam[],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      ...params({ temperature: 0.4, top_p: 0.9 }),
    }
    await gw.anthropic.messages.create(fields)
    await gw.anthropic.messages.stream(fields).finalMessage()
    const [plain, streamed] = gw.openaiMock.requests.map((request) => request.json)
    expect(streamed).toEqual({ ...plain, stream: true, stream_options: { include_usage: true } })
    expect(plain).toMatchObject({ max_completion_tokens: 300, stop: ['END'], temperature: 0.4, top_p: 0.9, user: 'user-42' })
    expect(plain.messages.map((message: any) => message.role)).toEqual(['system', 'user', 'assistant', 'user'])
  })
})

describe('finish reasons', () => {
  const cases: Array<[string, string]> = [['stop', 'end_turn'], ['length', 'max_tokens'], ['tool_calls', 'tool_use'], ['content_filter', 'refusal']]
  for (const [openai, anthropic] of cases) {
    it(`${openai} -> ${anthropic}, plain and streaming`, async () => {
      gw.openaiMock.setNext({ status: 200, body: { ...recorded, choices: [{ ...recorded.choices[0], finish_reason: openai }] } })
      const message = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: hello })
      expect(message.stop_reason).toBe(anthropic)
      const lines = chunkLines('openai/chat-stream-text.chunks.txt').map((line) => line.replace('"finish_reason":"stop"', `"finish_reason":"${openai}"`))
      gw.openaiMock.setNext({ status: 200, events: frameDataEvents(lines) })
      const streamed = await gw.anthropic.messages.stream({ model: MODEL, max_tokens: 64, messages: hello }).finalMessage()
      expect(streamed.stop_reason).toBe(anthropic)
    })
  }
})

describe('usage and prompt caching', () => {
  it('OpenAI cached_tokens -> cache_read_input_tokens, input_tokens without them (no double counting)', async () => {
    const cached = JSON.parse(cassette('openai/chat-prompt-cache.cassette.yaml')[1]!.response.body)
    gw.openaiMock.setNext({ status: 200, body: cached })
    const message = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: hello })
    expect(message.usage).toMatchObject({ input_tokens: 4020 - 4012, cache_read_input_tokens: 4012, output_tokens: 4 })
  })

  it('OpenAI cache_write_tokens -> cache_creation_input_tokens, input_tokens without them', async () => {
    const written = JSON.parse(cassette('openai/chat-prompt-cache.cassette.yaml')[0]!.response.body)
    gw.openaiMock.setNext({ status: 200, body: written })
    const message = await gw.anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: hello })
    expect(message.usage).toMatchObject({ input_tokens: 4020 - 4012, cache_creation_input_tokens: 4012, cache_read_input_tokens: 0, output_tokens: 4 })
  })
})

describe('count_tokens for a non-Anthropic target', () => {
  it('is answered locally with an estimate, said so in x-switchyard-warnings; nothing is sent upstream', async () => {
    const { data, response } = await gw.anthropic.messages.countTokens({ model: MODEL, system: 'Be terse.', messages: hello }).withResponse()
    const text = 'Be terse.' + (hello[0]!.content as string)
    // About four characters per token plus a little per message: the right order of magnitude.
    expect(data.input_tokens).toBeGreaterThanOrEqual(Math.floor(text.length / 4))
    expect(data.input_tokens).toBeLessThan(text.length)
    expect(response.headers.get('x-bf-provider')).toBe('openai')
    expectWarning(response.headers, /estimate/)
    expect(gw.openaiMock.requests).toHaveLength(0)
    expect(gw.mock.requests).toHaveLength(0)
  })

  it('bad input is a 400 in the Anthropic shape', async () => {
    const response = await gw.post('/anthropic/v1/messages/count_tokens', JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 42 }] }))
    expect(response.status).toBe(400)
    expectAnthropicError(await response.json(), 'invalid_request_error')
  })
})

describe('errors from the OpenAI upstream reach the Anthropic client in its shape', () => {
  async function rejection<T extends abstract new (...args: any) => Error>(call: Promise<unknown>, type: T): Promise<InstanceType<T>> {
    const error = await call.then(() => undefined, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(type)
    return error as InstanceType<T>
  }

  it('429 -> RateLimitError with rate_limit_error and retry-after', async () => {
    const error = await rejection(gw.anthropic.messages.create({ model: `openai/${ERROR_MODELS.rateLimited}`, max_tokens: 10, messages: hello }), Anthropic.RateLimitError)
    expect(error.type).toBe('rate_limit_error')
    expect(error.headers?.get('retry-after')).toBe(RATE_LIMIT_RETRY_AFTER)
    expectAnthropicError(error.error, 'rate_limit_error')
  })

  it('404 model_not_found -> NotFoundError (not_found_error); 400 -> BadRequestError (invalid_request_error), also when streaming', async () => {
    const missing = await rejection(gw.anthropic.messages.create({ model: `openai/${ERROR_MODELS.notFound}`, max_tokens: 10, messages: hello }), Anthropic.NotFoundError)
    expect(missing.type).toBe('not_found_error')
    const bad = await rejection(gw.anthropic.messages.create({ model: `openai/${ERROR_MODELS.unsupportedParameter}`, max_tokens: 10, messages: hello, stream: true }), Anthropic.BadRequestError)
    expect(bad.type).toBe('invalid_request_error')
    expect(bad.message).toContain('max_tokens')
  })
})
