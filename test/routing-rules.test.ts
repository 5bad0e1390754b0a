import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from './support/gateway.js'

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
            ],
          },
        },
        { name: '@switchyard/plugin-metrics', config: { models: ['mock/from-request'] } },
      ],
    },
  })
})
afterAll(() => gateway?.close())

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
    expect(text).toMatch(/switchyard_requests_total\{surface="openai",provider="openai",model="other",status_code="502"\} 1/)
  })
})
