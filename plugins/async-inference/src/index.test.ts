import { createGateway, parseConfig, silentLogger, type Gateway } from '@switchyard/core'
import { contractProvider, runPluginContract } from '@switchyard/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import createAsyncInferencePlugin from './index.js'

/** The plugin contract, and the plugin on a surface it has no pending object for (the contract's own). */

runPluginContract({ plugin: createAsyncInferencePlugin, options: { concurrency: 2 } })

const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
})

async function start(options: unknown = {}) {
  const plugin = createAsyncInferencePlugin(options)
  const gateway = createGateway({ config: parseConfig({ plugins: [{ name: plugin.name, config: options }] }), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
  gateways.push(gateway)
  await gateway.ready
  return gateway
}

const post = (gateway: Gateway, path: string, body: unknown, headers: Record<string, string> = {}) =>
  gateway.fetch(new Request(`http://gateway.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer caller', ...headers }, body: JSON.stringify(body) }))

describe('on a surface without a pending object', () => {
  it('x-bf-async is a 400 in that surface dialect, and nothing is stored', async () => {
    const gateway = await start()
    const response = await post(gateway, '/contract/chat', { model: 'contract/echo', input: 'hi' }, { 'x-bf-async': 'true' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { status: 400, message: expect.stringContaining('/v1/async/') } })
  })

  it('the native endpoint runs the call as a job and shows its answer', async () => {
    const gateway = await start()
    const submitted = await post(gateway, '/v1/async/contract/chat', { model: 'contract/echo', input: 'hello there' })
    expect(submitted.status).toBe(202)
    const job = await submitted.json()
    expect(job).toMatchObject({ object: 'async.job', status: 'queued', surface: 'contract', operation: 'chat', path: '/contract/chat' })
    let view: any
    do {
      await new Promise((resolve) => setTimeout(resolve, 10))
      view = await (await gateway.fetch(new Request(`http://gateway.test/v1/async/${job.id}`, { headers: { authorization: 'Bearer caller' } }))).json()
    } while (view.status === 'queued' || view.status === 'in_progress')
    expect(view).toMatchObject({ status: 'completed', result: { status_code: 200, body: { text: 'hello there' } } })
  })

  it('the native endpoints answer 503 until setup ran', async () => {
    const plugin = createAsyncInferencePlugin()
    let release!: () => void
    const blocker = { name: 'slow', setup: () => new Promise<void>((resolve) => (release = resolve)), hooks: {} }
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [blocker, plugin], logger: silentLogger })
    gateways.push(gateway)
    const early = await gateway.fetch(new Request('http://gateway.test/v1/async/job_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))
    expect(early.status).toBe(503)
    release()
    await gateway.ready
    expect((await gateway.fetch(new Request('http://gateway.test/v1/async/job_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).status).toBe(404)
  })
})
