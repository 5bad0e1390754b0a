import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { ANTHROPIC_ERROR_MODELS } from './support/mock-anthropic.js'
import { POLL_INTERVAL_MS, sleep, useAsyncGateway } from './support/async.js'

/**
 * Async inference through the official Anthropic SDK, written as the reference docs' JavaScript
 * example is, against the fixture-replaying Anthropic mock.
 */

const gw = useAsyncGateway()
const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))
const story: Anthropic.MessageParam[] = [{ role: 'user', content: 'Tell me a short story.' }]

async function rejection(call: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(Anthropic.APIError)
  return error as InstanceType<typeof Anthropic.APIError>
}

describe('messages (reference example)', () => {
  it('submit answers at once with an empty message carrying the job id; polling yields the upstream message; the upstream saw the job once', async () => {
    const anthropic = gw.anthropic
    // Submit async request
    const initial = await anthropic.messages.create(
      { model: 'anthropic/claude-sonnet-4-20250514', max_tokens: 256, messages: story },
      { headers: { 'x-bf-async': 'true' } },
    )
    expect(initial).toMatchObject({ type: 'message', role: 'assistant', model: 'anthropic/claude-sonnet-4-20250514', content: [], stop_reason: null })
    expect(initial.id).toMatch(/^job_[A-Za-z0-9_-]{32}$/)

    let final: Anthropic.Message
    // If content is present, the request completed synchronously
    if (initial.content?.length > 0) {
      final = initial
    } else {
      // Poll until completed
      while (true) {
        await sleep(POLL_INTERVAL_MS)
        const poll = await anthropic.messages.create(
          { model: 'anthropic/claude-sonnet-4-20250514', max_tokens: 256, messages: story },
          { headers: { 'x-bf-async-id': initial.id } },
        )
        if (poll.content?.length > 0) {
          final = poll
          break
        }
        expect(poll).toMatchObject({ id: initial.id, content: [] })
      }
    }
    expect(final).toEqual(recordedMessage)
    expect(final.content[0]!.type === 'text' && final.content[0]!.text).toBe(recordedMessage.content[0].text)

    const upstream = gw.anthropicMock.requests.filter((request) => request.path === '/v1/messages')
    expect(upstream).toHaveLength(1)
    expect(upstream[0]!.json).toEqual({ model: 'claude-sonnet-4-20250514', max_tokens: 256, messages: story })
    // The SDK's anthropic-version, sent with the submit, reached the upstream with the job's run.
    expect(upstream[0]!.headers['anthropic-version']).toBeTruthy()
    expect(upstream[0]!.headers['x-api-key']).toBe('sk-ant-test-upstream-key-654321')
  })

  it('a job the upstream refuses: the poll gets the error in the Anthropic dialect with its status', async () => {
    const model = `anthropic/${ANTHROPIC_ERROR_MODELS.notFound}`
    const initial = await gw.anthropic.messages.create({ model, max_tokens: 16, messages: story }, { headers: { 'x-bf-async': 'true' } })
    let error: InstanceType<typeof Anthropic.APIError> | undefined
    while (!error) {
      await sleep(POLL_INTERVAL_MS)
      try {
        await gw.anthropic.messages.create({ model, max_tokens: 16, messages: story }, { headers: { 'x-bf-async-id': initial.id } })
      } catch (caught) {
        expect(caught).toBeInstanceOf(Anthropic.APIError)
        error = caught as InstanceType<typeof Anthropic.APIError>
      }
    }
    expect(error.status).toBe(404)
    expect(error.error).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining(ANTHROPIC_ERROR_MODELS.notFound) } })
  })

  it('an unknown id is a 404 and async streaming a 400, both in the Anthropic dialect', async () => {
    const missing = await rejection(gw.anthropic.messages.create({ model: 'anthropic/claude-sonnet-4-20250514', max_tokens: 16, messages: story }, { headers: { 'x-bf-async-id': 'job_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' } }))
    expect(missing.status).toBe(404)
    expect(missing.error).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('not found') } })

    const streaming = await rejection(gw.anthropic.messages.create({ model: 'anthropic/claude-sonnet-4-20250514', max_tokens: 16, messages: story, stream: true }, { headers: { 'x-bf-async': 'true' } }))
    expect(streaming.status).toBe(400)
    expect(streaming.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('streaming') } })
    expect(gw.anthropicMock.requests).toHaveLength(0)
  })

  it('an OpenAI SDK caller can have its chat job served by Anthropic (translated), and polls it in its own dialect', async () => {
    const initial = await gw.openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'Tell me a short story.' }] }, { headers: { 'x-bf-async': 'true' } })
    let text: string | null | undefined
    while (text === undefined) {
      await sleep(POLL_INTERVAL_MS)
      const poll = await gw.openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'Tell me a short story.' }] }, { headers: { 'x-bf-async-id': initial.id } })
      if (poll.choices.length > 0) text = poll.choices[0]!.message.content
    }
    expect(text).toBe(recordedMessage.content[0].text)
    expect(gw.anthropicMock.requests).toHaveLength(1)
  })
})
