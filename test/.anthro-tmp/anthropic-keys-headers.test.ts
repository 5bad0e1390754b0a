import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { ANTHROPIC_UPSTREAM_KEY, expectAnthropicKey, useAnthropicGateway } from './anthropic-e2e.js'
import { UPSTREAM_KEY } from '../support/gateway.js'

/** Which credentials and headers reach the upstream from the /anthropic surface. */

const CALLERS_OWN_KEY = 'sk-ant-callers-own-key-7890'
const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello!' }]
const request = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: hello }

const plain = useAnthropicGateway({ apiKey: CALLERS_OWN_KEY })
const direct = useAnthropicGateway({ apiKey: CALLERS_OWN_KEY, client: { allow_direct_keys: true } })
const betaAllowed = useAnthropicGateway({ client: { header_filter_config: { allowlist: ['anthropic-beta', 'x-custom-trace', 'x-bf-vk', 'x-api-key'] } } })
const restricted = useAnthropicGateway({ anthropicProvider: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: ['claude-sonnet-4-5', 'claude-haiku-4-5'], weight: 1 }] } })

const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _event of stream) {
    // drain
  }
}

describe('keys', () => {
  it('without allow_direct_keys the configured key is used and the caller key goes nowhere', async () => {
    await plain.anthropic.messages.create(request)
    await drain(await plain.anthropic.messages.create({ ...request, stream: true }))
    await plain.anthropic.messages.countTokens({ model: request.model, messages: hello })
    await plain.post('/anthropic/v1/messages', JSON.stringify(request), { 'x-api-key': CALLERS_OWN_KEY })
    expect(plain.mock.requests).toHaveLength(4)
    for (const upstream of plain.mock.requests) {
      expectAnthropicKey(upstream)
      expect(JSON.stringify(upstream.headers)).not.toContain(CALLERS_OWN_KEY)
    }
  })

  it('with allow_direct_keys the caller key (Authorization: Bearer from the SDK, or x-api-key) is what the upstream receives, as x-api-key', async () => {
    await direct.anthropic.messages.create(request)
    await drain(await direct.anthropic.messages.create({ ...request, stream: true }))
    await direct.anthropic.messages.countTokens({ model: request.model, messages: hello })
    await direct.post('/anthropic/v1/messages', JSON.stringify(request), { 'x-api-key': 'sk-ant-per-request-4242' })
    expect(direct.mock.requests.map((upstream) => upstream.headers['x-api-key'])).toEqual([CALLERS_OWN_KEY, CALLERS_OWN_KEY, CALLERS_OWN_KEY, 'sk-ant-per-request-4242'])
    for (const upstream of direct.mock.requests) {
      expect(upstream.headers.authorization).toBeUndefined()
      expect(JSON.stringify(upstream.headers)).not.toContain(ANTHROPIC_UPSTREAM_KEY)
    }
  })

  it('with allow_direct_keys, a translated call to OpenAI uses the caller key as the OpenAI bearer key', async () => {
    await direct.anthropic.messages.create({ ...request, model: 'openai/gpt-4o-mini' })
    expect(direct.openaiMock.requests[0]!.headers.authorization).toBe(`Bearer ${CALLERS_OWN_KEY}`)
    expect(direct.openaiMock.requests[0]!.headers['x-api-key']).toBeUndefined()
  })

  it('count_tokens chooses among keys restricted to models, like a model call', async () => {
    await restricted.anthropic.messages.countTokens({ model: 'claude-haiku-4-5', messages: hello })
    expectAnthropicKey(restricted.onlyRequest())
  })

  it('models.list reports the models configured on the keys, as provider/model', async () => {
    const ids: string[] = []
    for await (const model of restricted.anthropic.models.list()) ids.push(model.id)
    expect(ids).toEqual(expect.arrayContaining(['anthropic/claude-sonnet-4-5', 'anthropic/claude-haiku-4-5']))
    const one = await restricted.anthropic.models.retrieve('anthropic/claude-haiku-4-5')
    expect(one).toMatchObject({ type: 'model', id: 'anthropic/claude-haiku-4-5' })
  })
})

describe('caller headers', () => {
  const callerHeaders = {
    'anthropic-beta': 'prompt-caching-2024-07-31,token-efficient-tools-2025-02-19',
    'x-bf-vk': 'sk-bf-virtual-key',
    'x-bf-cache-key': 'abc',
    'x-custom-trace': 'trace-123',
    'x-not-allowlisted': 'nope',
    cookie: 'session=1',
  }

  it('by default no caller header is forwarded: anthropic-beta is blocked, x-bf-* too', async () => {
    await plain.anthropic.messages.create(request, { headers: callerHeaders })
    await drain(await plain.anthropic.messages.create({ ...request, stream: true }, { headers: callerHeaders }))
    await plain.anthropic.messages.countTokens({ model: request.model, messages: hello }, { headers: callerHeaders })
    expect(plain.mock.requests).toHaveLength(3)
    for (const upstream of plain.mock.requests) {
      for (const name of Object.keys(callerHeaders)) expect(upstream.headers[name]).toBeUndefined()
      expect(Object.keys(upstream.headers).filter((name) => name.startsWith('x-stainless'))).toEqual([])
    }
  })

  it('anthropic-beta is forwarded when allow-listed (also on streams and count_tokens); x-bf-* never', async () => {
    await betaAllowed.anthropic.messages.create(request, { headers: callerHeaders })
    await drain(await betaAllowed.anthropic.messages.create({ ...request, stream: true }, { headers: callerHeaders }))
    await betaAllowed.anthropic.messages.countTokens({ model: request.model, messages: hello }, { headers: callerHeaders })
    expect(betaAllowed.mock.requests).toHaveLength(3)
    for (const upstream of betaAllowed.mock.requests) {
      expect(upstream.headers['anthropic-beta']).toBe(callerHeaders['anthropic-beta'])
      expect(upstream.headers['x-custom-trace']).toBe('trace-123')
      expect(Object.keys(upstream.headers).filter((name) => name.startsWith('x-bf-'))).toEqual([])
      expect(upstream.headers['x-not-allowlisted']).toBeUndefined()
      expect(upstream.headers.cookie).toBeUndefined()
      // An allow-listed x-api-key must not let the caller's credential through.
      expectAnthropicKey(upstream)
    }
  })

  it('the beta client\'s betas and a ?beta=true query reach the upstream on passthrough', async () => {
    await betaAllowed.anthropic.beta.messages.create({ ...request, betas: ['token-efficient-tools-2025-02-19'] })
    await betaAllowed.post('/anthropic/v1/messages?beta=true', JSON.stringify(request))
    const [sdk, raw] = betaAllowed.mock.requests
    expect(sdk!.headers['anthropic-beta']).toBe('token-efficient-tools-2025-02-19')
    expect(raw!.query).toBe('?beta=true')
    expect(raw!.path).toBe('/v1/messages')
  })

  it('protocol headers of one dialect do not leak to another: anthropic-version never reaches OpenAI', async () => {
    await betaAllowed.anthropic.messages.create({ ...request, model: 'openai/gpt-4o-mini' }, { headers: { 'x-custom-trace': 'trace-9' } })
    const upstream = betaAllowed.onlyOpenAIRequest()
    expect(upstream.headers['anthropic-version']).toBeUndefined()
    expect(upstream.headers['x-custom-trace']).toBe('trace-9')
    expect(upstream.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
  })
})
