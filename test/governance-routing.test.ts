import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * Governance with routing rules: governance runs first and leaves the key and its team in
 * `ctx.state`, so rules scoped to a virtual key or a team match; a rule can never take a key to a
 * provider or model the key does not allow. A key's weighted provider mix routes bare models.
 */

const KEYS = { canary: 'sk-bf-routing-canary-000001', plain: 'sk-bf-routing-plain-0000001' }

let mock: MockOpenAI
let gateway: LaunchedGateway
beforeAll(async () => {
  mock = await startMockOpenAI()
  gateway = await launchGateway({
    providers: { openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` } } },
    plugins: [
      {
        name: '@switchyard/plugin-routing-rules',
        config: {
          rules: [
            { name: 'canary-key-to-mock', scope: 'virtual_key', scope_id: 'vk-canary', when: 'true', targets: [{ provider: 'mock', model: 'echo' }] },
            { name: 'team-to-mock-other', scope: 'team', scope_id: 'team-plain', when: 'headers["x-try"] == "other"', targets: [{ provider: 'mock', model: 'other' }] },
          ],
        },
      },
    ],
    governance: {
      teams: [{ id: 'team-plain', name: 'plain' }],
      virtual_keys: [
        { id: 'vk-canary', name: 'canary', value: KEYS.canary, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }, { provider: 'mock', allowed_models: ['echo'] }] },
        { id: 'vk-plain', name: 'plain', value: KEYS.plain, team_id: 'team-plain', provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'], weight: 1 }, { provider: 'mock', allowed_models: ['echo', 'gpt-4o-mini'], weight: null }] },
      ],
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => mock.reset())

const ask = (key: string, headers: Record<string, string> = {}) =>
  new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key, ...headers } }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Which way?' }] }).withResponse()

describe('routing rules see the virtual key and its team', () => {
  it('a rule scoped to the key moves its requests (to a target the key allows)', async () => {
    const { response, data } = await ask(KEYS.canary)
    expect(response.headers.get('x-bf-provider')).toBe('mock')
    expect(data.choices[0]!.message.content).toBe('Which way?')
    expect(mock.requests).toHaveLength(0)
  })

  it('other keys are not moved; a weight of null keeps a provider out of the mix for a bare model', async () => {
    const { response } = await ask(KEYS.plain)
    expect(response.headers.get('x-bf-provider')).toBe('openai')
    expect(mock.requests).toHaveLength(1)
  })

  it('a team rule that moves a key to a model it does not allow is refused (403), nothing sent', async () => {
    const error = await ask(KEYS.plain, { 'x-try': 'other' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'model_not_allowed' })
    expect(mock.requests).toHaveLength(0)
  })
})
