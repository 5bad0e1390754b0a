import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { ERROR_MODELS } from './support/mock-openai.js'
import { POLL_INTERVAL_MS, pollNative, sleep, useAsyncGateway } from './support/async.js'

/**
 * Async inference through the official OpenAI SDK, written as the reference docs' JavaScript
 * examples are (submit with `x-bf-async: true`, poll with `x-bf-async-id` until the answer is
 * there), against the fixture-replaying OpenAI mock.
 */

const gw = useAsyncGateway()
const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
const recordedResponse = JSON.parse(fixtureText('openai/responses-reasoning-encrypted.json'))
const story: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Tell me a short story.' }]

/** Runs `call`, expects an OpenAI APIError, and returns it. */
async function rejection(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OpenAI.APIError)
  return error as InstanceType<typeof OpenAI.APIError>
}

describe('chat completions (reference example)', () => {
  it('submit answers at once with an empty chat.completion carrying the job id; polling yields the upstream answer; the upstream saw the job once', async () => {
    const openai = gw.openai
    // Submit async request
    const initial = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async': 'true' } })
    expect(initial).toMatchObject({ object: 'chat.completion', model: 'openai/gpt-4o-mini', choices: [] })
    expect(initial.id).toMatch(/^job_[A-Za-z0-9_-]{32}$/)

    let content: string | null | undefined
    let final: OpenAI.Chat.ChatCompletion | undefined
    // If choices are present, the request completed synchronously
    if (initial.choices?.length > 0) {
      final = initial
    } else {
      // Poll until completed
      while (true) {
        await sleep(POLL_INTERVAL_MS)
        const poll = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async-id': initial.id } })
        if (poll.choices?.length > 0) {
          final = poll
          break
        }
        expect(poll).toMatchObject({ id: initial.id, object: 'chat.completion', choices: [] })
      }
    }
    content = final.choices[0]!.message.content
    expect(final).toEqual(recordedChat)
    expect(content).toContain('Galaxy Day')

    // Polling again gives the same answer, and the job ran upstream exactly once.
    const again = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async-id': initial.id } }).withResponse()
    expect(again.data).toEqual(recordedChat)
    expect(again.response.headers.get('x-bf-async-status')).toBe('completed')
    expect(again.response.headers.get('x-bf-provider')).toBe('openai')
    const upstream = gw.openaiMock.requests.filter((request) => request.path === '/v1/chat/completions')
    expect(upstream).toHaveLength(1)
    expect(upstream[0]!.json).toEqual({ model: 'gpt-4o-mini', messages: story })
    expect(upstream[0]!.headers.authorization).toBe('Bearer sk-test-upstream-key-123456')
    expect(JSON.stringify(upstream[0]!.headers)).not.toContain('x-bf-async')
  })

  it('the job runs with the caller body as sent, including the gateway-only fallbacks field', async () => {
    const body = { model: `openai/${ERROR_MODELS.notFound}`, messages: story, fallbacks: ['mock/echo'] } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming
    const initial = await gw.openai.chat.completions.create(body, { headers: { 'x-bf-async': 'true' } })
    expect(initial.choices).toEqual([])
    const view = await pollNative(gw.url, initial.id)
    expect(view).toMatchObject({ id: initial.id, status: 'completed', attempts: 1, result: { status_code: 200, headers: { 'x-bf-provider': 'mock', 'x-bf-fallback-index': '1' } } })
    expect(view.result.body.choices[0].message.content).toBe('Tell me a short story.')
    // The primary target was tried once (it failed with 404), then the fallback answered.
    expect(gw.openaiMock.requests.map((request) => request.json?.model)).toEqual([ERROR_MODELS.notFound])
  })

  it('a job the upstream refuses: the poll gets the error in the OpenAI dialect with its status', async () => {
    const initial = await gw.openai.chat.completions.create({ model: `openai/${ERROR_MODELS.unsupportedParameter}`, messages: story }, { headers: { 'x-bf-async': 'true' } })
    let error: InstanceType<typeof OpenAI.APIError> | undefined
    while (!error) {
      await sleep(POLL_INTERVAL_MS)
      try {
        const poll = await gw.openai.chat.completions.create({ model: `openai/${ERROR_MODELS.unsupportedParameter}`, messages: story }, { headers: { 'x-bf-async-id': initial.id } })
        expect(poll.choices).toEqual([])
      } catch (caught) {
        expect(caught).toBeInstanceOf(OpenAI.APIError)
        error = caught as InstanceType<typeof OpenAI.APIError>
      }
    }
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('Unsupported parameter') })
    expect(error.headers?.get('x-bf-async-status')).toBe('failed')
  })

  it('unknown, malformed and foreign ids are a 404 in the OpenAI dialect', async () => {
    for (const id of ['job_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-job', '../../etc/passwd']) {
      const error = await rejection(gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async-id': id } }))
      expect(error.status).toBe(404)
      expect(error.error).toMatchObject({ message: expect.stringContaining('not found'), type: 'invalid_request_error' })
    }
    expect(gw.openaiMock.requests).toHaveLength(0)
  })

  it('streaming with async is a 400 naming stream, and nothing is stored or sent', async () => {
    const error = await rejection(gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story, stream: true }, { headers: { 'x-bf-async': 'true' } }))
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ param: 'stream', type: 'invalid_request_error' })
    const poll = await rejection(gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story, stream: true }, { headers: { 'x-bf-async-id': 'job_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }))
    expect(poll.status).toBe(400)
    expect(gw.openaiMock.requests).toHaveLength(0)
  })

  it('bad async headers are a 400: an unknown x-bf-async value, both headers, a TTL out of range', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'x-bf-async': 'maybe' }, 'x-bf-async must be'],
      [{ 'x-bf-async': 'true', 'x-bf-async-id': 'job_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'not both'],
      [{ 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': '0' }, 'x-bf-async-job-result-ttl'],
      [{ 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': '86401' }, 'from 1 to 86400'],
      [{ 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': 'soon' }, 'whole number of seconds'],
    ]
    for (const [headers, message] of cases) {
      const error = await rejection(gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers }))
      expect(error.status).toBe(400)
      expect(error.message).toContain(message)
    }
    expect(gw.openaiMock.requests).toHaveLength(0)
  })

  it('x-bf-async: false is a plain synchronous call', async () => {
    const completion = await gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async': 'false' } })
    expect(completion).toEqual(recordedChat)
  })

  it('x-bf-async-job-result-ttl sets how long the result stays (shown by the native view)', async () => {
    const initial = await gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': '120' } })
    const view = await pollNative(gw.url, initial.id)
    expect(view.result_ttl_seconds).toBe(120)
    expect(Date.parse(view.expires_at) - Date.parse(view.completed_at)).toBe(120_000)
  })

  it('legacy completions: an empty text_completion, then the recorded answer', async () => {
    const initial = await gw.openai.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Say hi' }, { headers: { 'x-bf-async': 'true' } })
    expect(initial).toMatchObject({ object: 'text_completion', choices: [] })
    let final = initial
    while (final.choices.length === 0) {
      await sleep(POLL_INTERVAL_MS)
      final = await gw.openai.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Say hi' }, { headers: { 'x-bf-async-id': initial.id } })
    }
    expect(final).toEqual(JSON.parse(fixtureText('openai/completion-text.json')))
  })

  it('embeddings have no pending object: x-bf-async there is a 400 pointing at the native endpoint', async () => {
    const error = await rejection(gw.openai.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'hi' }, { headers: { 'x-bf-async': 'true' } }))
    expect(error.status).toBe(400)
    expect(error.message).toContain('/v1/async/')
  })
})

describe('Responses API (reference example)', () => {
  it('submit answers a queued response with the job id; polling yields the completed response', async () => {
    const openai = gw.openai
    // Submit async request
    const initial = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'Tell me a short story.' }, { headers: { 'x-bf-async': 'true' } })
    expect(initial).toMatchObject({ object: 'response', status: 'queued', output: [], output_text: '' })
    expect(initial.id).toMatch(/^job_/)

    let final: OpenAI.Responses.Response
    // If status is "completed", the request completed synchronously
    if (initial.status === 'completed') {
      final = initial
    } else {
      // Poll until completed
      while (true) {
        await sleep(POLL_INTERVAL_MS)
        const poll = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'Tell me a short story.' }, { headers: { 'x-bf-async-id': initial.id } })
        if (poll.status === 'completed') {
          final = poll
          break
        }
        expect(['queued', 'in_progress']).toContain(poll.status)
      }
    }
    expect(final.id).toBe(recordedResponse.id)
    expect(final.output_text).toBe(recordedResponse.output.find((item: any) => item.type === 'message').content[0].text)
    expect(gw.openaiMock.requests.filter((request) => request.path === '/v1/responses')).toHaveLength(1)
  })

  it('a job submitted to chat completions cannot be polled as a response', async () => {
    const initial = await gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story }, { headers: { 'x-bf-async': 'true' } })
    const error = await rejection(gw.openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'x' }, { headers: { 'x-bf-async-id': initial.id } }))
    expect(error.status).toBe(400)
    expect(error.message).toContain('POST /openai/chat/completions')
    await pollNative(gw.url, initial.id)
  })
})
