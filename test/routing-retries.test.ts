import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { closedPort, fault } from './support/fault-upstream.js'
import { anthropicProvider, contentOf, drain, hello, openaiProvider, rejection, useRouting, within, type OpenAIError } from './support/routing.js'

/**
 * Retries: `network_config.max_retries` for retryable failures (connection errors, 408, 409, 429,
 * 5xx), full-jitter exponential backoff, `retry-after` honoured, and never once a byte of a stream
 * has gone to the caller.
 */

const r = useRouting(['retry'])

/** One key, `max_retries`, small backoffs. */
const withRetries = (maxRetries: number, network: Record<string, unknown> = {}) => ({
  providers: { openai: openaiProvider(r.up.retry, { network: { max_retries: maxRetries, retry_backoff_initial_ms: 5, retry_backoff_max_ms: 20, ...network } }) },
})

const gaps = () => r.up.retry.requests.slice(1).map((request, index) => request.at - r.up.retry.requests[index]!.at)

describe('which failures are retried', () => {
  for (const status of [500, 502, 503, 504, 408, 409, 429]) {
    it(`${status} is retried: ${status} x2 then ok -> 200 after 3 attempts`, async () => {
      r.up.retry.script({}, fault.status(status), fault.status(status))
      const gateway = await r.launch(withRetries(2))
      const { data, response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).withResponse()
      expect(response.status).toBe(200)
      expect(data.choices[0]!.message.content).toBe(r.up.retry.textOf())
      expect(r.up.retry.requests.map((request) => request.fault)).toEqual(['status', 'status', 'ok'])
      // Every attempt carried the same body.
      expect(new Set(r.up.retry.requests.map((request) => request.rawBody)).size).toBe(1)
    })
  }

  it('a connection cut before any answer (socket destroyed) is retried', async () => {
    r.up.retry.script({}, fault.refuse())
    const gateway = await r.launch(withRetries(1))
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.retry.textOf())
    expect(r.up.retry.requests.map((request) => request.fault)).toEqual(['refuse', 'ok'])
  })

  it('a refused connection (nothing listening) is retried, then answers 502 in OpenAI shape', async () => {
    const port = await closedPort()
    const gateway = await r.launch({ providers: { openai: { keys: [{ value: 'sk-x', models: [], weight: 1 }], network_config: { base_url: `http://127.0.0.1:${port}/v1`, max_retries: 2, retry_backoff_initial_ms: 5, retry_backoff_max_ms: 20 } } } })
    const started = performance.now()
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(502)
    expect(error.error).toMatchObject({ message: expect.stringContaining('[openai]'), type: expect.any(String) })
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  for (const status of [400, 404, 422]) {
    it(`${status} is not retried: one attempt, the client gets ${status}`, async () => {
      r.up.retry.script({}, fault.status(status))
      const gateway = await r.launch(withRetries(3))
      const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
      expect(error.status).toBe(status)
      expect(r.up.retry.requests).toHaveLength(1)
    })
  }

  it('retries spent: 500 x (1 + max_retries) -> the client gets the last 500, upstream saw exactly 1 + max_retries attempts', async () => {
    r.up.retry.always({}, fault.status(500))
    const gateway = await r.launch(withRetries(3))
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect(error.error).toEqual({ message: expect.any(String), type: 'server_error', param: null, code: null })
    expect(r.up.retry.requests).toHaveLength(4)
  })

  it('max_retries 0 (the default): one attempt', async () => {
    r.up.retry.always({}, fault.status(503))
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.retry) } })
    await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))
    expect(r.up.retry.requests).toHaveLength(1)
  })

  it('a streaming request that fails before its first byte is retried like any other', async () => {
    r.up.retry.script({}, fault.status(503), fault.refuse())
    const gateway = await r.launch(withRetries(2))
    const stream = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    expect(contentOf(chunks)).toBe(r.up.retry.textOf())
    expect(r.up.retry.requests.map((request) => request.fault)).toEqual(['status', 'refuse', 'ok'])
  })
})

describe('backoff', () => {
  it('full jitter: each wait is at most min(max, initial x 2^attempt)', async () => {
    r.up.retry.always({}, fault.status(500))
    const gateway = await r.launch(withRetries(4, { retry_backoff_initial_ms: 40, retry_backoff_max_ms: 100 }))
    await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))
    expect(r.up.retry.requests).toHaveLength(5)
    // Caps: 40, 80, 100, 100 ms; plus a generous allowance for the round trip on a busy machine.
    const caps = [40, 80, 100, 100]
    gaps().forEach((gap, index) => expect(gap, `wait before attempt ${index + 2}`).toBeLessThan(caps[index]! + 150))
  })

  it('retry-after is honoured (1 s, when the backoff alone would be ~1 ms)', async () => {
    r.up.retry.script({}, fault.status(429, { retryAfter: '1' }))
    const gateway = await r.launch(withRetries(1, { retry_backoff_initial_ms: 1, retry_backoff_max_ms: 1_000 }))
    const { response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).withResponse()
    expect(response.status).toBe(200)
    expect(r.up.retry.requests).toHaveLength(2)
    expect(gaps()[0]).toBeGreaterThanOrEqual(950)
    expect(gaps()[0]).toBeLessThan(1_600)
  })

  it('retry-after on a 503 is honoured too', async () => {
    r.up.retry.script({}, fault.status(503, { retryAfter: '1' }))
    const gateway = await r.launch(withRetries(1, { retry_backoff_initial_ms: 1, retry_backoff_max_ms: 1_000 }))
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(gaps()[0]).toBeGreaterThanOrEqual(950)
  })

  it('a caller that leaves during the backoff ends the retries: no further attempt', async () => {
    r.up.retry.script({}, fault.status(503, { retryAfter: '2' }))
    const gateway = await r.launch(withRetries(1, { retry_backoff_max_ms: 2_000 }))
    const controller = new AbortController()
    const call = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { signal: controller.signal })
    await r.up.retry.waitForRequests(1)
    setTimeout(() => controller.abort(), 100)
    await rejection(call)
    await new Promise((resolve) => setTimeout(resolve, 2_300))
    expect(r.up.retry.requests).toHaveLength(1)
  })
})

describe('never after the first byte of a stream', () => {
  it('reset mid-stream: the client gets the first chunks then an error chunk (APIError); the upstream saw exactly 1 request', async () => {
    r.up.retry.script({}, fault.resetMidStream(3))
    const gateway = await r.launch(withRetries(3))
    const stream = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    const { chunks, error } = await drain(stream)
    // Role chunk + 2 content chunks made it through before the cut.
    expect(chunks.length).toBeGreaterThanOrEqual(1)
    expect(contentOf(chunks)).toBe(`retry:0 retry:1 `)
    // An error chunk in the OpenAI dialect makes the SDK throw APIError, not a network or JSON error.
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(r.up.retry.requests).toHaveLength(1)
  })

  it('hang mid-stream: no retry either (the stream idle timeout ends it with an error chunk)', async () => {
    r.up.retry.script({}, fault.hangMidStream(2))
    const gateway = await r.launch(withRetries(3, { stream_idle_timeout_in_seconds: 0.3 }))
    const stream = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    const { error, timedOut } = await drain(stream)
    expect(timedOut, 'the gateway ended the stalled stream').toBe(false)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(r.up.retry.requests).toHaveLength(1)
  })

  it('Anthropic SDK, same dialect: reset mid-stream ends with an Anthropic `error` event, no retry', async () => {
    r.up.retry.script({}, fault.resetMidStream(3))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.retry.url, { network: { max_retries: 3, retry_backoff_initial_ms: 5, retry_backoff_max_ms: 20 } }) } })
    const response = await gateway.post('/anthropic/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }], stream: true })
    const frames = (await response.text()).trim().split('\n\n')
    expect(frames[0]).toMatch(/^event: message_start\n/)
    expect(frames.at(-1)).toMatch(/^event: error\ndata: /)
    expect(JSON.parse(frames.at(-1)!.split('\ndata: ')[1]!)).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
    expect(r.up.retry.requests).toHaveLength(1)

    r.up.retry.script({}, fault.resetMidStream(3))
    const stream = gateway.anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] })
    const error = await within(stream.finalMessage(), () => stream.abort()).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(r.up.retry.requests).toHaveLength(2)
  })
})
