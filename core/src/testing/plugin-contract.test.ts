import { describe, expect, it } from 'vitest'
import { definePlugin, type FinishSummary } from '../plugin.js'
import { runPluginContract } from './plugin-contract.js'

/** A trivial plugin touching every hook: counts requests, events and finishes. */
function createCountingPlugin(options: unknown) {
  const counts = { requests: 0, events: 0, finished: 0, setups: 0, closes: 0 }
  const tag = (options as { tag?: string } | undefined)?.tag ?? 'counted'
  return definePlugin({
    name: 'counting',
    setup() {
      counts.setups++
    },
    hooks: {
      onRequest(ctx) {
        counts.requests++
        ctx.state.set('counting', counts.requests)
        ctx.responseHeaders.set('x-counting', tag)
      },
      beforeUpstream() {
        return undefined
      },
      onStreamEvent() {
        counts.events++
      },
      afterUpstream() {},
      onFinish(ctx, summary: FinishSummary) {
        counts.finished++
        ctx.waitUntil(Promise.resolve(summary.status))
      },
    },
    close() {
      counts.closes++
    },
  })
}

runPluginContract({ plugin: createCountingPlugin, options: { tag: 'contract' } })

// The plain-object form, with only the hook that matters most.
runPluginContract({ plugin: definePlugin({ name: 'finish-only', hooks: { onFinish() {} } }) })

describe('runPluginContract', () => {
  it('exports the contract from @switchyard/core/testing', async () => {
    const testing = await import('./index.js')
    expect(testing.runPluginContract).toBe(runPluginContract)
    expect(testing.runProviderContract).toBeTypeOf('function')
  })
})
