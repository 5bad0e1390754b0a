import Anthropic from '@anthropic-ai/sdk'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './support/gateway.js'
import { ANTHROPIC_ERROR_MODELS, mockTokenCount, startMockAnthropic, type MockAnthropic } from './support/mock-anthropic.js'
import { PROBE_DENY, PROBE_PLUGIN, probeEvents } from './support/probe-plugin.js'

/**
 * Plugin hooks on the Anthropic surface's forwarded call, `count_tokens` to an Anthropic
 * provider (the caller's body sent on unchanged): `onRequest` admits or refuses it like a model
 * call and sees the parsed body, `afterUpstream` and `onFinish` see the status. The probe plugin
 * is loaded by path from the config, on whichever runtime serves the gateway.
 */

let mock: MockAnthropic
let gateway: LaunchedGateway
let anthropic: Anthropic
beforeAll(async () => {
  mock = await startMockAnthropic()
  gateway = await launchGateway({
    providers: { anthropic: { keys: [{ value: 'sk-ant-forward-hooks', models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` } } },
    plugins: [{ name: PROBE_PLUGIN }],
  })
  anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0 })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => mock.reset())

const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'How many tokens is this?' }]
const countForwarded = { method: 'POST', path: '/messages/count_tokens' }

describe('count_tokens to an Anthropic provider runs the plugin hooks', () => {
  it('onRequest sees the forwarded call and the parsed body; afterUpstream and onFinish the status; the plugin headers reach the caller', async () => {
    const { data, response } = await anthropic.messages.countTokens({ model: 'anthropic/claude-sonnet-4-5', messages }).withResponse()
    expect(data.input_tokens).toBe(mockTokenCount(mock.requests[0]!.json))
    expect(response.headers.get('x-probe')).toBe('admitted')
    const events = await probeEvents(gateway.url, response.headers.get('x-request-id'))
    const common = { requestId: expect.any(String), surface: 'anthropic', forwarded: countForwarded, provider: 'anthropic', model: 'claude-sonnet-4-5', bodyModel: 'anthropic/claude-sonnet-4-5', bodyMetadata: null }
    expect(events).toEqual([
      { hook: 'onRequest', ...common },
      // Counting consumes nothing: no usage.
      { hook: 'afterUpstream', ...common, ok: true, status: 200, usage: null },
      { hook: 'onFinish', ...common, status: 200, usage: null, error: null, aborted: false, attempts: 1 },
    ])
  })

  it('an upstream error (429) reaches afterUpstream and onFinish as a failure with its status', async () => {
    const error = (await anthropic.messages.countTokens({ model: ANTHROPIC_ERROR_MODELS.rateLimited, messages }).catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.APIError>
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    const events = await probeEvents(gateway.url, error.headers?.get('x-request-id'))
    expect(events.map(({ hook, ok, status }) => ({ hook, ok, status }))).toEqual([
      { hook: 'onRequest', ok: undefined, status: undefined },
      { hook: 'afterUpstream', ok: false, status: 429 },
      { hook: 'onFinish', ok: undefined, status: 429 },
    ])
  })

  it('a plugin refusing it in onRequest: the caller gets the 403 in Anthropic shape, and nothing is sent upstream', async () => {
    const error = (await anthropic.messages.countTokens({ model: 'claude-sonnet-4-5', messages }, { headers: { [PROBE_DENY]: '1' } }).catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.APIError>
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(error.error).toEqual({ type: 'error', error: { type: 'permission_error', message: 'probe: this caller may not use this route' } })
    const events = await probeEvents(gateway.url, error.headers?.get('x-request-id'))
    expect(events.map((event) => event.hook)).toEqual(['onRequest', 'afterUpstream', 'onFinish'])
    expect(events[0]).toMatchObject({ forwarded: countForwarded, bodyModel: 'claude-sonnet-4-5' })
    expect(events[2]).toMatchObject({ status: 403, error: 'permission', attempts: 0 })
    expect(mock.requests).toEqual([])
  })
})

describe('model calls', () => {
  it('are not marked forwarded, and the hooks see the caller body (metadata.user_id included)', async () => {
    const { response } = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages, metadata: { user_id: 'user-42' } }).withResponse()
    const events = await probeEvents(gateway.url, response.headers.get('x-request-id'))
    expect(events[0]).toMatchObject({ hook: 'onRequest', forwarded: null, bodyModel: 'claude-sonnet-4-5', bodyMetadata: { user_id: 'user-42' } })
    expect(events.at(-1)).toMatchObject({ hook: 'onFinish', forwarded: null, provider: 'anthropic', status: 200 })
  })
})
