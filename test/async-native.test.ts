import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './support/gateway.js'
import { startHeldUpstream, type HeldUpstream } from './support/held-upstream.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { asyncPlugins, eventually, warmUpOpenAIValidators, mockProviders, pollNative, useAsyncGateway } from './support/async.js'

/** The native endpoints (`POST /v1/async/...`, `GET` and `DELETE /v1/async/:id`), cancellation, and answering a quick job directly. */

const gw = useAsyncGateway()
const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))
const story = [{ role: 'user', content: 'Tell me a short story.' }]
const auth = { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }

describe('native endpoints', () => {
  it('POST /v1/async/openai/v1/chat/completions answers 202 with the job view; GET /v1/async/:id shows it until the result is there', async () => {
    const submitted = await fetch(`${gw.url}/v1/async/openai/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: story }) })
    expect(submitted.status).toBe(202)
    const job = await submitted.json()
    expect(job).toMatchObject({ object: 'async.job', status: 'queued', surface: 'openai', operation: 'chat', model: 'openai/gpt-4o-mini', path: '/openai/v1/chat/completions', result_ttl_seconds: 3600, created_at: expect.any(String) })
    expect(submitted.headers.get('x-bf-async-id')).toBe(job.id)

    const view = await pollNative(gw.url, job.id)
    expect(view).toMatchObject({ id: job.id, status: 'completed', attempts: 1, result: { status_code: 200, body: recordedChat, headers: { 'content-type': expect.stringMatching(/^application\/json/), 'x-bf-provider': 'openai' } } })
    expect(Date.parse(view.completed_at)).toBeGreaterThanOrEqual(Date.parse(view.started_at))
    expect(Date.parse(view.started_at)).toBeGreaterThanOrEqual(Date.parse(view.created_at))
    expect(gw.openaiMock.requests).toHaveLength(1)
  })

  it('any surface works natively: Anthropic messages', async () => {
    const submitted = await fetch(`${gw.url}/v1/async/anthropic/v1/messages`, { method: 'POST', headers: { 'x-api-key': CALLER_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'anthropic/claude-sonnet-4-20250514', max_tokens: 64, messages: story }) })
    expect(submitted.status).toBe(202)
    const job = await submitted.json()
    const view = await pollNative(gw.url, job.id, { 'x-api-key': CALLER_KEY, 'anthropic-version': '2023-06-01' })
    expect(view).toMatchObject({ status: 'completed', result: { status_code: 200, body: recordedMessage } })
  })

  it('a bad native submit gets the surface 400 in its dialect; a path that is no model call is refused or unknown', async () => {
    const invalid = await fetch(`${gw.url}/v1/async/openai/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'openai/gpt-4o-mini' }) })
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toMatchObject({ error: { param: 'messages' } })
    const bare = await fetch(`${gw.url}/v1/async/`, { method: 'POST', headers: auth, body: '{}' })
    expect(bare.status).toBe(400)
    const nested = await fetch(`${gw.url}/v1/async/v1/async/openai/v1/chat/completions`, { method: 'POST', headers: auth, body: '{}' })
    expect(nested.status).toBe(400)
    const nowhere = await fetch(`${gw.url}/v1/async/nowhere`, { method: 'POST', headers: auth, body: '{}' })
    expect(nowhere.status).toBe(404)
    expect(gw.openaiMock.requests).toHaveLength(0)
  })

  it('GET and DELETE of an unknown or malformed id are a 404', async () => {
    for (const id of ['job_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC', 'nope', '..%2F..%2Fjob']) {
      expect((await fetch(`${gw.url}/v1/async/${id}`, { headers: auth })).status).toBe(404)
      expect((await fetch(`${gw.url}/v1/async/${id}`, { method: 'DELETE', headers: auth })).status).toBe(404)
    }
  })

  it('DELETE of a finished job changes nothing and shows its result', async () => {
    const initial = await gw.openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: story as OpenAI.Chat.ChatCompletionMessageParam[] }, { headers: { 'x-bf-async': 'true' } })
    await pollNative(gw.url, initial.id)
    const deleted = await fetch(`${gw.url}/v1/async/${initial.id}`, { method: 'DELETE', headers: auth })
    expect(deleted.status).toBe(200)
    expect(await deleted.json()).toMatchObject({ status: 'completed', result: { status_code: 200 } })
  })
})

describe('cancelling (one worker, upstream held)', () => {
  let mock: MockOpenAI
  let held: HeldUpstream
  let gateway: LaunchedGateway
  let openai: OpenAI
  beforeAll(async () => {
    warmUpOpenAIValidators()
    mock = await startMockOpenAI()
    held = await startHeldUpstream(mock.url, { closed: true })
    gateway = await launchGateway({ providers: mockProviders(held.url), plugins: asyncPlugins({ concurrency: 1 }, false) })
    openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
  })
  afterAll(async () => {
    held?.open()
    await gateway?.close()
    await held?.stop()
    await mock?.close()
  })

  it('a queued job is cancelled at once; a running one is stopped upstream; polls then get a 409 in the dialect; nothing runs later', async () => {
    const submit = (marker: string) => openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: marker }] }, { headers: { 'x-bf-async': 'true' } })
    const running = await submit('job-running')
    const queued = await submit('job-queued')
    await held.arrived(1)
    const runningView = await (await fetch(`${gateway.url}/v1/async/${running.id}`, { headers: auth })).json()
    expect(runningView.status).toBe('in_progress')
    expect((await (await fetch(`${gateway.url}/v1/async/${queued.id}`, { headers: auth })).json()).status).toBe('queued')

    const cancelledQueued = await fetch(`${gateway.url}/v1/async/${queued.id}`, { method: 'DELETE', headers: auth })
    expect(cancelledQueued.status).toBe(200)
    expect(await cancelledQueued.json()).toMatchObject({ id: queued.id, status: 'cancelled', error: { status_code: 409, code: 'job_cancelled' } })

    const cancelledRunning = await fetch(`${gateway.url}/v1/async/${running.id}`, { method: 'DELETE', headers: auth })
    expect(await cancelledRunning.json()).toMatchObject({ id: running.id, status: 'cancelled' })
    // The gateway dropped the upstream call it had in flight.
    await eventually(() => held.requests[0]!.outcome === 'abandoned', 'the held upstream call was abandoned')

    for (const id of [queued.id, running.id]) {
      const error = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-bf-async-id': id } }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(409)
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('cancelled')
    }

    // Opening the gate sends nothing more: the queued job never ran, the running one is not retried.
    held.open()
    const later = await submit('job-after')
    expect(await pollNative(gateway.url, later.id)).toMatchObject({ status: 'completed' })
    expect(held.requests.map((request) => request.json.messages[0].content)).toEqual(['job-running', 'job-after'])
  })
})

describe('submit_wait_ms: a job done while the submit waits is answered directly', () => {
  let gateway: LaunchedGateway
  beforeAll(async () => {
    gateway = await launchGateway({ providers: {}, plugins: asyncPlugins({ submit_wait_ms: 60_000 }, false) })
  })
  afterAll(() => gateway?.close())

  it('the reference example takes its "completed synchronously" branch, and the job stays pollable', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
    const { data: initial, response } = await openai.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'Tell me a short story.' }] }, { headers: { 'x-bf-async': 'true' } }).withResponse()
    expect(initial.choices?.length).toBeGreaterThan(0)
    expect(initial.choices[0]!.message.content).toBe('Tell me a short story.')
    const id = response.headers.get('x-bf-async-id')!
    expect(id).toMatch(/^job_/)
    expect(response.headers.get('x-bf-async-status')).toBe('completed')
    const poll = await openai.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'Tell me a short story.' }] }, { headers: { 'x-bf-async-id': id } })
    expect(poll).toEqual(initial)
  })
})
