import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CALLER_KEY, startTestGateway, type TestGateway } from './support/gateway.js'

/**
 * Routing rules and metrics as a user runs them: both plugins loaded by package name from the
 * config, the real OpenAI SDK on `/openai`. The `openai` provider points at a closed port, so
 * only a request the rules send elsewhere (to the in-process `mock` provider) can succeed.
 */

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startTestGateway(undefined, {
    config: {
      plugins: [
        {
          name: '@switchyard/plugin-routing-rules',
          config: {
            rules: [
              { name: 'canary-to-mock', priority: 10, when: 'headers["x-canary"] == "yes" && model.startsWith("gpt-")', targets: [{ provider: 'mock', model: 'echo', weight: 1 }] },
              { name: 'down-with-fallbacks', when: '"x-try-openai" in headers', targets: [{ provider: 'openai', model: 'gpt-4o' }], fallbacks: ['mock/from-rule'] },
              // The request body's own metadata: OpenAI's `metadata` map, Anthropic's `metadata.user_id`.
              { name: 'gold-tier', when: 'metadata.tier == "gold"', targets: [{ provider: 'mock', model: 'gold' }] },
              { name: 'gold-user', when: 'has(metadata.user_id) && metadata.user_id.startsWith("gold-")', targets: [{ provider: 'mock', model: 'gold-user' }] },
              { name: 'long-answers', when: 'surface == "anthropic" && body.max_tokens >= 4096', targets: [{ provider: 'mock', model: 'long' }] },
            ],
          },
        },
        { name: '@switchyard/plugin-metrics', config: { models: ['mock/from-request'] } },
      ],
    },
  })
})
afterAll(() => gateway?.close())

const anthropicClient = () => new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0 })

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Which way did I go?' }]
const routedBy = (headers: Headers) => ({ provider: headers.get('x-bf-provider'), model: headers.get('x-bf-model'), index: headers.get('x-bf-fallback-index') })
/** The SDK's params plus the gateway's `fallbacks` field (sent as is). */
const withFallbacks = <T extends object>(params: T, fallbacks: string[]): T => ({ ...params, fallbacks }) as T

describe('routing rules through the OpenAI SDK', () => {
  it('without the header the request goes where its model says (and fails: openai is down)', async () => {
    const error = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
  })

  it('a header rule reroutes to the mock provider: x-bf-provider and x-bf-model show it', async () => {
    const { data, response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-canary': 'yes' } }).withResponse()
    expect(response.status).toBe(200)
    expect(routedBy(response.headers)).toMatchObject({ provider: 'mock', model: 'echo' })
    expect(data.choices[0]!.message.content).toBe('Which way did I go?')
  })

  it('streams are rerouted the same way', async () => {
    const { data: stream, response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true }, { headers: { 'x-canary': 'yes' } }).withResponse()
    expect(routedBy(response.headers)).toMatchObject({ provider: 'mock', model: 'echo' })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('Which way did I go?')
  })

  it("the rule's fallbacks answer when its target fails, after the request's own fallbacks", async () => {
    const viaRule = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-try-openai': '1' } }).withResponse()
    expect(routedBy(viaRule.response.headers)).toEqual({ provider: 'mock', model: 'from-rule', index: '1' })
    const viaRequest = await gateway.openai.chat.completions.create(withFallbacks({ model: 'gpt-4o-mini', messages }, ['mock/from-request']), { headers: { 'x-try-openai': '1' } }).withResponse()
    expect(routedBy(viaRequest.response.headers)).toEqual({ provider: 'mock', model: 'from-request', index: '1' })
  })

  it('a rule on the body metadata (metadata.tier == "gold") routes OpenAI SDK calls that carry it, streams too', async () => {
    const gold = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages, metadata: { tier: 'gold', team: 'search' } }).withResponse()
    expect(routedBy(gold.response.headers)).toMatchObject({ provider: 'mock', model: 'gold' })
    expect(gold.data.choices[0]!.message.content).toBe('Which way did I go?')
    const { data: stream, response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true, metadata: { tier: 'gold' } }).withResponse()
    expect(routedBy(response.headers)).toMatchObject({ provider: 'mock', model: 'gold' })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('Which way did I go?')
    const responses = await gateway.openai.responses.create({ model: 'gpt-4o', input: 'Which way did I go?', metadata: { tier: 'gold' } }).withResponse()
    expect(routedBy(responses.response.headers)).toMatchObject({ provider: 'mock', model: 'gold' })
    // Another tier, or no metadata: routed by the model (openai is down here).
    for (const metadata of [{ tier: 'silver' }, undefined]) {
      const error = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages, ...(metadata && { metadata }) }).catch((caught: unknown) => caught)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
    }
  })

  it('Anthropic SDK: metadata.user_id and other body fields are visible to the rules', async () => {
    const anthropic = anthropicClient()
    const gold = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Which way did I go?' }], metadata: { user_id: 'gold-7' } }).withResponse()
    expect(routedBy(gold.response.headers)).toMatchObject({ provider: 'mock', model: 'gold-user' })
    expect(gold.data.content).toEqual([expect.objectContaining({ type: 'text', text: 'Which way did I go?' })])
    // The same `metadata.tier` rule as on the OpenAI surface (a field Anthropic itself would refuse; the gateway answers first).
    const tiered = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Which way did I go?' }], metadata: { tier: 'gold' } as Anthropic.Metadata }).withResponse()
    expect(routedBy(tiered.response.headers)).toMatchObject({ provider: 'mock', model: 'gold' })
    const long = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8192, messages: [{ role: 'user', content: 'Which way did I go?' }] }).withResponse()
    expect(routedBy(long.response.headers)).toMatchObject({ provider: 'mock', model: 'long' })
  })

  it('GET /metrics counts the rerouted requests and the fallbacks', async () => {
    const deadline = Date.now() + 5_000
    let text = ''
    // onFinish runs after the last byte: poll until the fallback requests are counted.
    while (Date.now() < deadline) {
      text = await (await fetch(`${gateway.url}/metrics`)).text()
      if (/switchyard_fallbacks_total\{from_provider="openai",to_provider="mock"\} 2/.test(text)) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(text).toContain('switchyard_fallbacks_total{from_provider="openai",to_provider="mock"} 2')
    expect(text).toContain('switchyard_requests_total{surface="openai",provider="mock",model="from-request",status_code="200"} 1')
    // `from-rule` is a routing rule fallback: a known route, so it keeps its name.
    expect(text).toContain('switchyard_requests_total{surface="openai",provider="mock",model="from-rule",status_code="200"} 1')
    // Three requests routed by their model to the closed openai port: the first test, and the two without gold metadata.
    expect(text).toMatch(/switchyard_requests_total\{surface="openai",provider="openai",model="other",status_code="502"\} 3/)
  })
})
