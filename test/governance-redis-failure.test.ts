import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANTHROPIC_UPSTREAM_KEY } from './support/anthropic-e2e.js'
import { CALLER_KEY, launchGateway, UPSTREAM_KEY, type LaunchedGateway } from './support/gateway.js'
import { eventually, startPrivateRedis, uniquePrefix, type PrivateRedis } from './support/governance.js'
import { startMockAnthropic, type MockAnthropic } from './support/mock-anthropic.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { inCI } from './support/runtime-process.js'

/**
 * What a request meets when Redis goes away mid-test: `fail_closed` (the default) refuses it
 * with a 503 in the caller's dialect and sends nothing upstream; `fail_open` serves it
 * unchecked. When Redis is back (empty: it kept nothing), enforcement resumes, with the config's
 * keys written back. The Redis is this test's own `redis-server`, never the machine's shared one.
 */

const binary = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'
const { existsSync } = await import('node:fs')
const installed = existsSync(binary)
if (!installed && inCI) throw new Error(`CI needs redis-server at ${binary} for the failure-policy test`)

const KEY = 'sk-bf-failure-policy-000001'

describe.runIf(installed)('Redis goes away', () => {
  let redis: PrivateRedis
  let openaiMock: MockOpenAI
  let anthropicMock: MockAnthropic
  const gateways: Record<'fail_closed' | 'fail_open', LaunchedGateway> = {} as never

  beforeAll(async () => {
    redis = await startPrivateRedis(binary)
    openaiMock = await startMockOpenAI()
    anthropicMock = await startMockAnthropic()
    for (const policy of ['fail_closed', 'fail_open'] as const) {
      gateways[policy] = await launchGateway({
        providers: {
          openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${openaiMock.url}/v1` } },
          anthropic: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: `${anthropicMock.url}/v1` } },
        },
        storage: { type: 'redis', url: redis.url, prefix: uniquePrefix(policy) },
        governance: {
          ...(policy === 'fail_open' && { failure_policy: 'fail_open' }),
          refresh_interval_seconds: 1,
          virtual_keys: [
            {
              id: 'vk',
              name: 'app',
              value: KEY,
              provider_configs: [{ provider: 'openai', allowed_models: ['*'] }, { provider: 'anthropic', allowed_models: ['*'] }],
              rate_limit: { request_max_limit: 1000, request_reset_duration: '1h' },
            },
          ],
        },
      })
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.all(Object.values(gateways).map((gateway) => gateway.close()))
    await openaiMock?.close()
    await anthropicMock?.close()
    await redis?.kill()
  }, 60_000)

  const openai = (policy: keyof typeof gateways) => new OpenAI({ baseURL: `${gateways[policy].url}/openai`, apiKey: KEY, maxRetries: 0 })
  const anthropic = (policy: keyof typeof gateways) => new Anthropic({ baseURL: `${gateways[policy].url}/anthropic`, apiKey: KEY, maxRetries: 0 })
  const ask = (policy: keyof typeof gateways) =>
    openai(policy).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).then(
      () => 200,
      (error: unknown) => (error as InstanceType<typeof OpenAI.APIError>).status ?? -1,
    )

  it('with Redis up, both serve', async () => {
    expect(await ask('fail_closed')).toBe(200)
    expect(await ask('fail_open')).toBe(200)
  })

  it('Redis killed: fail_closed answers 503 in the caller\'s dialect and sends nothing upstream; fail_open serves', async () => {
    await redis.kill()
    openaiMock.reset()
    anthropicMock.reset()

    const refused = await openai('fail_closed').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.InternalServerError)
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503)
    expect((refused as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'governance_unavailable', type: 'server_error' })
    const refusedAnthropic = await anthropic('fail_closed').messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect((refusedAnthropic as InstanceType<typeof Anthropic.APIError>).status).toBe(503)
    expect((refusedAnthropic as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } })
    expect(openaiMock.requests.length + anthropicMock.requests.length).toBe(0)

    expect(await ask('fail_open')).toBe(200)
    expect(openaiMock.requests).toHaveLength(1)

    // Readiness reports the outage.
    expect((await fetch(`${gateways.fail_closed.url}/ready`)).status).toBe(503)
  })

  it('Redis back (empty): enforcement resumes and the config\'s keys are written back', async () => {
    await redis.restart()
    await eventually(() => ask('fail_closed'), 200)
    await eventually(() => fetch(`${gateways.fail_closed.url}/ready`).then((response) => response.status), 200)
    expect(await ask('fail_open')).toBe(200)
  })
})
