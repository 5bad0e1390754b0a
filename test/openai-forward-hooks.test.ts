import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from './support/gateway.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'
import { PROBE_DENY, PROBE_PLUGIN, probeEvents, type ProbeEvent } from './support/probe-plugin.js'

/**
 * Plugin hooks on the OpenAI surface's forwarded calls (the stored Responses API objects, sent
 * unchanged to the provider that holds them): `onRequest` admits or refuses them like a model
 * call, `afterUpstream` and `onFinish` see their status. The probe plugin is loaded by path from
 * the config, on whichever runtime serves the gateway.
 */

/** A response the mock holds (from the recordings). */
const STORED = 'resp_0f35ed53160b395301693cc957829881909359e7f80cdd20b5'

let mock: MockOpenAI
let gateway: TestGateway
beforeAll(async () => {
  mock = await startMockOpenAI()
  gateway = await startTestGateway(mock, { config: { plugins: [{ name: PROBE_PLUGIN }] } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})
afterEach(() => mock.reset())

const denied = { headers: { [PROBE_DENY]: '1' } }
type OpenAIError = InstanceType<typeof OpenAI.APIError>

/** What every hook of a call forwarded to `openai` sees besides its own fields. */
const forwardedAs = (method: string, path: string) => ({ surface: 'openai', forwarded: { method, path }, provider: 'openai', model: null, bodyModel: null, bodyMetadata: null })

const hooksOf = (events: ProbeEvent[]) => events.map((event) => event.hook)

describe('forwarded calls run the plugin hooks', () => {
  it('GET and DELETE /responses/{id}: onRequest, then afterUpstream and onFinish with the status; the plugin headers reach the caller', async () => {
    const retrieved = await gateway.openai.responses.retrieve(STORED).withResponse()
    expect(retrieved.data.id).toBe(STORED)
    expect(retrieved.response.headers.get('x-probe')).toBe('admitted')
    const events = await probeEvents(gateway.url, retrieved.response.headers.get('x-request-id'))
    expect(events).toEqual([
      { hook: 'onRequest', requestId: expect.any(String), ...forwardedAs('GET', `/responses/${STORED}`) },
      // A stored response reports the usage of the call that made it, accounted then: none here.
      { hook: 'afterUpstream', requestId: expect.any(String), ...forwardedAs('GET', `/responses/${STORED}`), ok: true, status: 200, usage: null },
      { hook: 'onFinish', requestId: expect.any(String), ...forwardedAs('GET', `/responses/${STORED}`), status: 200, usage: null, error: null, aborted: false, attempts: 1 },
    ])

    const deleted = await gateway.openai.responses.delete(STORED).withResponse()
    const deleteEvents = await probeEvents(gateway.url, deleted.response.headers.get('x-request-id'))
    expect(deleteEvents.map(({ hook, forwarded, status }) => ({ hook, forwarded, status }))).toEqual([
      { hook: 'onRequest', forwarded: { method: 'DELETE', path: `/responses/${STORED}` }, status: undefined },
      { hook: 'afterUpstream', forwarded: { method: 'DELETE', path: `/responses/${STORED}` }, status: 200 },
      { hook: 'onFinish', forwarded: { method: 'DELETE', path: `/responses/${STORED}` }, status: 200 },
    ])
    expect(mock.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`GET /v1/responses/${STORED}`, `DELETE /v1/responses/${STORED}`])
  })

  it('an upstream error (an unknown id: 404) reaches afterUpstream and onFinish as a failure with its status', async () => {
    const error = (await gateway.openai.responses.retrieve('resp_unknown').catch((caught: unknown) => caught)) as OpenAIError
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    const events = await probeEvents(gateway.url, error.headers?.get('x-request-id'))
    expect(events.map(({ hook, ok, status }) => ({ hook, ok, status }))).toEqual([
      { hook: 'onRequest', ok: undefined, status: undefined },
      { hook: 'afterUpstream', ok: false, status: 404 },
      { hook: 'onFinish', ok: undefined, status: 404 },
    ])
    expect(events.at(-1)!.error).toEqual(expect.any(String))
  })

  it('the provider a call names (?provider=) is what the hooks see, from onRequest on', async () => {
    const { response } = await gateway.openai.responses.retrieve(STORED, {}, { query: { provider: 'openai' } }).withResponse()
    const [admitted] = await probeEvents(gateway.url, response.headers.get('x-request-id'))
    expect(admitted).toMatchObject({ hook: 'onRequest', provider: 'openai', forwarded: { method: 'GET', path: `/responses/${STORED}` } })
  })
})

describe('a plugin refusing a forwarded call in onRequest', () => {
  const calls: Array<[string, (openai: OpenAI) => Promise<unknown>, { method: string; path: string }]> = [
    ['GET /responses/{id}', (openai) => openai.responses.retrieve(STORED, {}, denied), { method: 'GET', path: `/responses/${STORED}` }],
    ['DELETE /responses/{id}', (openai) => openai.responses.delete(STORED, denied), { method: 'DELETE', path: `/responses/${STORED}` }],
    ['POST /responses/{id}/cancel', (openai) => openai.responses.cancel(STORED, denied), { method: 'POST', path: `/responses/${STORED}/cancel` }],
    ['GET /responses/{id}/input_items', (openai) => openai.responses.inputItems.list(STORED, {}, denied), { method: 'GET', path: `/responses/${STORED}/input_items` }],
  ]

  for (const [name, call, forwarded] of calls) {
    it(`${name}: the caller gets the plugin's 403 in OpenAI shape, and nothing is sent upstream`, async () => {
      const error = (await call(gateway.openai).catch((caught: unknown) => caught)) as OpenAIError
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
      expect(error.error).toMatchObject({ message: 'probe: this caller may not use this route', type: 'permission_error' })
      expect(error.headers?.get('x-probe')).toBeNull()
      const events = await probeEvents(gateway.url, error.headers?.get('x-request-id'))
      expect(hooksOf(events)).toEqual(['onRequest', 'afterUpstream', 'onFinish'])
      expect(events[0]!.forwarded).toEqual(forwarded)
      expect(events[1]).toMatchObject({ ok: false, status: 403 })
      expect(events[2]).toMatchObject({ status: 403, error: 'permission', attempts: 0 })
      expect(mock.requests).toEqual([])
    })
  }
})

describe('model calls', () => {
  it('are not marked forwarded, and the hooks see the caller body (its metadata included)', async () => {
    const { response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], metadata: { tier: 'gold' } }).withResponse()
    const events = await probeEvents(gateway.url, response.headers.get('x-request-id'))
    expect(events[0]).toMatchObject({ hook: 'onRequest', forwarded: null, provider: null, bodyModel: 'gpt-4o-mini', bodyMetadata: { tier: 'gold' } })
    expect(events.at(-1)).toMatchObject({ hook: 'onFinish', forwarded: null, provider: 'openai', status: 200 })
  })
})
