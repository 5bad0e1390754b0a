import Anthropic from '@anthropic-ai/sdk'
import { serve, type ServerType } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createGateway, parseConfig, silentLogger, type FinishSummary, type Gateway, type PluginDefinition } from '@switchyard/core'
import anthropicProvider from '@switchyard/provider-anthropic'
import openaiProvider from '@switchyard/provider-openai'
import { ANTHROPIC_UPSTREAM_KEY } from './anthropic-e2e.js'
import { frameEvents } from '../support/anthropic-wire.js'
import { fixtureText, splitSseEvents } from '../support/fixtures.js'
import { startMockAnthropic, type MockAnthropic } from '../support/mock-anthropic.js'

/**
 * What a plugin sees of usage on the Anthropic passthrough path, where the gateway relays the
 * upstream bytes without decoding them: `message_start` (input side) and `message_delta`
 * (output side) must both count, for streams of any length.
 */

let mock: MockAnthropic
let gateway: Gateway
let server: ServerType
let anthropic: Anthropic
const finished: Array<{ provider: string | undefined; summary: FinishSummary }> = []

const recorder: PluginDefinition = {
  name: 'usage-recorder',
  hooks: {
    onFinish(ctx, summary) {
      finished.push({ provider: ctx.provider, summary })
    },
  },
}

beforeAll(async () => {
  mock = await startMockAnthropic()
  const config = parseConfig({ providers: { anthropic: { keys: [{ value: ANTHROPIC_UPSTREAM_KEY }], network_config: { base_url: `${mock.url}/v1` } } } })
  gateway = createGateway({ config, providers: [anthropicProvider, openaiProvider], plugins: [recorder], logger: silentLogger })
  server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: gateway.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(created))
  })
  anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/anthropic`, apiKey: 'k', maxRetries: 0 })
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await gateway.close()
  await mock.close()
})
beforeEach(() => {
  finished.length = 0
  mock.reset()
})

const hello: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello' }]
const lastUsage = async () => {
  await vi.waitFor(() => expect(finished).toHaveLength(1))
  return finished[0]!.summary.usage
}

describe('usage observed on the passthrough path', () => {
  it('non-stream: the usage of the relayed message body', async () => {
    await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: hello })
    expect(await lastUsage()).toMatchObject({ inputTokens: 12, outputTokens: 29, totalTokens: 41, cachedInputTokens: 0, cacheWriteInputTokens: 0 })
  })

  it('stream: input tokens from message_start and output tokens from message_delta', async () => {
    const text = await (await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: hello, stream: true }).asResponse()).text()
    expect(text).toBe(fixtureText('anthropic/messages-stream-text.sse'))
    expect(await lastUsage()).toEqual({ inputTokens: 11, outputTokens: 6, totalTokens: 17 })
  })

  it('a stream far longer than the relay tail window keeps the input side of message_start', async () => {
    const events = splitSseEvents(fixtureText('anthropic/messages-stream-text.sse'))
    const start = frameEvents([{ type: 'message_start', message: { id: 'msg_long', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, cache_read_input_tokens: 900, cache_creation_input_tokens: 0, output_tokens: 1 } } }])
    const deltas = frameEvents(Array.from({ length: 1500 }, (_, index) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `chunk ${index} of a long answer ` } })))
    mock.setNext({ status: 200, events: [...start, events[1]!, ...deltas, ...events.slice(6)] })
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: hello })
    const message = await stream.finalMessage()
    expect((message.content[0] as Anthropic.TextBlock).text.length).toBeGreaterThan(40_000)
    expect(await lastUsage()).toMatchObject({ inputTokens: 905, cachedInputTokens: 900, cacheWriteInputTokens: 0, outputTokens: 6, totalTokens: 911 })
  })
})
