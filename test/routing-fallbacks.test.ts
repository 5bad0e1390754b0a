import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fault } from './support/fault-upstream.js'
import { fixtureText } from './support/fixtures.js'
import { anthropicProvider, contentOf, drain, hello, openaiProvider, rejection, useRouting, type OpenAIError, type AnthropicError } from './support/routing.js'

/**
 * Fallbacks: the request's `fallbacks` body field, then `providers.<id>.fallbacks` from config,
 * tried in order once the primary's retries are spent, each in its own dialect. The response says
 * who answered: `x-bf-provider`, `x-bf-model`, `x-bf-fallback-index` (0 = the primary).
 */

const r = useRouting(['primary', 'backup'], { anthropicMock: true })
const ANTHROPIC_KEY = 'sk-ant-fallback-key'
const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))

/** `openai` -> primary (1 retry), `backup` (an OpenAI-compatible provider id) -> backup, `anthropic` -> the mock. */
function config(options: { openaiFallbacks?: string[]; backupFallbacks?: string[]; client?: Record<string, unknown> } = {}) {
  const network = { max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 }
  return {
    providers: {
      openai: openaiProvider(r.up.primary, { keys: ['sk-primary'], network, extra: options.openaiFallbacks ? { fallbacks: options.openaiFallbacks } : {} }),
      backup: openaiProvider(r.up.backup, { keys: ['sk-backup'], network, extra: { package: '@switchyard/provider-openai', ...(options.backupFallbacks ? { fallbacks: options.backupFallbacks } : {}) } }),
      anthropic: anthropicProvider(r.anthropicMock.url, { keys: [ANTHROPIC_KEY] }),
    },
    ...(options.client ? { client: options.client } : {}),
  }
}

/** The SDK's params plus the gateway's `fallbacks` field (not in the SDK's types; sent as is). */
const withFallbacks = <T extends object>(params: T, fallbacks: string[]): T => ({ ...params, fallbacks }) as T

const routedBy = (headers: Headers) => ({ provider: headers.get('x-bf-provider'), model: headers.get('x-bf-model'), index: headers.get('x-bf-fallback-index') })

describe('request-level fallbacks', () => {
  it('primary 500 x (1 + max_retries), then the fallback answers; the SDK sees who answered', async () => {
    r.up.primary.always({}, fault.status(500))
    const gateway = await r.launch(config())
    const { data, response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/gpt-4o-mini'])).withResponse()
    expect(response.status).toBe(200)
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]!.message.content).toBe(r.up.backup.textOf())
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'gpt-4o-mini', index: '1' })
    // Bifrost's provider-extension field in the body says the same.
    expect((data as unknown as { extra_fields: unknown }).extra_fields).toEqual({ provider: 'backup', model_requested: 'gpt-4o-mini', fallback_index: 1 })

    expect(r.up.primary.requests.map((request) => [request.key, request.model])).toEqual([
      ['sk-primary', 'gpt-4o'],
      ['sk-primary', 'gpt-4o'],
    ])
    const [fallback] = r.up.backup.requests
    expect(r.up.backup.requests).toHaveLength(1)
    expect(fallback!.key).toBe('sk-backup')
    expect(fallback!.json.model).toBe('gpt-4o-mini')
    // `fallbacks` is the gateway's field: no upstream ever sees it.
    for (const request of [...r.up.primary.requests, fallback!]) {
      expect(request.json).not.toHaveProperty('fallbacks')
      expect(request.json.messages).toEqual(hello)
    }
  })

  it('the primary answering: no fallback is called, x-bf-fallback-index is 0 (or absent)', async () => {
    const gateway = await r.launch(config())
    const { response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/gpt-4o-mini'])).withResponse()
    expect(response.headers.get('x-bf-provider')).toBe('openai')
    expect(response.headers.get('x-bf-model')).toBe('gpt-4o')
    expect([null, '0']).toContain(response.headers.get('x-bf-fallback-index'))
    expect(r.up.primary.requests).toHaveLength(1)
    expect(r.up.primary.requests[0]!.json).not.toHaveProperty('fallbacks')
    expect(r.up.backup.requests).toHaveLength(0)
  })

  it('fallbacks are tried in order: the first fails too (after its own retries), the second answers with index 2', async () => {
    r.up.primary.always({}, fault.status(503))
    r.up.backup.always({ model: 'first-choice' }, fault.status(500))
    const gateway = await r.launch(config())
    const { response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/first-choice', 'backup/second-choice'])).withResponse()
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'second-choice', index: '2' })
    expect(r.up.primary.requests).toHaveLength(2)
    expect(r.up.backup.requests.map((request) => request.model)).toEqual(['first-choice', 'first-choice', 'second-choice'])
  })

  it('every target failing: the client gets the last failure, in OpenAI shape, and each target was tried once (with its retries)', async () => {
    r.up.primary.always({}, fault.status(500))
    r.up.backup.always({}, fault.status(503))
    const gateway = await r.launch(config())
    const error = (await rejection(gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/gpt-4o-mini'])))) as OpenAIError
    expect(error.status).toBe(503)
    expect(error.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    expect(error.headers?.get('x-bf-provider')).toBe('backup')
    expect(r.up.primary.requests).toHaveLength(2)
    expect(r.up.backup.requests).toHaveLength(2)
  })

  it('a caller error (400) does not fall back: the client gets the 400, the fallback is never called', async () => {
    r.up.primary.script({}, fault.status(400))
    const gateway = await r.launch(config())
    const error = (await rejection(gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/gpt-4o-mini'])))) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(r.up.primary.requests).toHaveLength(1)
    expect(r.up.backup.requests).toHaveLength(0)
  })

  it('a rate-limited primary (429 with retry-after) falls back', async () => {
    r.up.primary.always({}, fault.status(429, { retryAfter: '30' }))
    const gateway = await r.launch({ ...config(), providers: { ...config().providers, openai: openaiProvider(r.up.primary, { keys: ['sk-primary'] }) } })
    const { response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/gpt-4o-mini'])).withResponse()
    expect(routedBy(response.headers).provider).toBe('backup')
    expect(r.up.primary.requests).toHaveLength(1)
  })

  it('a malformed `fallbacks` field is a 400 in OpenAI shape and nothing is sent upstream', async () => {
    const gateway = await r.launch(config())
    for (const fallbacks of [['nope/model'], ['no-provider-prefix'], 'backup/gpt-4o-mini', [42]]) {
      const response = await gateway.post('/openai/v1/chat/completions', { model: 'gpt-4o', messages: hello, fallbacks })
      expect(response.status, JSON.stringify(fallbacks)).toBe(400)
      const body = await response.json()
      expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.any(String) })
      expect(body.error.param ?? '').toMatch(/^fallbacks/)
    }
    expect(r.up.primary.requests).toHaveLength(0)
    expect(r.up.backup.requests).toHaveLength(0)
  })

  it('streams: the primary fails before the first byte, the fallback streams; headers name it', async () => {
    r.up.primary.always({}, fault.status(502))
    const gateway = await r.launch(config())
    const { data: stream, response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello, stream: true as const }, ['backup/gpt-4o-mini'])).withResponse()
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'gpt-4o-mini', index: '1' })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    expect(contentOf(chunks)).toBe(r.up.backup.textOf())
    expect(r.up.backup.requests[0]!.stream).toBe(true)
    expect(r.up.backup.requests[0]!.json).not.toHaveProperty('fallbacks')
  })
})

describe('config-level fallbacks', () => {
  it('providers.openai.fallbacks is used when the request names none', async () => {
    r.up.primary.always({}, fault.status(500))
    const gateway = await r.launch(config({ openaiFallbacks: ['backup/gpt-4o-mini'] }))
    const { data, response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).withResponse()
    expect(data.choices[0]!.message.content).toBe(r.up.backup.textOf())
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'gpt-4o-mini', index: '1' })
    expect(r.up.primary.requests).toHaveLength(2)
  })

  it('the request field comes first, then the config list; a target listed in both is tried once', async () => {
    r.up.primary.always({}, fault.status(500))
    r.up.backup.always({ model: 'from-request' }, fault.status(500))
    r.up.backup.always({ model: 'shared' }, fault.status(500))
    const gateway = await r.launch(config({ openaiFallbacks: ['backup/shared', 'backup/from-config'] }))
    const { response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello }, ['backup/from-request', 'backup/shared'])).withResponse()
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'from-config', index: '3' })
    expect(r.up.backup.requests.map((request) => request.model)).toEqual(['from-request', 'from-request', 'shared', 'shared', 'from-config'])
  })

  it('config fallbacks are the primary provider’s: a fallback provider’s own list is not chained', async () => {
    r.up.primary.always({}, fault.status(500))
    r.up.backup.always({}, fault.status(500))
    const gateway = await r.launch(config({ openaiFallbacks: ['backup/gpt-4o-mini'], backupFallbacks: ['anthropic/claude-sonnet-4-5'] }))
    await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))
    expect(r.anthropicMock.requests).toHaveLength(0)
  })
})

describe('fallback across dialects', () => {
  it('OpenAI primary fails -> Anthropic fallback; the OpenAI SDK still gets an OpenAI chat.completion', async () => {
    r.up.primary.always({}, fault.status(500))
    const gateway = await r.launch(config())
    const { data, response } = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello, max_tokens: 100 }, ['anthropic/claude-sonnet-4-5'])).withResponse()
    expect(routedBy(response.headers)).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5', index: '1' })
    expect(data).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: recordedMessage.content[0].text }, finish_reason: 'stop' }] })
    expect(data.usage).toMatchObject({ prompt_tokens: recordedMessage.usage.input_tokens, completion_tokens: recordedMessage.usage.output_tokens })
    expect((data as unknown as { extra_fields: unknown }).extra_fields).toEqual({ provider: 'anthropic', model_requested: 'claude-sonnet-4-5', fallback_index: 1 })

    expect(r.anthropicMock.requests).toHaveLength(1)
    const upstream = r.anthropicMock.requests[0]!
    expect(upstream.path).toBe('/v1/messages')
    expect(upstream.specErrors).toEqual([])
    expect(upstream.json).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello!' }] })
    expect(upstream.json).not.toHaveProperty('fallbacks')
    // The Anthropic key, and nothing of the OpenAI provider's credentials.
    expect(upstream.headers['x-api-key']).toBe(ANTHROPIC_KEY)
    expect(upstream.headers.authorization).toBeUndefined()
    expect(JSON.stringify(upstream.headers)).not.toContain('sk-primary')
  })

  it('streaming: the Anthropic fallback is rendered as OpenAI chunks', async () => {
    r.up.primary.always({}, fault.status(503))
    const gateway = await r.launch(config())
    const stream = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o', messages: hello, max_tokens: 100, stream: true as const }, ['anthropic/claude-sonnet-4-5']))
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true)
    expect(contentOf(chunks).length).toBeGreaterThan(0)
    expect(r.anthropicMock.requests[0]!.json.stream).toBe(true)
  })

  it('Anthropic SDK: Anthropic primary overloaded (529) -> OpenAI-dialect fallback; the client gets an Anthropic message', async () => {
    r.up.primary.always({ path: '/v1/messages' }, fault.status(529))
    const gateway = await r.launch({
      providers: {
        anthropic: anthropicProvider(r.up.primary.url, { keys: [ANTHROPIC_KEY], network: { max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 } }),
        backup: openaiProvider(r.up.backup, { keys: ['sk-backup'], extra: { package: '@switchyard/provider-openai' } }),
      },
    })
    const params = withFallbacks<Anthropic.MessageCreateParamsNonStreaming>({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello!' }] }, ['backup/gpt-4o-mini'])
    const { data: message, response } = await gateway.anthropic.messages.create(params).withResponse()
    expect(routedBy(response.headers)).toEqual({ provider: 'backup', model: 'gpt-4o-mini', index: '1' })
    expect(message).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: r.up.backup.textOf() }], stop_reason: 'end_turn' })
    expect(r.up.primary.requests.map((request) => [request.dialect, request.key])).toEqual([
      ['anthropic', ANTHROPIC_KEY],
      ['anthropic', ANTHROPIC_KEY],
    ])
    const fallback = r.up.backup.requests[0]!
    expect(fallback.path).toBe('/v1/chat/completions')
    expect(fallback.key).toBe('sk-backup')
    expect(fallback.json).not.toHaveProperty('fallbacks')
    expect(fallback.headers['x-api-key']).toBeUndefined()
    expect(fallback.headers['anthropic-version']).toBeUndefined()
  })

  it('Anthropic SDK: a failed fallback chain answers in the Anthropic error shape', async () => {
    r.up.primary.always({}, fault.status(529))
    r.up.backup.always({}, fault.status(500))
    const gateway = await r.launch({
      providers: {
        anthropic: anthropicProvider(r.up.primary.url, { keys: [ANTHROPIC_KEY] }),
        backup: openaiProvider(r.up.backup, { keys: ['sk-backup'], extra: { package: '@switchyard/provider-openai' } }),
      },
    })
    const params = withFallbacks<Anthropic.MessageCreateParamsNonStreaming>({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello!' }] }, ['backup/gpt-4o-mini'])
    const error = (await rejection(gateway.anthropic.messages.create(params))) as AnthropicError
    expect(error).toBeInstanceOf(Anthropic.InternalServerError)
    expect(error.error).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } })
  })
})
