import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createGateway, parseConfig, silentLogger, type Gateway, type PluginDefinition } from '@switchyard/core'
import anthropicProvider from '@switchyard/provider-anthropic'
import openaiProvider from '@switchyard/provider-openai'
import { expectOpenAIError } from './support/e2e.js'
import { cassette } from './support/fixtures.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { ERROR_MODELS, RATE_LIMIT_RETRY_AFTER, startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { makePng, speechAudio } from './support/openai-media.js'

/**
 * Images, audio and moderations: what is refused before anything is sent (a provider without the
 * endpoint, missing model or fields, malformed or oversized uploads), upstream errors in OpenAI's
 * shape, and the hook pipeline (onRequest ... onFinish) seeing these calls like chat.
 */

const key = (value: string) => [{ value, models: [], weight: 1 }]
const CLOSED = 'http://127.0.0.1:9/v1'

let mock: MockOpenAI
let gateway: LaunchedGateway
let openai: OpenAI

beforeAll(async () => {
  mock = await startMockOpenAI()
  gateway = await launchGateway({
    providers: {
      openai: { keys: key(UPSTREAM_KEY), network_config: { base_url: `${mock.url}/v1` } },
      // Nothing may reach these: every call to them below must be refused by the gateway.
      anthropic: { keys: key('sk-ant-never-sent'), network_config: { base_url: CLOSED } },
      groq: { keys: key('gsk-never-sent'), network_config: { base_url: CLOSED } },
      mock: {},
    },
  })
  openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => {
  const invalid = mock.requests.filter((request) => request.specErrors.length > 0).map((request) => ({ path: request.path, errors: request.specErrors }))
  mock.reset()
  expect(invalid, 'every upstream request must be valid per the OpenAI spec').toEqual([])
})

const png = makePng(4, 1)
const wav = speechAudio('wav')!.bytes

/** The SDK call fails with `status`; the error body is OpenAI-shaped and its message matches. */
async function expectRefused(call: () => Promise<unknown>, status: number, message: RegExp | string): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await call().then(() => undefined, (caught: unknown) => caught)
  expect(error).toBeInstanceOf(OpenAI.APIError)
  const apiError = error as InstanceType<typeof OpenAI.APIError>
  expect(apiError.status).toBe(status)
  expectOpenAIError({ error: apiError.error })
  if (typeof message === 'string') expect(apiError.message).toContain(message)
  else expect(apiError.message).toMatch(message)
  return apiError
}

const post = (path: string, body: BodyInit, contentType: string) =>
  fetch(`${gateway.url}/openai/v1${path}`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${CALLER_KEY}` }, body })

describe('a provider without the endpoint: 400 naming provider and endpoint, nothing sent', () => {
  it('anthropic: images generations, edits and variations', async () => {
    const generate = await expectRefused(() => openai.images.generate({ model: 'anthropic/claude-sonnet-4-5', prompt: 'x' }), 400, '[anthropic] provider does not support POST /images/generations')
    expect(generate.type).toBe('invalid_request_error')
    await expectRefused(async () => openai.images.edit({ model: 'anthropic/claude-sonnet-4-5', image: await toFile(png, 'a.png'), prompt: 'x' }), 400, '[anthropic] provider does not support POST /images/edits')
    await expectRefused(async () => openai.images.createVariation({ model: 'anthropic/claude-sonnet-4-5', image: await toFile(png, 'a.png') }), 400, '[anthropic] provider does not support POST /images/variations')
    expect(mock.requests).toEqual([])
  })

  it('anthropic: speech, transcriptions, translations, moderations', async () => {
    await expectRefused(() => openai.audio.speech.create({ model: 'anthropic/claude-sonnet-4-5', voice: 'alloy', input: 'x' }), 400, '[anthropic] provider does not support POST /audio/speech')
    await expectRefused(async () => openai.audio.transcriptions.create({ model: 'anthropic/claude-sonnet-4-5', file: await toFile(wav, 'a.wav') }), 400, '[anthropic] provider does not support POST /audio/transcriptions')
    await expectRefused(async () => openai.audio.translations.create({ model: 'anthropic/claude-sonnet-4-5', file: await toFile(wav, 'a.wav') }), 400, '[anthropic] provider does not support POST /audio/translations')
    await expectRefused(() => openai.moderations.create({ model: 'anthropic/claude-sonnet-4-5', input: 'x' }), 400, '[anthropic] provider does not support POST /moderations')
  })

  it('an OpenAI-compatible preset that does not serve the endpoint (groq has no image generation), and the in-process mock', async () => {
    await expectRefused(() => openai.images.generate({ model: 'groq/llama-3.3-70b-versatile', prompt: 'x' }), 400, '[groq] provider does not support POST /images/generations')
    await expectRefused(() => openai.moderations.create({ model: 'groq/llama-guard', input: 'x' }), 400, '[groq] provider does not support POST /moderations')
    await expectRefused(() => openai.images.generate({ model: 'mock/echo', prompt: 'x' }), 400, '[mock] provider does not support POST /images/generations')
  })
})

describe('bad input: an OpenAI-shaped 4xx, nothing sent', () => {
  it('no model', async () => {
    const error = await expectRefused(() => openai.images.generate({ prompt: 'x' }), 400, 'you must provide a model parameter')
    expect(error.param).toBe('model')
    await expectRefused(() => openai.moderations.create({ input: 'x' }), 400, 'model')
    await expectRefused(async () => openai.images.createVariation({ image: await toFile(png, 'a.png') }), 400, 'you must provide a model parameter')
    expect(mock.requests).toEqual([])
  })

  it('missing required fields: prompt, input, voice, the file', async () => {
    await expectRefused(() => openai.images.generate({ model: 'gpt-image-1' } as never), 400, "Missing required parameter: 'prompt'")
    await expectRefused(() => openai.audio.speech.create({ model: 'tts-1', input: 'x' } as never), 400, "Missing required parameter: 'voice'")
    await expectRefused(() => openai.moderations.create({ model: 'omni-moderation-latest' } as never), 400, "Missing required parameter: 'input'")
    await expectRefused(() => openai.audio.transcriptions.create({ model: 'whisper-1', file: 'not a file' } as never), 400, "Invalid 'file': expected a file upload")
    const form = new FormData()
    form.append('model', 'whisper-1')
    const response = await fetch(`${gateway.url}/openai/v1/audio/transcriptions`, { method: 'POST', body: form })
    expect(response.status).toBe(400)
    expect((await response.json()).error.message).toBe("Missing required parameter: 'file'")
    expect(mock.requests).toEqual([])
  })

  it('a malformed multipart body, and JSON where an upload is expected', async () => {
    const garbage = await post('/images/edits', 'this is not multipart at all', 'multipart/form-data; boundary=abc123')
    expect(garbage.status).toBe(400)
    const body = await garbage.json()
    expectOpenAIError(body)
    expect(body.error.message).toBe('malformed multipart/form-data body: no opening boundary')
    const unterminated = await post('/audio/transcriptions', '--abc123\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1', 'multipart/form-data; boundary=abc123')
    expect(unterminated.status).toBe(400)
    expect((await unterminated.json()).error.message).toBe('malformed multipart/form-data body: no closing boundary')
    const noBoundary = await post('/audio/transcriptions', '--x--', 'multipart/form-data')
    expect((await noBoundary.json()).error.message).toBe('malformed multipart/form-data body: the content type has no valid boundary')
    const json = await post('/audio/transcriptions', JSON.stringify({ model: 'whisper-1' }), 'application/json')
    expect(json.status).toBe(400)
    expect((await json.json()).error.message).toBe('expected a multipart/form-data body, got content-type application/json')
    const badJson = await post('/images/generations', '{"model": ', 'application/json')
    expect(badJson.status).toBe(400)
    expectOpenAIError(await badJson.json())
    expect(mock.requests).toEqual([])
  })

  it('stream must be "true" or "false" in a form', async () => {
    await expectRefused(async () => openai.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'a.wav'), stream: 'yes' as never }), 400, `Invalid 'stream'`)
  })

  it('an upload over the size limit is a 413', async () => {
    const small = await launchGateway({ providers: { openai: { keys: key(UPSTREAM_KEY), network_config: { base_url: `${mock.url}/v1` } } }, client: { max_request_body_size_mb: 0.001 } })
    try {
      const client = new OpenAI({ baseURL: `${small.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
      await expectRefused(async () => client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(8192, 1), 'long.wav') }), 413, 'request body is larger than 0.001 MB')
      expect(mock.requests).toEqual([])
    } finally {
      await small.close()
    }
  })
})

describe('upstream errors keep their status, in OpenAI shape', () => {
  it('404 model_not_found (the recorded body) from an images call', async () => {
    const recorded = JSON.parse(cassette('openai/chat-error-model-not-found.cassette.yaml')[0]!.response.body).error.message
    const error = await expectRefused(() => openai.images.generate({ model: ERROR_MODELS.notFound, prompt: 'x' }), 404, `[openai] ${recorded}`)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.code).toBe('model_not_found')
  })

  it('429 with retry-after from a speech call, and from an upload', async () => {
    const error = await expectRefused(() => openai.audio.speech.create({ model: ERROR_MODELS.rateLimited, voice: 'alloy', input: 'x' }), 429, 'quota')
    expect(error.headers?.get('retry-after')).toBe(RATE_LIMIT_RETRY_AFTER)
    await expectRefused(async () => openai.audio.transcriptions.create({ model: ERROR_MODELS.rateLimited, file: await toFile(wav, 'a.wav') }), 429, 'quota')
  })
})

describe('hooks see these calls like chat', () => {
  type Seen = { hook: string; operation: string; provider: string | undefined; model: string | undefined; detail?: unknown }
  const seen: Seen[] = []
  const recorder: PluginDefinition = {
    name: 'hook-recorder',
    hooks: {
      onRequest: (ctx) => void seen.push({ hook: 'onRequest', operation: ctx.operation, provider: ctx.provider, model: ctx.requestedModel }),
      beforeUpstream: (ctx, call) => void seen.push({ hook: 'beforeUpstream', operation: call.operation, provider: ctx.provider, model: ctx.model, detail: call.body }),
      afterUpstream: (ctx, outcome) => void seen.push({ hook: 'afterUpstream', operation: ctx.operation, provider: ctx.provider, model: ctx.model, detail: outcome.ok ? { status: outcome.status, usage: outcome.usage } : { error: outcome.error.status } }),
      onFinish: (ctx, summary) => void seen.push({ hook: 'onFinish', operation: ctx.operation, provider: ctx.provider, model: ctx.model, detail: { status: summary.status, usage: summary.usage, attempts: summary.attempts } }),
    },
  }
  let hooked: Gateway
  let server: ServerType
  let client: OpenAI
  beforeAll(async () => {
    const config = parseConfig({ providers: { openai: { keys: key(UPSTREAM_KEY), network_config: { base_url: `${mock.url}/v1` } }, anthropic: { keys: key('sk-ant-never-sent'), network_config: { base_url: CLOSED } } } })
    hooked = createGateway({ config, providers: [openaiProvider, anthropicProvider], plugins: [recorder], logger: silentLogger })
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: hooked.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(created))
    })
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
    await hooked?.close()
  })
  afterEach(() => {
    seen.length = 0
  })
  const finished = () => vi.waitFor(() => expect(seen.map((entry) => entry.hook)).toContain('onFinish'))

  it('images.generate: every hook, with the operation, the routed model and the usage of the answer', async () => {
    await client.images.generate({ model: 'openai/gpt-image-1', prompt: 'otter' })
    await finished()
    const usage = { inputTokens: 50, outputTokens: 50, totalTokens: 100, extra: { prompt_tokens_details: { text_tokens: 10, image_tokens: 40 } } }
    expect(seen).toEqual([
      { hook: 'onRequest', operation: 'imageGenerations', provider: undefined, model: 'openai/gpt-image-1' },
      { hook: 'beforeUpstream', operation: 'imageGenerations', provider: 'openai', model: 'gpt-image-1', detail: { model: 'openai/gpt-image-1', prompt: 'otter' } },
      { hook: 'afterUpstream', operation: 'imageGenerations', provider: 'openai', model: 'gpt-image-1', detail: { status: 200, usage } },
      { hook: 'onFinish', operation: 'imageGenerations', provider: 'openai', model: 'gpt-image-1', detail: { status: 200, usage, attempts: 1 } },
    ])
  })

  it('an upload: beforeUpstream sees the form fields, not the file', async () => {
    await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'a.wav'), language: 'de' })
    await finished()
    expect(seen.find((entry) => entry.hook === 'beforeUpstream')).toEqual({ hook: 'beforeUpstream', operation: 'transcriptions', provider: 'openai', model: 'whisper-1', detail: { model: 'whisper-1', language: 'de' } })
    expect(seen.find((entry) => entry.hook === 'onFinish')!.detail).toMatchObject({ status: 200, usage: { inputTokens: 14, outputTokens: 45, totalTokens: 59 } })
  })

  it('speech: onFinish comes once the relayed audio ended', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hello' })
    expect((await response.arrayBuffer()).byteLength).toBe(speechAudio('mp3')!.bytes.length)
    await finished()
    expect(seen.find((entry) => entry.hook === 'onFinish')).toMatchObject({ operation: 'speech', provider: 'openai', detail: { status: 200, usage: undefined, attempts: 1 } })
  })

  it('a refused call still runs onRequest and onFinish, with the 400', async () => {
    await expect(client.moderations.create({ model: 'anthropic/claude-sonnet-4-5', input: 'x' })).rejects.toThrow('[anthropic] provider does not support POST /moderations')
    await finished()
    expect(seen.map((entry) => entry.hook)).toEqual(['onRequest', 'beforeUpstream', 'afterUpstream', 'onFinish'])
    expect(seen.at(-1)).toMatchObject({ operation: 'moderations', provider: 'anthropic', detail: { status: 400, attempts: 0 } })
  })
})
