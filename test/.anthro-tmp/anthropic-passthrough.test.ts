import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it, vi } from 'vitest'
import { expectAnthropicError, expectAnthropicKey, sseEvents, useAnthropicGateway } from './anthropic-e2e.js'
import { cassette, fixtureText, splitSseEvents } from '../support/fixtures.js'
import { ANTHROPIC_ERROR_MODELS, ANTHROPIC_RETRY_AFTER, mockTokenCount } from '../support/mock-anthropic.js'

/** Anthropic SDK -> /anthropic -> Anthropic: the passthrough path (body forwarded, stream relayed byte for byte). */

const gw = useAnthropicGateway()
const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello, how are you?' }]
const recordedText = JSON.parse(fixtureText('anthropic/messages-text.json'))
const parallel = cassette('anthropic/messages-parallel-tool-use.cassette.yaml')
const weather: Anthropic.Tool = { name: 'get_weather', description: 'Get the weather for a location', input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }
const entityTool: Anthropic.Tool = { name: 'retrieve_entity_info', description: 'Get the knowledge about the given entity.', input_schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } }
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

/** Runs `call`, expects it to reject with `type`, and returns the error. */
async function rejection<T extends abstract new (...args: any) => Error>(call: Promise<unknown>, type: T): Promise<InstanceType<T>> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(type)
  return error as InstanceType<T>
}

describe('messages.create', () => {
  it('plain: the client gets the upstream message; the upstream gets the body, the configured key and the SDK anthropic-version', async () => {
    const message = await gw.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: hello, stop_sequences: ['END'] })
    expect(message).toEqual(recordedText)
    const upstream = gw.onlyRequest()
    expect(upstream.method).toBe('POST')
    expect(upstream.path).toBe('/v1/messages')
    expect(upstream.json).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: hello, stop_sequences: ['END'] })
    expect(upstream.headers['content-type']).toMatch(/^application\/json/)
    // The SDK's own API version reaches the upstream (the gateway's default only fills a gap).
    expect(upstream.headers['anthropic-version']).toBe('2026-10-21')
    expectAnthropicKey(upstream)
  })

  it('anthropic/ prefix: only the model changes, the other body bytes reach the upstream as sent', async () => {
    const raw = '{ "model" : "anthropic/claude-sonnet-4-5",\n  "max_tokens": 64, "temperature": 1.0, "service_tier": "auto",\n  "messages": [{"role": "user", "content": "Hi \\u00e9"}] }'
    const response = await gw.post('/anthropic/v1/messages', raw)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-provider')).toBe('anthropic')
    expect(response.headers.get('x-bf-model')).toBe('claude-sonnet-4-5')
    expect(await response.text()).toBe(fixtureText('anthropic/messages-text.json'))
    expect(gw.onlyRequest().rawBody).toBe(raw.replace('"anthropic/claude-sonnet-4-5"', '"claude-sonnet-4-5"'))
  })

  it('without an anthropic-version from the caller the upstream gets the default 2023-06-01', async () => {
    const response = await fetch(`${gw.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: hello }) })
    expect(response.status).toBe(200)
    expect(gw.onlyRequest().headers['anthropic-version']).toBe('2023-06-01')
  })

  it('also serves /anthropic/messages without /v1', async () => {
    const response = await gw.post('/anthropic/messages', JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: hello }))
    expect(response.status).toBe(200)
    expect(gw.onlyRequest().path).toBe('/v1/messages')
  })

  it('images as base64 and URL reach the upstream unchanged', async () => {
    const messages: Anthropic.MessageParam[] = [{
      role: 'user',
      content: [
        { type: 'text', text: 'What is in these images?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg' } },
      ],
    }]
    const message = await gw.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages })
    expect(message.content[0]).toMatchObject({ type: 'text' })
    expect(gw.onlyRequest().json.messages).toEqual(messages)
  })
})

describe('streaming', () => {
  it('messages.stream(...).finalMessage() assembles the relayed events', async () => {
    const stream = gw.anthropic.messages.stream({ model: 'claude-opus-4-20250514', max_tokens: 1024, messages: hello })
    const texts: string[] = []
    stream.on('text', (text) => texts.push(text))
    const message = await stream.finalMessage()
    expect(texts).toEqual(['Hello', ' there', '!'])
    expect(message).toMatchObject({ id: 'msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK', role: 'assistant', content: [{ type: 'text', text: 'Hello there!' }], stop_reason: 'end_turn' })
    expect(message.usage).toMatchObject({ input_tokens: 11, output_tokens: 6 })
    expect(gw.onlyRequest().json).toEqual({ model: 'claude-opus-4-20250514', max_tokens: 1024, messages: hello, stream: true })
  })

  it('the SSE bytes are relayed byte for byte (ping with its space included)', async () => {
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify({ model: 'claude-opus-4-20250514', max_tokens: 1024, messages: hello, stream: true }))
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await response.text()).toBe(fixtureText('anthropic/messages-stream-text.sse'))
  })

  it('the recorded thinking stream with its whitespace padding is relayed byte for byte', async () => {
    const body = { model: 'claude-sonnet-4-0', max_tokens: 4096, messages: [{ role: 'user', content: 'How do I cross the street?' }], stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } }
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify(body))
    expect(await response.text()).toBe(cassette('anthropic/messages-stream-thinking.cassette.yaml')[0]!.response.body)
  })

  it('messages.create({stream: true}) yields the exact event sequence', async () => {
    const stream = await gw.anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: hello, tools: [weather], stream: true })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    const expected = splitSseEvents(fixtureText('anthropic/messages-stream-tool-use.sse')).map((frame) => frame.split('\n')[0]!.slice('event: '.length)).filter((type) => type !== 'ping')
    expect(types).toEqual(expected)
  })

  it('a client that stops reading mid-stream cancels the upstream request', async () => {
    gw.mock.setNext({ status: 200, events: splitSseEvents(fixtureText('anthropic/messages-stream-text.sse')), eventDelayMs: 100 })
    const stream = await gw.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: hello, stream: true })
    for await (const event of stream) {
      expect(event.type).toBe('message_start')
      break
    }
    await vi.waitFor(() => expect(gw.mock.requests[0]!.outcome).toBe('aborted'), { timeout: 1_500 })
  })
})

describe('tools', () => {
  it('tool_use, then the tool_result round trip', async () => {
    const question: Anthropic.MessageParam = { role: 'user', content: 'Alice, Bob, Charlie and Daisy are a family. Who is the youngest?' }
    const first = await gw.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 4096, messages: [question], tools: [entityTool], tool_choice: { type: 'auto' } })
    expect(first.stop_reason).toBe('tool_use')
    const calls = first.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')
    expect(calls.map((call) => call.input)).toEqual([{ name: 'Alice' }, { name: 'Bob' }, { name: 'Charlie' }, { name: 'Daisy' }])
    expect(first).toEqual(JSON.parse(parallel[0]!.response.body))
    expect(gw.mock.requests[0]!.json.tools).toEqual([entityTool])
    expect(gw.mock.requests[0]!.json.tool_choice).toEqual({ type: 'auto' })

    const results: Anthropic.ToolResultBlockParam[] = calls.map((call, index) => ({ type: 'tool_result', tool_use_id: call.id, content: `fact ${index}`, ...(index === 3 && { is_error: true }) }))
    const history: Anthropic.MessageParam[] = [question, { role: 'assistant', content: first.content }, { role: 'user', content: results }]
    const second = await gw.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 4096, messages: history, tools: [entityTool] })
    expect(second.stop_reason).toBe('end_turn')
    expect(second.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('Daisy is the youngest') })
    expect(gw.mock.requests[1]!.json.messages).toEqual(JSON.parse(JSON.stringify(history)))
  })

  it('streamed tool input arrives complete through the stream helper', async () => {
    const message = await gw.anthropic.messages.stream({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather] }).finalMessage()
    expect(message.content).toEqual([
      { type: 'text', text: "I'll check the current weather in Paris for you." },
      { type: 'tool_use', id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', input: { location: 'Paris' } },
    ])
    expect(message.stop_reason).toBe('tool_use')
  })
})

describe('count_tokens and models', () => {
  it('countTokens is forwarded to the Anthropic upstream with the model prefix removed', async () => {
    const counted = await gw.anthropic.messages.countTokens({ model: 'anthropic/claude-sonnet-4-5', messages: hello, system: 'Be brief.', tools: [weather] })
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/messages/count_tokens')
    expect(upstream.json).toEqual({ model: 'claude-sonnet-4-5', messages: hello, system: 'Be brief.', tools: [weather] })
    expect(counted).toEqual({ input_tokens: mockTokenCount(upstream.json) })
    expect(upstream.headers['anthropic-version']).toBe('2026-10-21')
    expectAnthropicKey(upstream)
  })

  it('models.list lists the gateway models in the Anthropic shape', async () => {
    const ids: string[] = []
    for await (const model of gw.anthropic.models.list()) {
      expect(model.type).toBe('model')
      ids.push(model.id)
    }
    expect(ids).toContain('mock/echo')
    for (const id of ids) expect(id).toMatch(/^[a-z0-9_-]+\/.+/)
    expect(gw.mock.requests).toHaveLength(0)
  })
})

describe('errors', () => {
  it('400 from the upstream stays 400 with the upstream message (BadRequestError)', async () => {
    const error = await rejection(gw.anthropic.messages.create({ model: ANTHROPIC_ERROR_MODELS.invalidRequest, max_tokens: 10, messages: hello }), Anthropic.BadRequestError)
    expect(error.status).toBe(400)
    expect(error.type).toBe('invalid_request_error')
    expect(error.message).toContain("This model does not support effort level 'xhigh'")
    expectAnthropicError(error.error, 'invalid_request_error')
  })

  it('404, 500 and 529 keep their status and Anthropic error type', async () => {
    const notFound = await rejection(gw.anthropic.messages.create({ model: ANTHROPIC_ERROR_MODELS.notFound, max_tokens: 10, messages: hello }), Anthropic.NotFoundError)
    expect(notFound.type).toBe('not_found_error')
    const server = await rejection(gw.anthropic.messages.create({ model: ANTHROPIC_ERROR_MODELS.serverError, max_tokens: 10, messages: hello }), Anthropic.InternalServerError)
    expect(server.status).toBe(500)
    expect(server.type).toBe('api_error')
    const overloaded = await rejection(gw.anthropic.messages.create({ model: ANTHROPIC_ERROR_MODELS.overloaded, max_tokens: 10, messages: hello, stream: true }), Anthropic.OverloadedError)
    expect(overloaded.status).toBe(529)
    expect(overloaded.type).toBe('overloaded_error')
  })

  it('429 stays 429 with retry-after (RateLimitError)', async () => {
    const error = await rejection(gw.anthropic.messages.create({ model: ANTHROPIC_ERROR_MODELS.rateLimited, max_tokens: 10, messages: hello }), Anthropic.RateLimitError)
    expect(error.status).toBe(429)
    expect(error.type).toBe('rate_limit_error')
    expect(error.headers?.get('retry-after')).toBe(ANTHROPIC_RETRY_AFTER)
    expect(gw.mock.requests).toHaveLength(1)
  })

  it('a missing max_tokens is a 400 in the Anthropic shape, and nothing is sent upstream', async () => {
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify({ model: 'claude-sonnet-4-5', messages: hello }))
    expect(response.status).toBe(400)
    const body = await response.json()
    expectAnthropicError(body, 'invalid_request_error')
    expect(body.error.message).toContain('max_tokens')
    const viaSdk = await rejection(gw.anthropic.messages.create({ model: 'claude-sonnet-4-5', messages: hello } as unknown as Anthropic.MessageCreateParamsNonStreaming), Anthropic.BadRequestError)
    expect(viaSdk.message).toContain('max_tokens')
    expect(gw.mock.requests).toHaveLength(0)
  })

  it('bad input gets a 400 in the Anthropic shape: no model, bad JSON, unknown provider prefix', async () => {
    for (const raw of [JSON.stringify({ max_tokens: 10, messages: hello }), '{"model":', JSON.stringify({ model: 'nosuch/claude', max_tokens: 10, messages: hello }), JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10 })]) {
      const response = await gw.post('/anthropic/v1/messages', raw)
      expect(response.status).toBe(400)
      expectAnthropicError(await response.json(), 'invalid_request_error')
    }
    expect(gw.mock.requests).toHaveLength(0)
  })

  it('an unknown route under /anthropic is a 404 in the Anthropic shape', async () => {
    const response = await gw.post('/anthropic/v1/complete', '{}')
    expect(response.status).toBe(404)
    expectAnthropicError(await response.json(), 'not_found_error')
  })
})

describe('stream events as the SDK parses them', () => {
  it('every relayed event parses and keeps its index', async () => {
    const response = await gw.post('/anthropic/v1/messages', JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: hello, tools: [weather], stream: true }))
    const events = sseEvents(await response.text())
    expect(events.map((event) => event.event)).toEqual(events.map((event) => event.data.type))
    expect(events.filter((event) => event.event === 'content_block_start').map((event) => event.data.index)).toEqual([0, 1])
  })
})
