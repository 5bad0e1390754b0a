import { describe, expect, it } from 'vitest'
import { createStorage } from 'unstorage'
import { createMemoryAtomicStore, type SharedState } from '../atomic.js'
import { parseConfig } from '../config.js'
import { silentLogger } from '../log.js'
import { buildGateway, openSharedState, sharedStatePackage } from './run.js'

/** Resolves `name` to `module`, anything else through the real import. */
const importing = (name: string, module: unknown) => (specifier: string) => (specifier === name ? Promise.resolve(module) : import(specifier))

describe('shared state from the config', () => {
  it('names the package of a storage type', () => {
    expect(sharedStatePackage({ type: 'redis', url: 'redis://x', prefix: 'p:' })).toBe('@switchyard/plugin-redis')
    expect(sharedStatePackage({ type: 'redis', url: 'redis://x', prefix: 'p:', package: '@acme/state' })).toBe('@acme/state')
  })

  it('calls the package\'s createSharedState with the url and prefix, and the gateway uses what it returns', async () => {
    const calls: unknown[] = []
    const shared: SharedState = { storage: createStorage(), atomic: createMemoryAtomicStore() }
    await shared.storage.setItem('marker', 'from the shared store')
    const module = { createSharedState: (options: { url: string; prefix: string }) => (calls.push({ url: options.url, prefix: options.prefix }), shared) }
    const config = parseConfig({ storage: { type: 'acme', url: 'env.ACME_URL', prefix: 'sy:' } }, { ACME_URL: 'acme://db' })
    const gateway = await buildGateway({ config, storage: createStorage(), logger: silentLogger, importModule: importing('@switchyard/plugin-acme', module) })
    expect(calls).toEqual([{ url: 'acme://db', prefix: 'sy:' }])
    expect((await gateway.fetch(new Request('http://gateway.test/ready'))).status).toBe(200)
    await gateway.close()
  })

  it('a missing or wrong package stops the start with its name', async () => {
    await expect(openSharedState({ type: 'nosuch', url: 'x://y', prefix: 'p:' }, { logger: silentLogger })).rejects.toThrow(/storage.type "nosuch": cannot load package "@switchyard\/plugin-nosuch" \(install it/)
    await expect(openSharedState({ type: 'acme', url: 'x://y', prefix: 'p:' }, { logger: silentLogger, importModule: importing('@switchyard/plugin-acme', {}) })).rejects.toThrow('has no createSharedState export')
  })

  it('an unset env.VAR in storage.url is a config error', () => {
    expect(() => parseConfig({ storage: { type: 'redis', url: 'env.NOPE' } }, {})).toThrow('storage.url: environment variable NOPE is not set')
  })
})

describe('the governance block', () => {
  it('loads the governance plugin by package name, ahead of the listed plugins', async () => {
    const order: string[] = []
    const fake = { name: 'ignored', hooks: { onRequest: () => void order.push('governance') } }
    const config = parseConfig({ governance: {} })
    const gateway = await buildGateway({ config, storage: createStorage(), logger: silentLogger, importModule: importing('@switchyard/plugin-governance', { default: () => fake }) })
    await gateway.fetch(new Request('http://gateway.test/openai/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }) }))
    expect(order).toEqual(['governance'])
    await gateway.close()
  })

  it('is not loaded twice when the config lists the plugin itself (even disabled)', async () => {
    let loaded = 0
    const config = parseConfig({ governance: {}, plugins: [{ name: '@switchyard/plugin-governance', enabled: false }] })
    const gateway = await buildGateway({ config, storage: createStorage(), logger: silentLogger, importModule: (specifier) => (specifier === '@switchyard/plugin-governance' ? (loaded++, Promise.resolve({})) : import(specifier)) })
    expect(loaded).toBe(0)
    await gateway.close()
  })
})
