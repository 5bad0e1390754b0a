import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@switchyard/core'
import { startGateway, type RunningGateway } from '../runtimes/node/src/index.js'

/** The /anthropic surface is built in: it serves with no config file and no Anthropic key. */

let running: RunningGateway
let anthropic: Anthropic
beforeAll(async () => {
  running = await startGateway({ port: 0, dataDir: null, logger: silentLogger, env: {} })
  anthropic = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: 'dummy-key', maxRetries: 0 })
})
afterAll(() => running?.close(1_000))

describe('built-in /anthropic surface', () => {
  it('answers through the in-process mock provider, plain and streamed', async () => {
    const message = await anthropic.messages.create({ model: 'mock/echo', max_tokens: 16, messages: [{ role: 'user', content: 'hi there' }] })
    expect(message).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi there' }], stop_reason: 'end_turn' })
    const streamed = await anthropic.messages.stream({ model: 'mock/echo', max_tokens: 16, messages: [{ role: 'user', content: 'hi there' }] }).finalMessage()
    expect(streamed.content).toEqual([{ type: 'text', text: 'hi there' }])
  })

  it('a bare Claude model with no Anthropic key configured is a 400 in the Anthropic shape', async () => {
    const error = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).message).toContain('no keys configured')
  })
})
