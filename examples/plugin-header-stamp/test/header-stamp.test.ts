import { createGateway, parseConfig, silentLogger } from '@switchyard/core'
import { contractProvider, runPluginContract } from '@switchyard/core/testing'
import { describe, expect, it } from 'vitest'
import createHeaderStamp, { resolveOptions } from '../src/index.js'

// The same suite every Switchyard plugin runs: onFinish once, streams intact, errors in dialect ...
runPluginContract({ plugin: createHeaderStamp, options: { header: 'x-acme-stamp', value: 'contract' } })

const chat = (input: string, stream = false) =>
  new Request('http://gateway.test/contract/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'contract/echo', input, stream }) })

describe('header-stamp', () => {
  it('stamps the configured header, numbers requests and counts how they ended', async () => {
    const plugin = createHeaderStamp({ header: 'X-Served-By', value: 'edge-1' })
    const gateway = createGateway({ config: parseConfig({ plugins: [{ name: plugin.name }] }), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    await gateway.ready
    const first = await gateway.fetch(chat('one'))
    expect(first.headers.get('x-served-by')).toBe('edge-1')
    expect(first.headers.get('x-served-by-count')).toBe('1')
    await first.text()
    const second = await gateway.fetch(chat('two', true))
    expect(second.headers.get('x-served-by-count')).toBe('2')
    await second.text()
    const failed = await gateway.fetch(new Request('http://gateway.test/contract/chat', { method: 'POST', body: JSON.stringify({ model: 'contract/error-503', input: 'x' }) }))
    expect(failed.status).toBe(503)
    expect(failed.headers.get('x-served-by')).toBe('edge-1')
    await gateway.close()
    expect(plugin.stats()).toEqual({ stamped: 3, finished: 3, failed: 1, aborted: 0 })
  })

  it('can leave the count out', async () => {
    const plugin = createHeaderStamp({ count: false })
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [plugin], logger: silentLogger })
    const response = await gateway.fetch(chat('one'))
    expect(response.headers.get('x-stamped-by')).toBe('switchyard')
    expect(response.headers.get('x-stamped-by-count')).toBeNull()
    await gateway.close()
  })

  it('refuses bad options at start, naming the field', () => {
    expect(() => resolveOptions({ header: 'not a header' })).toThrow(/config\.header/)
    expect(() => resolveOptions({ value: 'a\r\nb' })).toThrow(/config\.value/)
    expect(() => resolveOptions({ count: 'yes' })).toThrow(/config\.count/)
    expect(resolveOptions(undefined)).toEqual({ header: 'x-stamped-by', value: 'switchyard', count: true })
  })
})
