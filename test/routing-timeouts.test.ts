import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { anthropicProvider, contentOf, drain, hello, openaiProvider, rejection, useRouting, within, type OpenAIError, type AnthropicError } from './support/routing.js'

/**
 * Timeouts: `default_request_timeout_in_seconds` until the upstream answers (504), and
 * `stream_idle_timeout_in_seconds` for silence in the middle of a body (an error event in the
 * caller's dialect). Either way the upstream socket is closed.
 */

const r = useRouting(['slow'])

const gatewayWith = (network: Record<string, unknown>) => r.launch({ providers: { openai: openaiProvider(r.up.slow, { network }) } })

describe('request timeout', () => {
  it('hang before headers -> 504 in OpenAI shape after the timeout, and the upstream socket is closed', async () => {
    r.up.slow.script({}, fault.hangBeforeHeaders())
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 0.3 })
    const started = performance.now()
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    const elapsed = performance.now() - started
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(504)
    expect(error.error).toMatchObject({ message: expect.stringContaining('[openai]'), type: expect.any(String) })
    expect(elapsed).toBeGreaterThanOrEqual(280)
    expect(elapsed).toBeLessThan(1_500)
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
    expect(r.up.slow.requests[0]).toMatchObject({ aborted: true, socketClosed: true })
    expect(r.up.slow.requests[0]!.abortedAt! - r.up.slow.requests[0]!.at).toBeLessThan(1_000)
  })

  it('a streaming request that gets no headers is a 504 too (before any byte, so a plain error response)', async () => {
    r.up.slow.script({}, fault.hangBeforeHeaders())
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 0.3 })
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }))) as OpenAIError
    expect(error.status).toBe(504)
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
    expect(r.up.slow.requests[0]!.aborted).toBe(true)
  })

  it('a timeout is retryable: hang, then ok on the retry', async () => {
    r.up.slow.script({}, fault.hangBeforeHeaders())
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 0.3, max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 })
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.slow.textOf())
    expect(r.up.slow.requests.map((request) => [request.fault, request.aborted])).toEqual([
      ['hang-before-headers', true],
      ['ok', false],
    ])
  })

  it('a non-stream body that stalls halfway is cut by the timeout too: 504 (the gateway reads it whole first), socket closed', async () => {
    r.up.slow.script({}, fault.hangMidStream())
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 0.3, stream_idle_timeout_in_seconds: 0 })
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error.status).toBe(504)
    expect(error.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
    expect(r.up.slow.requests[0]!.aborted).toBe(true)
  })

  it('a non-stream body that breaks off halfway is a 502 in OpenAI shape', async () => {
    r.up.slow.script({}, fault.resetMidStream())
    const gateway = await gatewayWith({})
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error.status).toBe(502)
  })

  it('a slow answer inside the timeout is not cut', async () => {
    r.up.slow.script({}, fault.ok({ delayMs: 200 }))
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 1 })
    const completion = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(completion.choices[0]!.message.content).toBe(r.up.slow.textOf())
  })

  it('Anthropic SDK, cross-dialect: a hung OpenAI upstream is a 504 in the Anthropic error shape', async () => {
    r.up.slow.script({}, fault.hangBeforeHeaders())
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 0.3 })
    const error = (await rejection(gateway.anthropic.messages.create({ model: 'openai/gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] }))) as AnthropicError
    expect(error.status).toBe(504)
    expect(error.error).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
  })
})

describe('stream idle timeout', () => {
  it('hang mid-stream -> the chunks so far, then an error event in the OpenAI dialect; upstream socket closed', async () => {
    // 3 events: the role chunk and two content chunks.
    r.up.slow.script({}, fault.hangMidStream(3))
    const gateway = await gatewayWith({ default_request_timeout_in_seconds: 5, stream_idle_timeout_in_seconds: 0.3 })
    const started = performance.now()
    const stream = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    const { chunks, error, timedOut } = await drain(stream)
    const elapsed = performance.now() - started
    expect(timedOut, 'the gateway ended the stalled stream').toBe(false)
    expect(contentOf(chunks)).toBe('slow:0 slow:1 ')
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(String((error as Error).message)).toMatch(/idle|timed out|timeout/i)
    expect(elapsed).toBeGreaterThanOrEqual(280)
    expect(elapsed).toBeLessThan(2_000)
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
    expect(r.up.slow.requests[0]!.aborted).toBe(true)
  })

  it('the raw stream ends with a `data: {"error": ...}` event in OpenAI shape (and no [DONE])', async () => {
    r.up.slow.script({}, fault.hangMidStream(2))
    const gateway = await gatewayWith({ stream_idle_timeout_in_seconds: 0.3 })
    const response = await gateway.post('/openai/v1/chat/completions', { model: 'gpt-4o', messages: hello, stream: true })
    expect(response.status).toBe(200)
    const text = await response.text()
    const last = text.trim().split('\n\n').at(-1)!
    expect(last.startsWith('data: ')).toBe(true)
    expect(JSON.parse(last.slice(6))).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code: expect.toBeOneOf([expect.any(String), null]) } })
    expect(text).not.toContain('[DONE]')
  })

  it('a stream that keeps sending (slower than nothing, faster than the idle limit) is not cut', async () => {
    r.up.slow.script({}, fault.ok({ chunks: 6, chunkDelayMs: 100 }))
    const gateway = await gatewayWith({ stream_idle_timeout_in_seconds: 0.3 })
    const { chunks, error } = await drain(await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }))
    expect(error).toBeUndefined()
    expect(contentOf(chunks)).toBe(r.up.slow.textOf(6))
  })

  it('Anthropic SDK, cross-dialect: the stalled OpenAI stream ends with an Anthropic `error` event', async () => {
    r.up.slow.script({}, fault.hangMidStream(3))
    const gateway = await gatewayWith({ stream_idle_timeout_in_seconds: 0.3 })
    const stream = gateway.anthropic.messages.stream({ model: 'openai/gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] })
    const error = await within(stream.finalMessage(), () => stream.abort()).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
  })

  it('Anthropic passthrough: a stalled Anthropic upstream stream ends with an Anthropic `error` event', async () => {
    r.up.slow.script({}, fault.hangMidStream(3))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.slow.url, { network: { stream_idle_timeout_in_seconds: 0.3 } }) } })
    const response = await gateway.post('/anthropic/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }], stream: true })
    const frames = (await response.text()).trim().split('\n\n')
    const last = frames.at(-1)!
    expect(last).toMatch(/^event: error\ndata: /)
    expect(JSON.parse(last.split('\ndata: ')[1]!)).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
    expect(await r.up.slow.waitForNoOpenSockets(1_000)).toBe(0)
  })
})
