import { createGateway, definePlugin, parseConfig, silentLogger, type Gateway, type Logger, type RequestContext } from '@switchyard/core'
import { contractProvider, runPluginContract } from '@switchyard/core/testing'
import mock from '@switchyard/provider-mock'
import { afterEach, describe, expect, it } from 'vitest'
import createRoutingRules, { PLUGIN_NAME, TEAM_STATE, VIRTUAL_KEY_STATE, type RoutingDecision, type RoutingRule } from './index.js'

// The suite every plugin runs. The first rule reroutes every contract request to the contract
// provider itself (model kept), so each check runs through a route override.
runPluginContract({
  plugin: createRoutingRules,
  options: {
    rules: [
      { name: 'never', when: '"x-never" in headers', targets: [{ provider: 'mock', model: 'echo' }] },
      { name: 'contract-through-override', when: 'model.startsWith("contract/")', targets: [{ provider: 'contract' }] },
    ],
  },
})

const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
})

/** What an earlier plugin (governance) leaves for the rules: virtual key and team from headers. */
const fakeGovernance = definePlugin({
  name: 'fake-governance',
  hooks: {
    onRequest(ctx) {
      const key = ctx.headers.get('x-test-vk')
      if (key) ctx.state.set(VIRTUAL_KEY_STATE, key)
      const team = ctx.headers.get('x-test-team')
      if (team) ctx.state.set(TEAM_STATE, { id: team })
    },
  },
})

/** A gateway with the contract provider (surface `/contract/chat`) and the in-process mock. */
async function start(rules: RoutingRule[], logger: Logger = silentLogger) {
  const plugin = createRoutingRules({ rules })
  const seen: Array<{ route: RequestContext['route']; decision: unknown }> = []
  const observer = definePlugin({ name: 'observer', hooks: { beforeUpstream: (ctx) => void seen.push({ route: ctx.route, decision: ctx.state.get(PLUGIN_NAME) }) } })
  const gateway = createGateway({
    config: parseConfig({ plugins: [{ name: plugin.name, config: { rules } }] }),
    providers: [contractProvider, mock],
    plugins: [fakeGovernance, plugin, observer],
    logger,
  })
  gateways.push(gateway)
  await gateway.ready
  const send = async (model: string, headers: Record<string, string> = {}, stream = false) => {
    const response = await gateway.fetch(
      new Request('http://gateway.test/contract/chat', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, input: 'route me', stream }) }),
    )
    return { response, status: response.status, provider: response.headers.get('x-bf-provider'), model: response.headers.get('x-bf-model'), body: await response.text() }
  }
  return { gateway, send, seen }
}

describe('routing through the gateway', () => {
  const rules: RoutingRule[] = [
    { name: 'header-to-mock', when: 'headers["x-route"] == "mock"', targets: [{ provider: 'mock', model: 'echo' }], fallbacks: ['contract/echo'] },
    { name: 'team-search', scope: 'team', scope_id: 'search', when: 'true', targets: [{ provider: 'mock' }] },
    { name: 'vk-special', scope: 'virtual_key', scope_id: 'vk-1', when: 'surface == "contract"', targets: [{ provider: 'mock', model: 'vk-model' }] },
  ]

  it('a header rule sends the request to its target; x-bf-provider and x-bf-model show it', async () => {
    const { send, seen } = await start(rules)
    const plain = await send('contract/echo')
    expect([plain.status, plain.provider, plain.model]).toEqual([200, 'contract', 'echo'])
    const rerouted = await send('contract/echo', { 'x-route': 'mock' })
    expect([rerouted.status, rerouted.provider, rerouted.model]).toEqual([200, 'mock', 'echo'])
    expect(JSON.parse(rerouted.body)).toMatchObject({ text: 'route me' })
    const streamed = await send('contract/echo', { 'x-route': 'mock' }, true)
    expect([streamed.status, streamed.provider]).toEqual([200, 'mock'])
    expect(seen[0]).toEqual({ route: undefined, decision: undefined })
    const decision: RoutingDecision = { rule: 'header-to-mock', route: { targets: [{ provider: 'mock', model: 'echo', weight: 1 }], fallbacks: ['contract/echo'] } }
    expect(seen[1]).toEqual({ route: decision.route, decision })
  })

  it('team and virtual key rules apply to their own team and key, before global rules', async () => {
    const { send } = await start(rules)
    const team = await send('contract/echo', { 'x-test-team': 'search', 'x-route': 'mock' })
    // The team rule keeps the model the caller asked for.
    expect([team.provider, team.model]).toEqual(['mock', 'echo'])
    const otherTeam = await send('contract/echo', { 'x-test-team': 'ads' })
    expect(otherTeam.provider).toBe('contract')
    const key = await send('contract/echo', { 'x-test-vk': 'vk-1', 'x-test-team': 'search' })
    expect([key.provider, key.model]).toEqual(['mock', 'vk-model'])
  })

  it('a rule that fails at run time does not match and is logged once, never failing the request', async () => {
    const warnings: Array<Record<string, unknown> | undefined> = []
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => void warnings.push(fields) }
    const { send } = await start([{ name: 'needs-header', when: 'headers["x-team"] == "search"', targets: [{ provider: 'mock' }] }], logger)
    for (let i = 0; i < 3; i++) {
      const answer = await send('contract/echo')
      expect([answer.status, answer.provider]).toEqual([200, 'contract'])
    }
    expect((await send('contract/echo', { 'x-team': 'search' })).provider).toBe('mock')
    expect(warnings).toEqual([{ rule: 'needs-header', error: expect.stringContaining('No such key') }])
  })

  it('a bad expression keeps the gateway from becoming ready', async () => {
    const plugin = createRoutingRules({ rules: [{ name: 'typo', when: 'headers["x-route"] = "mock"', targets: [{ provider: 'mock' }] }] })
    const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider, mock], plugins: [plugin], logger: silentLogger })
    gateways.push(gateway)
    await expect(gateway.ready).rejects.toThrow(/rule "typo": cannot parse "when"/)
    expect((await gateway.fetch(new Request('http://gateway.test/ready'))).status).toBe(503)
  })
})
