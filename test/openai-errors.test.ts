import { describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { expectOpenAIError, useOpenAIGateway } from './support/e2e.js'
import { UPSTREAM_KEY } from './support/gateway.js'
import { ERROR_MODELS, RATE_LIMIT_RETRY_AFTER } from './support/mock-openai.js'

/** Upstream errors keep their status; bad input is a 400 in OpenAI's shape; keys never leak. */

const gw = useOpenAIGateway()
const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello!' }]

/** Runs `call`, expects it to reject with `type`, and returns the error. */
async function rejection<T extends abstract new (...args: any) => Error>(call: Promise<unknown>, type: T): Promise<InstanceType<T>> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(type)
  return error as InstanceType<T>
}

/** The provider key, or a recognizable piece of it, must not appear in what the client got. */
function expectNoKey(text: string): void {
  expect(text).not.toContain(UPSTREAM_KEY)
  expect(text).not.toContain(UPSTREAM_KEY.slice(8))
}

describe('upstream errors keep their status', () => {
  it('404 model_not_found stays 404 (NotFoundError)', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: ERROR_MODELS.notFound, messages: hello }), OpenAI.NotFoundError)
    expect(error.status).toBe(404)
    expect(error.code).toBe('model_not_found')
    expect(error.type).toBe('invalid_request_error')
    expect(error.message).toContain('does not exist or you do not have access to it')
    expect(gw.onlyRequest().json.model).toBe(ERROR_MODELS.notFound)
  })

  it('404 also for a streaming request (the error comes before the stream)', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: `openai/${ERROR_MODELS.notFound}`, messages: hello, stream: true }), OpenAI.NotFoundError)
    expect(error.status).toBe(404)
  })

  it('429 stays 429 with retry-after', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: ERROR_MODELS.rateLimited, messages: hello }), OpenAI.RateLimitError)
    expect(error.status).toBe(429)
    expect(error.headers?.get('retry-after')).toBe(RATE_LIMIT_RETRY_AFTER)
    expect(error.code).toBe('insufficient_quota')
    // No retries configured: exactly one upstream call.
    expect(gw.mock.requests).toHaveLength(1)
  })

  it('429 on the Responses API too', async () => {
    const error = await rejection(gw.openai.responses.create({ model: ERROR_MODELS.rateLimited, input: 'Hi' }), OpenAI.RateLimitError)
    expect(error.headers?.get('retry-after')).toBe(RATE_LIMIT_RETRY_AFTER)
  })

  it('500 stays 500', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: ERROR_MODELS.serverError, messages: hello }), OpenAI.InternalServerError)
    expect(error.status).toBe(500)
    expect(error.message).toContain('The server had an error')
  })

  it('400 from the upstream stays 400 with its param', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: ERROR_MODELS.unsupportedParameter, messages: hello, max_tokens: 10 }), OpenAI.BadRequestError)
    expect(error.param).toBe('max_tokens')
    expect(error.code).toBe('unsupported_parameter')
  })

  it('an upstream error body that echoes the provider key never shows it to the client', async () => {
    gw.mock.setNext({ status: 401, body: { error: { message: `Incorrect API key provided: ${UPSTREAM_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } })
    const response = await gw.post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: hello }))
    const text = await response.text()
    expect(response.status).toBe(401)
    expectOpenAIError(JSON.parse(text))
    expectNoKey(text)
    expectNoKey(JSON.stringify([...response.headers]))
  })

  it('no error the client sees carries the provider key (500 with the key, stream, embeddings)', async () => {
    const leaky = { error: { message: `upstream exploded while using Bearer ${UPSTREAM_KEY}`, type: 'server_error', param: null, code: null } }
    for (const [path, body] of [
      ['/v1/chat/completions', { model: 'gpt-4o', messages: hello, stream: true }],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }],
      ['/v1/responses', { model: 'gpt-5', input: 'x' }],
    ] as const) {
      gw.mock.setNext({ status: 500, body: leaky })
      const response = await gw.post(path, JSON.stringify(body))
      const text = await response.text()
      expect(response.status, path).toBe(500)
      expectOpenAIError(JSON.parse(text))
      expectNoKey(text)
    }
  })

  it('an unreachable upstream is a 5xx in OpenAI shape, without the key', async () => {
    const { startTestGateway } = await import('./support/gateway.js')
    const offline = await startTestGateway(undefined)
    try {
      const response = await fetch(`${offline.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: hello }) })
      const text = await response.text()
      expect(response.status).toBe(502)
      expectOpenAIError(JSON.parse(text))
      expectNoKey(text)
    } finally {
      await offline.close()
    }
  })
})

describe('bad input is a 400 in OpenAI shape, never a 500, and never reaches the upstream', () => {
  const cases: Array<[string, string, string]> = [
    ['malformed JSON', '/v1/chat/completions', '{"model": "gpt-4o", "messages": ['],
    ['empty body', '/v1/chat/completions', ''],
    ['a JSON array', '/v1/chat/completions', '[1, 2]'],
    ['missing model', '/v1/chat/completions', JSON.stringify({ messages: hello })],
    ['model not a string', '/v1/chat/completions', JSON.stringify({ model: 42, messages: hello })],
    ['messages not an array', '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: 'Hello!' })],
    ['missing messages', '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o' })],
    ['stream: "yes"', '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: hello, stream: 'yes' })],
    ['unknown provider prefix', '/v1/chat/completions', JSON.stringify({ model: 'nope/gpt-4o', messages: hello })],
    ['provider prefix without a model', '/v1/chat/completions', JSON.stringify({ model: 'openai/', messages: hello })],
    ['completions: malformed JSON', '/v1/completions', '{"model":'],
    ['messages empty', '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [] })],
    ['completions: missing prompt', '/v1/completions', JSON.stringify({ model: 'gpt-3.5-turbo-instruct' })],
    ['embeddings: missing model', '/v1/embeddings', JSON.stringify({ input: 'x' })],
    ['embeddings: missing input', '/v1/embeddings', JSON.stringify({ model: 'text-embedding-3-small' })],
    ['embeddings: unknown provider prefix', '/v1/embeddings', JSON.stringify({ model: 'nope/text-embedding-3-small', input: 'x' })],
    ['responses: stream: "yes"', '/v1/responses', JSON.stringify({ model: 'gpt-5', input: 'Hi', stream: 'yes' })],
    ['responses: unknown provider prefix', '/v1/responses', JSON.stringify({ model: 'nope/gpt-5', input: 'Hi' })],
  ]

  for (const [name, path, body] of cases) {
    it(name, async () => {
      const response = await gw.post(path, body)
      const text = await response.text()
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      const json = JSON.parse(text)
      expectOpenAIError(json)
      expect(json.error.type).toBe('invalid_request_error')
      expect(gw.mock.requests).toEqual([])
    })
  }

  it('the SDK sees BadRequestError with param "model" for an unknown prefix', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: 'nope/gpt-4o', messages: hello }), OpenAI.BadRequestError)
    expect(error.param).toBe('model')
    expect(error.message).toContain('nope')
    expect(gw.mock.requests).toEqual([])
  })

  it('a body over the configured size limit is a 413 in OpenAI shape', async () => {
    const { startTestGateway } = await import('./support/gateway.js')
    const small = await startTestGateway(gw.mock, { client: { max_request_body_size_mb: 0.001 } })
    try {
      const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] })
      const response = await fetch(`${small.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(response.status).toBe(413)
      expectOpenAIError(await response.json())
      expect(gw.mock.requests).toEqual([])
    } finally {
      await small.close()
    }
  })

  it('an unknown route under /openai is a 404 in OpenAI shape', async () => {
    const response = await gw.post('/v1/not-an-endpoint', '{}')
    expect(response.status).toBe(404)
    expectOpenAIError(await response.json())
  })
})
