import type { BeforeUpstreamResult, FinishSummary, PluginDefinition, RequestContext, UpstreamCall, UpstreamOutcome } from './plugin.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Logger } from './log.js'
import { toHookContext } from './response-headers.js'

/** Runs plugin hooks in configured order; `has` lets the hot path skip absent hooks entirely. */
export interface HookRunner {
  readonly has: Readonly<Record<'onRequest' | 'beforeUpstream' | 'onStreamEvent' | 'afterUpstream' | 'onFinish', boolean>>
  onRequest(ctx: RequestContext): Promise<void>
  beforeUpstream(ctx: RequestContext, call: UpstreamCall): Promise<BeforeUpstreamResult>
  onStreamEvent(ctx: RequestContext, event: StreamEvent): void
  afterUpstream(ctx: RequestContext, outcome: UpstreamOutcome): Promise<void>
  onFinish(ctx: RequestContext, summary: FinishSummary): Promise<void>
}

export function createHookRunner(plugins: readonly PluginDefinition[], log: Logger): HookRunner {
  const pick = <K extends keyof PluginDefinition['hooks']>(name: K) =>
    plugins.filter((plugin) => typeof plugin.hooks[name] === 'function')
  const onRequest = pick('onRequest')
  const beforeUpstream = pick('beforeUpstream')
  const onStreamEvent = pick('onStreamEvent')
  const afterUpstream = pick('afterUpstream')
  const onFinish = pick('onFinish')

  /** Hooks after the answer is decided must not fail the request: their errors are logged. */
  const guard = async (plugin: PluginDefinition, hook: string, run: () => unknown) => {
    try {
      await run()
    } catch (error) {
      log.error('plugin hook failed', { plugin: plugin.name, hook, error: String((error as Error)?.message ?? error) })
    }
  }

  return {
    has: {
      onRequest: onRequest.length > 0,
      beforeUpstream: beforeUpstream.length > 0,
      onStreamEvent: onStreamEvent.length > 0,
      afterUpstream: afterUpstream.length > 0,
      onFinish: onFinish.length > 0,
    },
    async onRequest(ctx) {
      const hookCtx = toHookContext(ctx)
      for (const plugin of onRequest) await plugin.hooks.onRequest!(hookCtx)
    },
    async beforeUpstream(ctx, call) {
      const hookCtx = toHookContext(ctx)
      for (const plugin of beforeUpstream) {
        const result = await plugin.hooks.beforeUpstream!(hookCtx, call)
        if (result) return result
      }
      return undefined
    },
    onStreamEvent(ctx, event) {
      const hookCtx = toHookContext(ctx)
      for (const plugin of onStreamEvent) {
        try {
          plugin.hooks.onStreamEvent!(hookCtx, event)
        } catch (error) {
          log.error('plugin hook failed', { plugin: plugin.name, hook: 'onStreamEvent', error: String((error as Error)?.message ?? error) })
        }
      }
    },
    async afterUpstream(ctx, outcome) {
      const hookCtx = toHookContext(ctx)
      for (const plugin of afterUpstream) await guard(plugin, 'afterUpstream', () => plugin.hooks.afterUpstream!(hookCtx, outcome))
    },
    async onFinish(ctx, summary) {
      const hookCtx = toHookContext(ctx)
      for (const plugin of onFinish) await guard(plugin, 'onFinish', () => plugin.hooks.onFinish!(hookCtx, summary))
    },
  }
}
