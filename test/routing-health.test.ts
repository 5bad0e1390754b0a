import { createStorage, defineDriver } from 'unstorage'
import { describe, expect, it } from 'vitest'
import { createGateway, parseConfig, silentLogger } from '@switchyard/core'
import { fault } from './support/fault-upstream.js'
import { hello, openaiProvider, useRouting } from './support/routing.js'

/**
 * Health and readiness: `GET /health` says the process serves HTTP; `GET /ready` says the config
 * is loaded, plugins are set up and the storage answers. Neither depends on the upstreams.
 */

const r = useRouting(['health'])

describe('probes', () => {
  it('GET /health and GET /ready answer 200 with JSON', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.health) } })
    const health = await gateway.get('/health')
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const ready = await gateway.get('/ready')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready' })
  })

  it('a failing upstream does not make the gateway unready (readiness is about the gateway, not the providers)', async () => {
    r.up.health.always({}, fault.status(503))
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.health) } })
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).catch(() => undefined)
    expect((await gateway.get('/ready')).status).toBe(200)
    expect((await gateway.get('/health')).status).toBe(200)
  })

  it('the probes work with a concurrency-limited, fully busy provider', async () => {
    r.up.health.always({}, fault.hangBeforeHeaders())
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.health, { network: { default_request_timeout_in_seconds: 0.5 }, extra: { concurrency_and_buffer_size: { concurrency: 1, buffer_size: 0 } } }) } })
    const busy = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }).catch(() => undefined)
    await r.up.health.waitForRequests(1)
    expect((await gateway.get('/ready')).status).toBe(200)
    await busy
  })
})

describe('readiness checks the storage and shutdown', () => {
  /** A storage whose every read fails, as a Redis that went away does. */
  const unreachable = () =>
    createStorage({
      driver: defineDriver(() => ({
        name: 'unreachable',
        hasItem: () => Promise.reject(new Error('connection refused')),
        getItem: () => Promise.reject(new Error('connection refused')),
        getKeys: () => Promise.reject(new Error('connection refused')),
      }))({}),
    })

  it('storage that does not answer: /ready 503 with the reason, /health stays 200', async () => {
    const gateway = createGateway({ config: parseConfig({}), providers: [], storage: unreachable(), logger: silentLogger })
    await gateway.ready
    try {
      const ready = await gateway.fetch(new Request('http://gateway/ready'))
      expect(ready.status).toBe(503)
      expect(await ready.json()).toMatchObject({ status: expect.any(String), reason: expect.stringMatching(/storage/) })
      expect((await gateway.fetch(new Request('http://gateway/health'))).status).toBe(200)
    } finally {
      await gateway.close().catch(() => undefined)
    }
  })

  it('a gateway whose close() began is not ready', async () => {
    const gateway = createGateway({ config: parseConfig({}), providers: [], logger: silentLogger })
    await gateway.ready
    expect((await gateway.fetch(new Request('http://gateway/ready'))).status).toBe(200)
    const closing = gateway.close()
    expect((await gateway.fetch(new Request('http://gateway/ready'))).status).toBe(503)
    await closing
  })
})
