import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { ADMIN_TOKEN, eventually, requestsOn, spentOn } from './support/governance.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * Governance with async inference (`x-bf-async`): a submit or a poll is only authenticated and
 * authorized (401/403 at once) and holds nothing; the job's own run, which the gateway sends
 * through itself with the submitter's headers, is enforced and charged like any request.
 */

const PRICE = 0.0001
const COST = (JSON.parse(fixtureText('openai/chat-text.json')) as { usage: { completion_tokens: number } }).usage.completion_tokens * PRICE
const KEY = 'sk-bf-async-governed-000001'

let mock: MockOpenAI
let gateway: LaunchedGateway
beforeAll(async () => {
  mock = await startMockOpenAI()
  gateway = await launchGateway({
    providers: { openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${mock.url}/v1` } } },
    plugins: [{ name: '@switchyard/plugin-async-inference' }],
    governance: {
      auth_config: { admin_token: ADMIN_TOKEN },
      pricing: { 'openai/gpt-4o-mini': { input_cost_per_token: 0, output_cost_per_token: PRICE } },
      virtual_keys: [
        {
          id: 'vk-async',
          name: 'async',
          value: KEY,
          provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }],
          rate_limit: { request_max_limit: 1, request_reset_duration: '1h' },
          budgets: [{ max_limit: 10, reset_duration: '1d' }],
        },
      ],
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => mock.reset())

const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0, defaultHeaders: { 'x-bf-vk': key } })
const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me a short story.' }] }

/** Polls a job until it is done: the final answer's status (and the completion when it succeeded). */
async function outcomeOf(id: string): Promise<{ status: number; content?: string | null }> {
  for (;;) {
    const result = await client(KEY).chat.completions.create(params, { headers: { 'x-bf-async-id': id } }).then(
      (completion) => ({ status: 200, completion }),
      (error: unknown) => ({ status: (error as InstanceType<typeof OpenAI.APIError>).status ?? -1, completion: undefined }),
    )
    if (result.status !== 200) return { status: result.status }
    if (result.completion!.choices.length > 0) return { status: 200, content: result.completion!.choices[0]!.message.content }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('x-bf-async under governance', () => {
  it('a submit with an unknown key is 401, with a model the key does not allow 403; nothing is queued', async () => {
    const unknown = await client('sk-bf-not-a-key-0000000000').chat.completions.create(params, { headers: { 'x-bf-async': 'true' } }).catch((error: unknown) => error)
    expect(unknown).toBeInstanceOf(OpenAI.AuthenticationError)
    const forbidden = await client(KEY).chat.completions.create({ ...params, model: 'gpt-4o' }, { headers: { 'x-bf-async': 'true' } }).catch((error: unknown) => error)
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(mock.requests).toHaveLength(0)
  })

  it('submits hold nothing; each job\'s run is enforced and charged: the second run meets the rate limit', async () => {
    // Two submits are accepted although the key allows one request an hour: a submit holds nothing.
    const first = await client(KEY).chat.completions.create(params, { headers: { 'x-bf-async': 'true' } })
    const second = await client(KEY).chat.completions.create(params, { headers: { 'x-bf-async': 'true' } })
    expect(first.choices).toEqual([])
    expect(second.choices).toEqual([])
    const outcomes = [await outcomeOf(first.id), await outcomeOf(second.id)]
    // One run was served and one refused by the limit, whichever ran first.
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual([200, 429])
    expect(mock.requests).toHaveLength(1)
    // The served run is charged as a plain request would be; polls and submits count nothing.
    await eventually(() => spentOn(gateway.url, 'vk-async').then((spent) => Number(spent.toFixed(9))), Number(COST.toFixed(9)))
    expect(await requestsOn(gateway.url, 'vk-async')).toBe(1)
  })
})
