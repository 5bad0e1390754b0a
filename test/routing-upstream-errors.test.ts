import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { anthropicProvider, contentOf, drain, hello, openaiProvider, rejection, useRouting, within, type OpenAIError, type AnthropicError } from './support/routing.js'

/**
 * An upstream that answers 200 with garbage: malformed JSON is a 502 in the caller's dialect;
 * a malformed SSE line ends the stream with an error event in the caller's dialect.
 */

const r = useRouting(['broken'])

const openaiOnly = () => r.launch({ providers: { openai: openaiProvider(r.up.broken) } })

describe('malformed JSON', () => {
  it('OpenAI SDK, same dialect: 502 in OpenAI shape', async () => {
    r.up.broken.script({}, fault.malformedJson())
    const gateway = await openaiOnly()
    const error = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(502)
    expect(error.error).toEqual({ message: expect.stringContaining('[openai]'), type: expect.any(String), param: null, code: expect.toBeOneOf([expect.any(String), null]) })
    expect(r.up.broken.requests).toHaveLength(1)
  })

  it('raw: the 502 body is JSON in OpenAI shape with x-bf-provider', async () => {
    r.up.broken.script({}, fault.malformedJson())
    const gateway = await openaiOnly()
    const response = await gateway.post('/openai/v1/chat/completions', { model: 'gpt-4o', messages: hello })
    expect(response.status).toBe(502)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('x-bf-provider')).toBe('openai')
    expect(await response.json()).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } })
  })

  it('Anthropic SDK -> OpenAI upstream (translated): 502 in Anthropic shape', async () => {
    r.up.broken.script({}, fault.malformedJson())
    const gateway = await openaiOnly()
    const error = (await rejection(gateway.anthropic.messages.create({ model: 'openai/gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] }))) as AnthropicError
    expect(error.status).toBe(502)
    expect(error.error).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
  })

  it('Anthropic SDK, same dialect: 502 in Anthropic shape', async () => {
    r.up.broken.script({}, fault.malformedJson())
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.broken.url) } })
    const error = (await rejection(gateway.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] }))) as AnthropicError
    expect(error.status).toBe(502)
    expect(error.error).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
  })
})

describe('malformed SSE', () => {
  it('OpenAI SDK, same dialect: the valid chunks, then an error chunk (APIError, not a JSON parse error)', async () => {
    r.up.broken.script({}, fault.malformedSse(2))
    const gateway = await openaiOnly()
    const { chunks, error, timedOut } = await drain(await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }))
    expect(timedOut).toBe(false)
    expect(contentOf(chunks)).toBe('broken:0 ')
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(r.up.broken.requests).toHaveLength(1)
  })

  it('raw: the stream carries a `data: {"error": ...}` event in OpenAI shape where the bad line was, and stops there', async () => {
    r.up.broken.script({}, fault.malformedSse(2))
    const gateway = await openaiOnly()
    const response = await gateway.post('/openai/v1/chat/completions', { model: 'gpt-4o', messages: hello, stream: true })
    const frames = (await response.text()).trim().split('\n\n')
    const errors = frames.filter((frame) => frame.includes('"error"'))
    expect(errors).toHaveLength(1)
    expect(JSON.parse(errors[0]!.replace(/^data: /, ''))).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } })
    expect(frames.at(-1)).toBe(errors[0])
    expect(frames.some((frame) => frame.includes('"id":"broken"'))).toBe(false)
  })

  it('OpenAI SDK -> Anthropic upstream (translated): an error chunk in OpenAI shape', async () => {
    r.up.broken.script({}, fault.malformedSse(3))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.broken.url) } })
    const { error, timedOut } = await drain(await gateway.openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, messages: hello, stream: true }))
    expect(timedOut).toBe(false)
    expect(error).toBeInstanceOf(OpenAI.APIError)
  })

  it('Anthropic SDK, same dialect: an Anthropic `error` event', async () => {
    r.up.broken.script({}, fault.malformedSse(3))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.broken.url) } })
    const stream = gateway.anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hello!' }] })
    const error = await within(stream.finalMessage(), () => stream.abort()).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(Anthropic.APIError)
  })
})
