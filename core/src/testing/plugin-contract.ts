import { describe, expect, it } from 'vitest'
import { parseConfig, type Config } from '../config.js'
import { GatewayError } from '../errors.js'
import { createGateway, type Gateway } from '../gateway.js'
import { silentLogger } from '../log.js'
import type { FinishSummary, PluginDefinition, PluginHooks, PluginSetupContext } from '../plugin.js'
import type { ProviderDefinition } from '../provider.js'
import { contractProvider } from './contract-provider.js'

/** How the contract talks to the gateway: one chat route of one dialect. */
export interface ContractDialect {
  /** Path of a chat call on the gateway (default `/contract/chat`). */
  path: string
  /** Request body asking `model` (`contract/echo` ...) to answer `text`. */
  body(model: string, text: string, stream: boolean): unknown
  /** True when a parsed response body is an error in this dialect. */
  isError(body: unknown): boolean
  /** The answer text of a parsed non-streamed response body. */
  textOf(body: unknown): string | undefined
}

/** The contract provider's own surface (`POST /contract/chat`), the default dialect. */
export const contractDialect: ContractDialect = {
  path: '/contract/chat',
  body: (model, text, stream) => ({ model, input: text, stream }),
  isError: (body) => typeof (body as { error?: { message?: unknown } })?.error?.message === 'string',
  textOf: (body) => (body as { text?: string })?.text,
}

/** What the contract hands your gateway factory. */
export interface ContractGatewayInput {
  /** A config naming the plugins with their options; add your own providers' sections to it. */
  config: Config
  /** The contract's deterministic provider (it serves `/contract/chat`); register it beside yours. */
  providers: ProviderDefinition[]
  /** Plugins in hook order: the plugin under test (instrumented) between the contract's probes. */
  plugins: PluginDefinition[]
}

export type ContractCheck = 'setup' | 'order' | 'plain' | 'stream' | 'errors' | 'abort' | 'throwing-hooks' | 'reject'

export interface PluginContractOptions {
  /** The plugin, or the factory its package default-exports (called with `options` for each gateway). */
  plugin: PluginDefinition | ((options: unknown) => PluginDefinition)
  /** The plugin's `config` entry, as `plugins[].config` in config.json would hold it. */
  options?: unknown
  /**
   * Builds a gateway from the input (default: `createGateway` in memory with a silent log).
   * Use it to add a surface (`providers: [openai, ...input.providers]` with `dialect`) or storage.
   */
  createGateway?(input: ContractGatewayInput): Gateway | Promise<Gateway>
  /** Dialect of the requests (default `contractDialect`). Models are always `contract/<name>`. */
  dialect?: ContractDialect
  /** Headers sent with every request (the credentials an auth plugin wants). */
  headers?: Record<string, string>
  /** Requests the plugin itself must refuse: sent with `headers`, answered with `status` in the dialect. */
  rejects?: Array<{ name: string; headers: Record<string, string>; status: number }>
  /** Checks to leave out, each with the reason. */
  skip?: Array<{ reason: string; tests: ContractCheck[] }>
}

type HookName = keyof PluginHooks
const LIFECYCLE: HookName[] = ['onRequest', 'beforeUpstream', 'onStreamEvent', 'afterUpstream', 'onFinish']

/** What the instrumented plugin saw, per request id. */
interface Recorder {
  setups: PluginSetupContext[]
  closes: number
  calls: Map<string, HookName[]>
  summaries: Map<string, FinishSummary[]>
  /** Hooks of the plugin under test that broke a rule (an async `onStreamEvent` ...). */
  violations: string[]
}

const newRecorder = (): Recorder => ({ setups: [], closes: 0, calls: new Map(), summaries: new Map(), violations: [] })

const record = (recorder: Recorder, id: string, hook: HookName) => {
  let calls = recorder.calls.get(id)
  if (!calls) recorder.calls.set(id, (calls = []))
  calls.push(hook)
}

/** Wraps the plugin under test so every hook call is recorded, then forwarded unchanged. */
function instrument(plugin: PluginDefinition, recorder: Recorder): PluginDefinition {
  const hooks: PluginHooks = {}
  const original = plugin.hooks as Record<HookName, ((...args: unknown[]) => unknown) | undefined>
  for (const name of LIFECYCLE) {
    const hook = original[name]
    if (typeof hook !== 'function') continue
    ;(hooks as Record<string, unknown>)[name] = (ctx: { id: string }, ...rest: unknown[]) => {
      record(recorder, ctx.id, name)
      if (name === 'onFinish') {
        const summaries = recorder.summaries.get(ctx.id) ?? []
        summaries.push(rest[0] as FinishSummary)
        recorder.summaries.set(ctx.id, summaries)
      }
      const result = hook.call(plugin.hooks, ctx, ...rest)
      if (name === 'onStreamEvent' && result !== undefined) {
        const violation = `onStreamEvent returned ${typeof (result as Promise<unknown>)?.then === 'function' ? 'a promise' : 'a value'}; it must be synchronous and return nothing`
        if (!recorder.violations.includes(violation)) recorder.violations.push(violation)
      }
      return result
    }
  }
  return {
    ...plugin,
    hooks,
    setup: plugin.setup
      ? (context) => {
          recorder.setups.push(context)
          return plugin.setup!.call(plugin, context)
        }
      : undefined,
    close: plugin.close
      ? () => {
          recorder.closes++
          return plugin.close!.call(plugin)
        }
      : undefined,
  }
}

/** Rejects in `onRequest` with the status in `x-contract-reject` (or `-after`, for the probe behind the plugin). */
const rejecter = (header: string): PluginDefinition => ({
  name: `contract-probe:${header}`,
  hooks: {
    onRequest(ctx) {
      const status = Number(ctx.headers.get(header))
      if (status) throw new GatewayError({ status, code: status === 429 ? 'rate_limit' : 'permission', message: `[contract] rejected with ${status}`, retryable: false })
    },
  },
})

/** Throws from every hook that runs once the answer is decided: sync throws and rejections. */
const thrower = (name: string): PluginDefinition => ({
  name: `contract-probe:${name}`,
  hooks: {
    afterUpstream() {
      throw new Error(`[contract] ${name} afterUpstream throws`)
    },
    onFinish: async () => {
      throw new Error(`[contract] ${name} onFinish rejects`)
    },
  },
})

/** Records every request's onFinish, whatever the plugin under test implements. */
const observer = (seen: Map<string, number>): PluginDefinition => ({
  name: 'contract-probe:observer',
  hooks: {
    onFinish(ctx) {
      seen.set(ctx.id, (seen.get(ctx.id) ?? 0) + 1)
    },
  },
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The plugin contract (STYLE.md "Tests"): setup and close run once; hooks run in lifecycle
 * order; `onFinish` fires exactly once per request (plain, streamed, failed, refused in
 * `onRequest`, and aborted by the client mid-stream); streams reach the client byte for byte
 * as without the plugin; hooks that throw in `afterUpstream` or `onFinish` never break a
 * response; a `GatewayError` thrown in `onRequest` reaches the caller in its dialect with its
 * status; `onStreamEvent` is synchronous.
 *
 * Call it at the top level of a vitest file. It builds a fresh in-memory gateway per check
 * around the contract's own deterministic provider.
 */
export function runPluginContract(options: PluginContractOptions): void {
  const dialect = options.dialect ?? contractDialect
  const skipped = new Set(options.skip?.flatMap((entry) => entry.tests) ?? [])
  const make = () => (typeof options.plugin === 'function' ? options.plugin(options.options) : options.plugin)
  const name = make().name
  const build = options.createGateway ?? ((input: ContractGatewayInput) => createGateway({ ...input, logger: silentLogger }))
  let inputs = 0

  /** A gateway with the plugin under test between the probes; `throwers` adds throwing hooks on both sides. */
  async function start(setup: { plugin?: boolean; throwers?: boolean } = {}) {
    const recorder = newRecorder()
    const finished = new Map<string, number>()
    const plugin = setup.plugin === false ? undefined : instrument(make(), recorder)
    const plugins = [
      rejecter('x-contract-reject'),
      ...(setup.throwers ? [thrower('before')] : []),
      ...(plugin ? [plugin] : []),
      ...(setup.throwers ? [thrower('after')] : []),
      rejecter('x-contract-reject-after'),
      observer(finished),
    ]
    const config = parseConfig({ plugins: plugin ? [{ name: plugin.name, config: options.options }] : [] })
    const gateway = await build({ config, providers: [contractProvider], plugins })
    await gateway.ready

    async function send(model: string, text: string, stream: boolean, headers: Record<string, string> = {}, signal?: AbortSignal) {
      const response = await gateway.fetch(
        new Request(`http://contract.test${dialect.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers, ...headers },
          body: JSON.stringify(dialect.body(`contract/${model}`, text, stream)),
          signal,
        }),
      )
      const id = response.headers.get('x-request-id')
      expect(id, 'every response carries x-request-id').toBeTruthy()
      return { response, id: id! }
    }

    /** Waits for the observer's onFinish of `id`, then a little longer to catch a second one. */
    async function finishedOnce(id: string) {
      const deadline = Date.now() + 3_000
      while (!finished.has(id) && Date.now() < deadline) await sleep(5)
      await sleep(30)
      expect(finished.get(id) ?? 0, 'onFinish calls for the request').toBe(1)
      const calls = recorder.calls.get(id) ?? []
      if (plugin?.hooks.onFinish) expect(calls.filter((hook) => hook === 'onFinish').length, "the plugin's onFinish calls").toBe(1)
      if (plugin?.hooks.afterUpstream) expect(calls.filter((hook) => hook === 'afterUpstream').length, "the plugin's afterUpstream calls").toBe(1)
      expect(recorder.violations).toEqual([])
      return { calls, summary: recorder.summaries.get(id)?.[0] }
    }

    return { gateway, recorder, plugin, send, finishedOnce, close: () => gateway.close() }
  }

  /** A text no earlier request used, so a caching plugin never answers from its cache. */
  const fresh = (label: string) => `contract ${label} request number ${++inputs} with some words`

  describe(`plugin contract: ${name}`, () => {
    it('has a name and hooks that are functions', () => {
      const plugin = make()
      expect(plugin.name).toBeTypeOf('string')
      expect(plugin.name.length).toBeGreaterThan(0)
      expect(plugin.hooks).toBeTypeOf('object')
      for (const [hook, value] of Object.entries(plugin.hooks)) {
        expect(LIFECYCLE, `unknown hook ${hook}`).toContain(hook)
        expect(value, hook).toBeTypeOf('function')
      }
    })

    it.skipIf(skipped.has('setup'))('runs setup once before serving, with its options, and close once on shutdown', async () => {
      const { recorder, plugin, send, close } = await start()
      if (plugin!.setup) {
        expect(recorder.setups).toHaveLength(1)
        expect(recorder.setups[0]!.options).toEqual(options.options)
      }
      ;(await send('echo', fresh('setup'), false)).response.body?.cancel()
      await sleep(20)
      expect(recorder.setups).toHaveLength(plugin!.setup ? 1 : 0)
      await close()
      expect(recorder.closes).toBe(plugin!.close ? 1 : 0)
    })

    it.skipIf(skipped.has('plain'))('plain request: the answer is intact and onFinish fires once, after the other hooks', async () => {
      const { send, finishedOnce, close } = await start()
      const text = fresh('plain')
      const { response, id } = await send('echo', text, false)
      expect(response.status).toBe(200)
      expect(dialect.textOf(await response.json())).toBe(text)
      const { calls, summary } = await finishedOnce(id)
      if (!skipped.has('order')) expect(calls).toEqual([...calls].sort((a, b) => LIFECYCLE.indexOf(a) - LIFECYCLE.indexOf(b)))
      if (summary) expect(summary).toMatchObject({ status: 200, aborted: false, error: undefined })
      await close()
    })

    it.skipIf(skipped.has('stream'))('stream: the same bytes as without the plugin, onStreamEvent synchronous, onFinish once', async () => {
      const text = fresh('stream')
      const baseline = await start({ plugin: false })
      const expected = await (await baseline.send('echo', text, true)).response.text()
      await baseline.close()
      const { send, finishedOnce, close } = await start()
      const { response, id } = await send('echo', text, true)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe(expected)
      const { calls, summary } = await finishedOnce(id)
      if (!skipped.has('order')) expect(calls).toEqual([...calls].sort((a, b) => LIFECYCLE.indexOf(a) - LIFECYCLE.indexOf(b)))
      if (summary) {
        expect(summary).toMatchObject({ status: 200, aborted: false })
        expect(summary.firstByteMs).toBeTypeOf('number')
      }
      await close()
    })

    describe.skipIf(skipped.has('errors'))('failed requests: onFinish once, the error in the dialect', () => {
      for (const status of [400, 429, 503]) {
        it(`upstream error ${status}`, async () => {
          const { send, finishedOnce, close } = await start()
          for (const stream of [false, true]) {
            const { response, id } = await send(`error-${status}`, fresh('error'), stream)
            expect(response.status).toBe(status)
            expect(dialect.isError(await response.json())).toBe(true)
            const { summary } = await finishedOnce(id)
            if (summary) expect(summary.status).toBe(status)
          }
          await close()
        })
      }

      it('stream that breaks off with an error event', async () => {
        const { send, finishedOnce, close } = await start()
        const { response, id } = await send('broken', fresh('broken stream'), true)
        await response.arrayBuffer()
        await finishedOnce(id)
        await close()
      })
    })

    it.skipIf(skipped.has('abort'))('client abort mid-stream: onFinish fires once with aborted: true', async () => {
      const { send, finishedOnce, close } = await start()
      const controller = new AbortController()
      const { response, id } = await send('slow', fresh('abort'), true, {}, controller.signal)
      expect(response.status).toBe(200)
      const reader = response.body!.getReader()
      await reader.read()
      await reader.read()
      await reader.cancel()
      controller.abort()
      const { summary } = await finishedOnce(id)
      if (summary) expect(summary.aborted).toBe(true)
      await close()
    })

    it.skipIf(skipped.has('throwing-hooks'))('hooks that throw in afterUpstream and onFinish around the plugin never break a response', async () => {
      const text = fresh('throwing hooks stream')
      const baseline = await start({ plugin: false })
      const expected = await (await baseline.send('echo', text, true)).response.text()
      await baseline.close()
      const { send, finishedOnce, close } = await start({ throwers: true })
      const plain = await send('echo', fresh('throwing hooks'), false)
      expect(plain.response.status).toBe(200)
      expect(dialect.isError(await plain.response.json())).toBe(false)
      await finishedOnce(plain.id)
      const streamed = await send('echo', text, true)
      expect(await streamed.response.text()).toBe(expected)
      await finishedOnce(streamed.id)
      await close()
    })

    describe.skipIf(skipped.has('reject'))('a GatewayError thrown in onRequest reaches the caller in its dialect with its status', () => {
      for (const [header, where] of [['x-contract-reject', 'before'], ['x-contract-reject-after', 'after']] as const) {
        for (const status of [401, 403, 429]) {
          it(`${status} from a plugin ${where} this one`, async () => {
            const { send, finishedOnce, close } = await start()
            const { response, id } = await send('echo', fresh('reject'), false, { [header]: String(status) })
            expect(response.status).toBe(status)
            const body = await response.json()
            expect(dialect.isError(body)).toBe(true)
            const { summary } = await finishedOnce(id)
            if (summary) expect(summary).toMatchObject({ status })
            await close()
          })
        }
      }

      for (const reject of options.rejects ?? []) {
        it(`refused by the plugin: ${reject.name} -> ${reject.status}`, async () => {
          const { send, finishedOnce, close } = await start()
          const { response, id } = await send('echo', fresh('refused'), false, reject.headers)
          expect(response.status).toBe(reject.status)
          expect(dialect.isError(await response.json())).toBe(true)
          await finishedOnce(id)
          await close()
        })
      }
    })
  })
}
